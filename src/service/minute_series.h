// Allocations per minute over the last six hours, for the dashboard's chart: a ring of 360 slots,
// one per minute, each a single 64-bit atomic holding (minute << 32 | count). Adding is one
// compare-and-swap on the hot path, no lock; a slot whose minute is stale reads as 0 and is reset
// by the first add of its new minute, so nothing has to sweep the ring.
// In-process: it starts empty when the process starts, and each instance of a cluster counts its
// own allocations (the store's history is the record; this is the live view).
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/clock.h"

namespace cidrotor::service {

class MinuteSeries {
 public:
  static constexpr std::size_t kMinutes = 6 * 60;

  // Counts `n` events in the minute of `now`.
  void Add(core::TimePoint now, std::uint32_t n = 1);

  // The counts of the `minutes` minutes ending with the minute of `now`, oldest first.
  // REQUIRES: minutes <= kMinutes.
  std::vector<std::uint32_t> Last(core::TimePoint now, std::size_t minutes = kMinutes) const;

  // The Unix time (seconds) at which the minute of `now` started.
  static std::int64_t MinuteStart(core::TimePoint now);

 private:
  std::array<std::atomic<std::uint64_t>, kMinutes> slots_{};
};

}  // namespace cidrotor::service
