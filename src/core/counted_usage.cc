#include "core/counted_usage.h"

#include <algorithm>
#include <limits>

namespace cidrotor::core {
namespace {

constexpr std::uint16_t Clamp(std::uint32_t count) {
  return static_cast<std::uint16_t>(
      std::min<std::uint32_t>(count, std::numeric_limits<std::uint16_t>::max()));
}

// Raises the counter `used` of window `start` to `count` in the current window `now`.
void Raise(CompactTime& start, std::uint16_t& used, CompactTime now, std::uint32_t count) {
  if (count == 0) return;
  if (start != now) {
    start = now;
    used = 0;
  }
  used = std::max(used, Clamp(count));
}

}  // namespace

NumberUsage RaiseToCounted(NumberUsage usage, const Windows& windows, const CountedUse& counted) {
  Raise(usage.hour_start, usage.hourly_used, ToCompact(windows.hour_start), counted.this_hour);
  Raise(usage.day_start, usage.daily_used, ToCompact(windows.day_start), counted.today);
  if (counted.newest > usage.last_used) SetLastUsed(usage, counted.newest);
  return usage;
}

}  // namespace cidrotor::core
