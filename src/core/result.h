// Expected failures as values: every fallible operation of cidrotor returns Result<T>.
//
// An Error carries a code (what kind of failure, mapped once per protocol to an HTTP status or an
// AGI reply), the input field at fault when one is (so clients learn which parameter to fix),
// a human-readable detail, and for kRateLimited the seconds after which a retry can succeed.
// Values only: no exceptions cross this boundary. Thread-compatible (plain values).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>

namespace cidrotor::core {

enum class ErrorCode : std::uint8_t {
  kInvalidArgument,      // bad input; 400
  kUnauthorized,         // missing or wrong credentials; 401
  kNotFound,             // no such number / reservation / route; 404
  kConflict,             // the request contradicts the current state; 409
  kRateLimited,          // agent over its per-minute allocations; 429 + Retry-After
  kNoCallerIdAvailable,  // nothing eligible in the pool; 503
  kUnavailable,          // the store cannot serve right now; 503
  kInternal,             // a bug or a broken invariant, never bad input; 500
};

// The wire name of a code, as SPEC's error table spells it ("invalid_argument", ...).
std::string_view ErrorCodeName(ErrorCode code);
// The HTTP status SPEC's error table gives a code (400, 401, 404, 409, 429, 503, 500): what HTTP
// answers, and what api_logs records for any protocol's request.
std::uint16_t StatusCodeFor(ErrorCode code);

class Error {
 public:
  static Error InvalidArgument(std::string field, std::string detail) {
    return Error(ErrorCode::kInvalidArgument, std::move(field), std::move(detail));
  }
  static Error Unauthorized(std::string detail) {
    return Error(ErrorCode::kUnauthorized, {}, std::move(detail));
  }
  static Error NotFound(std::string detail, std::string field = {}) {
    return Error(ErrorCode::kNotFound, std::move(field), std::move(detail));
  }
  static Error Conflict(std::string detail, std::string field = {}) {
    return Error(ErrorCode::kConflict, std::move(field), std::move(detail));
  }
  static Error RateLimited(std::string detail, std::uint32_t retry_after_seconds) {
    Error e(ErrorCode::kRateLimited, "agent", std::move(detail));
    e.retry_after_seconds_ = retry_after_seconds;
    return e;
  }
  static Error NoCallerIdAvailable(std::string detail) {
    return Error(ErrorCode::kNoCallerIdAvailable, {}, std::move(detail));
  }
  static Error Unavailable(std::string detail) {
    return Error(ErrorCode::kUnavailable, {}, std::move(detail));
  }
  static Error Internal(std::string detail) {
    return Error(ErrorCode::kInternal, {}, std::move(detail));
  }

  ErrorCode code() const { return code_; }
  // Empty when no single input is at fault.
  const std::string& field() const { return field_; }
  const std::string& detail() const { return detail_; }
  // Non-zero only for kRateLimited.
  std::uint32_t retry_after_seconds() const { return retry_after_seconds_; }

  // "invalid_argument (to): not a 10-digit NANP number" — for logs and test failure messages.
  std::string ToString() const;

 private:
  Error(ErrorCode code, std::string field, std::string detail)
      : code_(code), field_(std::move(field)), detail_(std::move(detail)) {}

  ErrorCode code_;
  std::string field_;
  std::string detail_;
  std::uint32_t retry_after_seconds_ = 0;
};

template <class T>
using Result = tl::expected<T, Error>;

// `return Fail(Error::NotFound("..."));` reads better than tl::make_unexpected at call sites, and
// keeps a later move to std::expected a one-file change.
inline tl::unexpected<Error> Fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

}  // namespace cidrotor::core
