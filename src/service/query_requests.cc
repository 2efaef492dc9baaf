// ParseReservationQuery, ParseLogQuery and ParseLookupQuery (service/requests.h).
#include <chrono>
#include <limits>
#include <utility>

#include "service/field_parsers.h"
#include "service/requests.h"

namespace cidrotor::service {
namespace {

constexpr std::uint64_t kMaxPageLimit = 1000;
constexpr std::uint64_t kMaxLookupDays = 365;

core::Result<std::size_t> ParseLimit(const Params& params, std::size_t default_limit) {
  auto limit = ParseIfPresent(params, "limit", [](std::string_view t) {
    return ParseWholeNumber(t, "limit", 1, kMaxPageLimit);
  });
  if (!limit) return core::Fail(std::move(limit).error());
  return static_cast<std::size_t>(limit->value_or(default_limit));
}

}  // namespace

core::Result<store::ReservationQuery> ParseReservationQuery(const Params& params) {
  store::ReservationQuery query;
  auto live =
      ParseIfPresent(params, "live", [](std::string_view t) { return ParseBool(t, "live"); });
  if (!live) return core::Fail(std::move(live).error());
  query.live_only = live->value_or(true);

  auto limit = ParseLimit(params, query.limit);
  if (!limit) return core::Fail(std::move(limit).error());
  query.limit = *limit;

  auto before_id = ParseIfPresent(params, "before_id", [](std::string_view t) {
    return ParseWholeNumber(t, "before_id", 1, std::numeric_limits<std::int64_t>::max());
  });
  if (!before_id) return core::Fail(std::move(before_id).error());
  if (*before_id && query.live_only) {
    return core::Fail(core::Error::InvalidArgument(
        "before_id", "pages the history: use it with live=false (the live reservations are few)"));
  }
  query.before_id = *before_id;
  return query;
}

core::Result<store::LogQuery> ParseLogQuery(const Params& params) {
  store::LogQuery query;
  auto limit = ParseLimit(params, query.limit);
  if (!limit) return core::Fail(std::move(limit).error());
  query.limit = *limit;

  auto before_id = ParseIfPresent(params, "before_id", [](std::string_view t) {
    return ParseWholeNumber(t, "before_id", 1, std::numeric_limits<std::uint64_t>::max());
  });
  if (!before_id) return core::Fail(std::move(before_id).error());
  query.before_id = *before_id;
  return query;
}

core::Result<store::LookupQuery> ParseLookupQuery(const Params& params) {
  store::LookupQuery query;
  const auto caller_id = params.Get("caller_id");
  if (!caller_id) return core::Fail(core::Error::InvalidArgument("caller_id", "is required"));
  auto number = core::PhoneNumber::ParsePoolNumber(*caller_id, "caller_id");
  if (!number) return core::Fail(std::move(number).error());
  query.caller_id = *number;
  if (const auto from = params.Get("from")) {
    // As a caller ID reads, not as a dialled string: no dial prefix to drop, so an international
    // caller (+44 20 ..., +45 ...) is refused rather than read as NANP digits.
    auto party = core::PhoneNumber::ParseCallerId(*from, "from");
    if (!party) return core::Fail(std::move(party).error());
    query.from = *party;
  }
  auto days = ParseIfPresent(params, "days", [](std::string_view t) {
    return ParseWholeNumber(t, "days", 1, kMaxLookupDays);
  });
  if (!days) return core::Fail(std::move(days).error());
  if (*days) query.window = std::chrono::hours(24 * static_cast<std::int64_t>(**days));
  return query;
}

}  // namespace cidrotor::service
