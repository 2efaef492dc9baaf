// How core values are spelled in the stored rows of both systems of record (SQLite and
// PostgreSQL share the column conventions), so every writer and reader agrees: times, tier and
// outcome names, caps and counters. Pure functions, thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "core/allocation.h"
#include "core/clock.h"
#include "core/number.h"
#include "core/phone_number.h"
#include "core/result.h"

namespace cidrotor::store {

// Calls `f` with each usage column's value, in the order the caller_ids and deleted_numbers
// statements list them: last_used, hour_start, hourly_used, day_start, daily_used, warm_from,
// rest_until (compact seconds and counts).
template <class F>
void ForEachUsageColumn(const core::NumberUsage& u, F&& f) {
  for (const std::int64_t value :
       {std::int64_t{u.last_used}, std::int64_t{u.hour_start}, std::int64_t{u.hourly_used},
        std::int64_t{u.day_start}, std::int64_t{u.daily_used}, std::int64_t{u.warm_from},
        std::int64_t{u.rest_until}}) {
    f(value);
  }
}

// The reservations columns that history reads select, in this order, and their indexes.
inline constexpr std::string_view kReservationColumns =
    "id, caller_id, reserved_at, reserved_until, agent, campaign, destination, pool, lead_id, "
    "match, released_at, outcome, duration";
enum ReservationColumn : int {
  kId,
  kCallerId,
  kReservedAt,
  kReservedUntil,
  kAgent,
  kCampaign,
  kDestination,
  kPool,
  kLeadId,
  kMatch,
  kReleasedAt,
  kOutcome,
  kDuration,
};

// The most rows one history query returns (GET /api/logs, /api/reservations: `limit`).
inline constexpr std::size_t kMaxHistoryRows = 1000;

// Checks a history query's `limit`. Errors: kInvalidArgument naming "limit".
core::Result<void> CheckHistoryLimit(std::size_t limit);

// The error of a ReservationQuery::before_id that names no stored reservation (kNotFound).
core::Error UnknownCursor(std::uint64_t before_id);

// reservations and api_logs times: Unix milliseconds.
constexpr std::int64_t ToUnixMs(core::TimePoint t) { return t.time_since_epoch().count(); }
constexpr core::TimePoint FromUnixMs(std::int64_t ms) {
  return core::TimePoint(core::Milliseconds(ms));
}

// A stored integer squeezed into [0, max], so a hand-edited row can never wrap around.
template <class T>
constexpr T ClampTo(std::int64_t value) {
  // A type as wide as int64's positive range or wider (uint64) clamps at int64's maximum.
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<T>::max()) >
                                static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                            ? std::numeric_limits<std::int64_t>::max()
                            : static_cast<std::int64_t>(std::numeric_limits<T>::max());
  return static_cast<T>(std::clamp<std::int64_t>(value, 0, kMax));
}

// The inverse of core::MatchTierName; an unknown name reads as kAny (the widest tier).
core::MatchTier ParseMatchTier(std::string_view name);

// A stored caller_id/destination, when it is a valid 10-digit NANP number; nullopt otherwise
// (rows written by hand or by another tool are checked, never trusted).
std::optional<core::PhoneNumber> PhoneFromStored(std::int64_t digits);
std::optional<core::PhoneNumber> PhoneFromStoredText(std::string_view digits);

// The text of a 3-digit area code ("310"), for the caller_ids.area_code column.
void AreaCodeText(core::PhoneNumber number, char (&out)[3]);

}  // namespace cidrotor::store
