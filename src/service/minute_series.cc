#include "service/minute_series.h"

#include <cassert>
#include <limits>

namespace cidrotor::service {
namespace {

// Minutes since the Unix epoch: fits 32 bits until the year 10136.
std::uint64_t MinuteOf(core::TimePoint now) {
  const auto minutes =
      std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count();
  return minutes < 0 ? 0 : static_cast<std::uint64_t>(minutes) & 0xFFFF'FFFFU;
}

constexpr std::uint64_t kCountMask = 0xFFFF'FFFFU;

}  // namespace

std::int64_t MinuteSeries::MinuteStart(core::TimePoint now) {
  return static_cast<std::int64_t>(MinuteOf(now)) * 60;
}

void MinuteSeries::Add(core::TimePoint now, std::uint32_t n) {
  const std::uint64_t minute = MinuteOf(now);
  std::atomic<std::uint64_t>& slot = slots_[minute % kMinutes];
  std::uint64_t seen = slot.load(std::memory_order_relaxed);
  std::uint64_t next = 0;
  do {
    const std::uint64_t count = (seen >> 32) == minute ? (seen & kCountMask) : 0;
    const std::uint64_t sum = std::min<std::uint64_t>(count + n, kCountMask);  // saturates
    next = (minute << 32) | sum;
  } while (!slot.compare_exchange_weak(seen, next, std::memory_order_relaxed));
}

std::vector<std::uint32_t> MinuteSeries::Last(core::TimePoint now, std::size_t minutes) const {
  assert(minutes <= kMinutes);
  const std::uint64_t current = MinuteOf(now);
  std::vector<std::uint32_t> out(minutes, 0);
  for (std::size_t i = 0; i < minutes; ++i) {
    const std::uint64_t back = minutes - 1 - i;
    if (back > current) continue;
    const std::uint64_t minute = current - back;
    const std::uint64_t value = slots_[minute % kMinutes].load(std::memory_order_relaxed);
    if ((value >> 32) == minute) out[i] = static_cast<std::uint32_t>(value & kCountMask);
  }
  return out;
}

}  // namespace cidrotor::service
