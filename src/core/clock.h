// Time for the whole service: a Clock interface injected everywhere "now" is needed, so tests
// drive time with a ManualClock (tests/support) instead of sleeping.
//
// TimePoint has millisecond resolution. Records that must stay small store times as
// CompactTime: unsigned 32-bit seconds since 2020-01-01 UTC (good until 2156, no 2038 problem).
#pragma once

#include <chrono>
#include <cstdint>

namespace cidrotor::core {

using Milliseconds = std::chrono::milliseconds;
using Seconds = std::chrono::seconds;
using TimePoint = std::chrono::sys_time<Milliseconds>;
using CompactTime = std::uint32_t;

// 2020-01-01T00:00:00Z in Unix seconds.
inline constexpr std::int64_t kCompactEpochUnixSeconds = 1'577'836'800;

// Seconds since the compact epoch, rounded down; 0 for instants at or before it.
constexpr CompactTime ToCompact(TimePoint t) {
  const auto unix_seconds =
      std::chrono::duration_cast<Seconds>(t.time_since_epoch()).count() - kCompactEpochUnixSeconds;
  return unix_seconds <= 0 ? 0 : static_cast<CompactTime>(unix_seconds);
}

// The millisecond of t's second (0..999); 0 for instants at or before the compact epoch, whose
// CompactTime is 0 too.
constexpr std::uint16_t MillisecondOf(TimePoint t) {
  const auto ms = t.time_since_epoch().count() - kCompactEpochUnixSeconds * 1000;
  return ms <= 0 ? 0 : static_cast<std::uint16_t>(ms % 1000);
}

constexpr TimePoint FromCompact(CompactTime t) {
  return TimePoint(Seconds(kCompactEpochUnixSeconds + static_cast<std::int64_t>(t)));
}

// Thread-safe implementations only: a clock is shared by every thread of the process.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override {
    return std::chrono::time_point_cast<Milliseconds>(std::chrono::system_clock::now());
  }
};

}  // namespace cidrotor::core
