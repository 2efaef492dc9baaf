#include "core/result.h"

namespace cidrotor::core {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kUnauthorized:
      return "unauthorized";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kNoCallerIdAvailable:
      return "no_caller_id_available";
    case ErrorCode::kUnavailable:
      return "store_unavailable";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

std::uint16_t StatusCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kNoCallerIdAvailable:
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code_));
  if (!field_.empty()) out += " (" + field_ + ")";
  if (!detail_.empty()) out += ": " + detail_;
  return out;
}

}  // namespace cidrotor::core
