#include "core/warm_up.h"

#include <algorithm>

namespace cidrotor::core {

std::uint16_t WarmupDay(CompactTime warm_from, CompactTime day_start, std::uint16_t warmup_days) {
  if (warmup_days == 0 || warm_from == 0) return 0;
  // Both are local midnights: their distance is whole days give or take a DST hour (or a
  // TIMEZONE changed since), so it is rounded to the nearest day. A start after today (a clock
  // set back) counts as the first day.
  const std::uint32_t days =
      day_start > warm_from ? (day_start - warm_from + 43'200U) / 86'400U : 0U;
  return days >= warmup_days ? 0 : static_cast<std::uint16_t>(days + 1U);
}

std::uint16_t WarmDailyCap(std::uint16_t cap, std::uint16_t warmup_day, std::uint16_t warmup_days) {
  if (warmup_day == 0) return cap;
  // ceil(cap * day / (days + 1)) in integers.
  const std::uint32_t share =
      (std::uint32_t{cap} * warmup_day + warmup_days) / (std::uint32_t{warmup_days} + 1U);
  return static_cast<std::uint16_t>(std::max<std::uint32_t>(share, 1U));
}

NumberUsage ArrivingUsage(NumberUsage usage, CompactTime day_start) {
  if (usage.last_used != 0) {
    usage.warm_from = 0;
  } else if (usage.warm_from == 0) {
    usage.warm_from = day_start;
  }
  return usage;
}

}  // namespace cidrotor::core
