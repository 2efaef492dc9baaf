// How core values are spelled in the stored rows of both systems of record (SQLite and
// PostgreSQL share the column conventions), so every writer and reader agrees: times, tier and
// outcome names, caps and counters. Pure functions, thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "core/allocation.h"
#include "core/clock.h"
#include "core/phone_number.h"

namespace cidrotor::store {

// reservations and api_logs times: Unix milliseconds.
constexpr std::int64_t ToUnixMs(core::TimePoint t) { return t.time_since_epoch().count(); }
constexpr core::TimePoint FromUnixMs(std::int64_t ms) {
  return core::TimePoint(core::Milliseconds(ms));
}

// A stored integer squeezed into [0, max], so a hand-edited row can never wrap around.
template <class T>
constexpr T ClampTo(std::int64_t value) {
  constexpr auto kMax = static_cast<std::int64_t>(std::numeric_limits<T>::max());
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
