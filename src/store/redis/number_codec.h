// How numbers and reservations travel to and from the scripts: upsert.lua's 14 fields per number,
// lib.lua's view() reply, upsert.lua's usage reply, reservation replies. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/allocation.h"
#include "core/calendar.h"
#include "core/number.h"
#include "core/number_index.h"
#include "store/redis/redis_reply.h"

namespace cidrotor::store::redis {

// Appends a number's spec fields, the first six of upsert.lua's and insert.lua's: number,
// carrier, state, hourly cap, daily cap, active '1'/'0'.
void AppendSpecArgs(std::vector<std::string>& args, const core::NumberSpec& spec);

// Appends one number's upsert.lua fields. Usage: `usage` set = all counters, its warm_from and
// its rest_until; else `last_used_only` set = only last_used; else the number's usage is kept
// (zero when new). Without `usage` the warm-up start is the script's to decide: a new number
// warms up from today unless it has a last_used, an existing one keeps its own; and so is the
// rest: kept (none when new). `rest_until` set = the rest end to write instead (0 ends a rest:
// a PATCH of it); `warm_from` set = the warm-up start to write instead (an import's column).
void AppendNumberArgs(std::vector<std::string>& args, const core::NumberSpec& spec,
                      const std::optional<core::NumberUsage>& usage,
                      std::optional<core::CompactTime> last_used_only = std::nullopt,
                      std::optional<core::CompactTime> rest_until = std::nullopt,
                      std::optional<core::CompactTime> warm_from = std::nullopt);

// upsert.lua's last_used field of `usage`: compact seconds, and '.mmm' when its millisecond is
// not 0 (lib.lua split_last_used), so a number that moves between pools keeps its place.
std::string LastUsedArg(const core::NumberUsage& usage);

// upsert.lua's reply per number: status, last_used, hour_start, hourly_used, day_start,
// daily_used, warm_from, rest_until, last_used_ms.
inline constexpr std::size_t kUpsertReplyFields = 9;

// The version of the change a reply of upsert.lua, insert.lua or delete.lua made (its last
// element; lib.lua change_version): the journal entry's (store/journal.h ChangeVersion).
inline std::uint64_t ChangeVersionOf(const RedisReply& reply) {
  return reply.elements.empty() ? 0
                                : static_cast<std::uint64_t>(reply.Int(reply.elements.size() - 1));
}

// The usage upsert.lua reports for its `index`-th number (warm_from, rest_until and
// last_used_ms included).
core::NumberUsage UsageFromUpsert(const RedisReply& reply, std::size_t index);

// A view() reply (number, carrier, state, hourly cap, daily cap, active, last_used, hour_start,
// hourly_used, day_start, daily_used, reservation id, available, warm_from, rest_until) as the
// store reports it at `now` (`windows` = its windows): the warm-up's day and today's daily cap
// (daily_cap_today) from warm_from, defaults.warmup_days and the day start (core/warm_up.h, the
// rule lib.lua caps() applies), and whether it rests (rest_until after now, as lib.lua place).
core::NumberView ViewFromReply(const RedisReply& view, const std::string& pool, core::TimePoint now,
                               const core::Windows& windows, const core::IndexOptions& defaults);

// The wire value of core::MatchTier (its enumerator's number) as the tier; kAny if unknown.
core::MatchTier TierFromWire(long long value);

// A reservation from `reply` at `at` on: id, number, destination, campaign, agent, lead, match,
// reserved_at (Unix ms), reserved_until (compact), as release.lua and live.lua send them.
core::Reservation ReservationFromReply(const RedisReply& reply, std::size_t at,
                                       const std::string& pool);

// What undoes one import chunk the journal refused: numbers to remove, numbers to restore.
struct ImportUndo {
  std::string pool;
  std::vector<core::PhoneNumber> added;
  std::vector<core::NumberView> changed;
};

}  // namespace cidrotor::store::redis
