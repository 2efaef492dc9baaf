// Key names (docs/redis-keys.md) and the common ARGV header every script reads (scripts/lib.lua):
// the one place where C++ and Lua agree on the layout. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/calendar.h"
#include "core/clock.h"
#include "store/redis/lua_scripts.h"

namespace cidrotor::store::redis {

// Keys outside any pool, each read or written by single-key commands only (never by a script),
// so a pool's scripts never cross a cluster slot.
// Epoch of the full load. The name carries the version of the key layout (2: the available
// order as heads, docs/redis-keys.md): a Redis written with another layout lacks this key, so
// the first instance rebuilds it from the journal, deleting the old layout's keys.
inline constexpr const char* kGenerationKey = "cid:generation:v2";
// When the load that published the generation began (Unix ms, the loader's clock): it read
// PostgreSQL as it was then (RedisStore::CheckRecoveredBacklog). Written just before the
// generation; a generation without it (published by an older binary) is not dated.
inline constexpr const char* kGenerationLoadedKey = "cid:generation:loaded_at";
inline constexpr const char* kRebuildLockKey = "cid:rebuild_lock";      // SET NX PX while loading
inline constexpr const char* kReservationIdKey = "cid:reservation_id";  // INCRBY id blocks
inline constexpr const char* kPoolsKey = "cid:pools";                   // set of pool names
inline constexpr const char* kPoolOfKey = "cid:pool_of";                // hash: number → pool
// Sorted set: numbers being moved between pools (out of the old pool's keys, not yet in the new
// one's), scored by when the mark lapses (ms): a release that ends nothing meanwhile looks again.
inline constexpr const char* kMovingKey = "cid:moving";
// Counter: moves between pools begun and ended so far (one each), so a release that looked while
// one ran knows it even when the move is over by then.
inline constexpr const char* kMovesKey = "cid:moves";
inline constexpr const char* kCampaignPoolsKey = "cid:campaign_pools";  // hash: campaign → pool
inline constexpr const char* kPoolSettingsKey = "cid:pool_settings";    // hash: pool → fallback
// + caller_id: the lock of one number's change (redis_store_leases.cc). The unlock is a script,
// on that one key.
inline constexpr std::string_view kEditKeyPrefix = "cid:edit:";

// "cid:{sales}:" for pool "sales": every key of a pool starts with it (one cluster slot).
std::string PoolPrefix(std::string_view pool);

// What the common header says; `now` and its windows are taken once per call.
struct ScriptContext {
  std::string epoch;  // the generation this instance knows
  core::TimePoint now;
  core::Windows windows;
  std::uint16_t default_hourly_cap = 100;
  std::uint16_t default_daily_cap = 500;
  std::uint16_t warmup_days = 0;  // WARMUP_DAYS (ARGV[11]): 0 = new numbers do not warm up
  core::Seconds probation{0};     // PROBATION_HOURS (ARGV[12], in seconds): 0 = no probation
  std::uint16_t probation_daily_cap = 30;  // PROBATION_DAILY_LIMIT (ARGV[13])
};

// Whether a script may create the pool's generation key (only after cid:generation was checked).
enum class CreatePool : std::uint8_t { kNo, kYes };

// The call of `script` on `pool` with the header (ARGV[1..13]: prefix, epoch, now, now in ms,
// hour start, next hour, day start, next day, default hourly cap, default daily cap, warm-up
// days, probation seconds, probation daily cap) followed by `args` (from ARGV[14]).
ScriptCall PoolCall(Script script, std::string_view pool, const ScriptContext& context,
                    std::vector<std::string> args);

// Whole seconds, rounded up (a reservation ends on a second boundary, as in core).
core::CompactTime CeilCompact(core::TimePoint t);

}  // namespace cidrotor::store::redis
