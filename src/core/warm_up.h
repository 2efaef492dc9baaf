// Warm-up of new numbers (SPEC: "their daily cap ramps over their first days"). A number that
// enters the pool without a usage history starts warming on the local day it was added; for
// `warmup_days` days its daily cap is a share of its full cap, growing by the same step each day:
// on day k (1 = the day it was added) ceil(cap * k / (warmup_days + 1)), never below 1, then the
// full cap. With WARMUP_DAYS=4 and a cap of 500: 100, 200, 300, 400, then 500.
//
// The ramp changes only at local midnight, when every daily window rolls over anyway, so a number
// parked at its warm cap comes back at the next day like any capped number: nothing else to wake.
// A number imported with a last_used (an export being restored, a center moving its numbers in) is
// established: it does not warm. The cluster's Lua scripts apply the same rule
// (store/redis/scripts/lib.lua); both are checked against this one.
#pragma once

#include <cstdint>

#include "core/clock.h"
#include "core/number.h"

namespace cidrotor::core {

inline constexpr std::uint16_t kMaxWarmupDays = 365;

// The day of its warm-up a number warming since `warm_from` is on at local day `day_start` (both
// local midnights as compact times): 1 on the day it was added, up to warmup_days; 0 when it does
// not warm (warmed up, established, or warm-up off).
std::uint16_t WarmupDay(CompactTime warm_from, CompactTime day_start, std::uint16_t warmup_days);

// The daily cap of a number on day `warmup_day` of its warm-up (0: not warming, the full cap).
std::uint16_t WarmDailyCap(std::uint16_t cap, std::uint16_t warmup_day, std::uint16_t warmup_days);

// The usage a number entering the pool starts with: one without a usage history (last_used 0)
// warms from `day_start` (the local midnight of today; 0 leaves it established) unless it already
// names its own start; one with a history is established.
NumberUsage ArrivingUsage(NumberUsage usage, CompactTime day_start);

}  // namespace cidrotor::core
