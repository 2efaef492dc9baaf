// What operators and the dashboard see of allocations, whichever protocol asked (HTTP or
// FastAGI): a latency histogram, allocations by tier, refusals by error code (the 503s among
// them), allocations per minute over six hours and the campaigns and agents of the last day.
// Fed by ObservedStore (observed_store.h); read by GET /metrics and GET /api/stats.
//
// Cost on the hot path: counters are relaxed atomics in fixed arrays (the label sets are fixed:
// tiers, error codes, histogram buckets), the minute series one CAS; only RecentActivity takes a
// short lock (see there why).
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/allocation.h"
#include "core/result.h"
#include "service/minute_series.h"
#include "service/recent_activity.h"

namespace cidrotor::service {

// Upper bounds of the latency histogram's buckets, in microseconds (+Inf is implicit). From the
// in-memory answer (tens of µs) to a slow group commit (a second).
inline constexpr std::array<std::uint32_t, 13> kLatencyBucketsMicros{
    50, 100, 250, 500, 1'000, 2'500, 5'000, 10'000, 25'000, 50'000, 100'000, 250'000, 1'000'000};

inline constexpr std::size_t kTierCount = 5;       // core::MatchTier's values
inline constexpr std::size_t kErrorCodeCount = 8;  // core::ErrorCode's values

struct LatencySnapshot {
  // Cumulative counts per bucket (Prometheus `le` semantics), then +Inf last.
  std::array<std::uint64_t, kLatencyBucketsMicros.size() + 1> cumulative{};
  std::uint64_t count = 0;
  std::uint64_t sum_micros = 0;
};

class AllocationTelemetry {
 public:
  // An allocation that succeeded, `latency` after it was asked for, at `now`.
  void RecordAllocated(const core::Allocation& allocation, std::chrono::microseconds latency,
                       core::TimePoint now);
  // An allocation refused with `code` (no caller-ID, rate limited, store unavailable...).
  void RecordRefused(core::ErrorCode code, std::chrono::microseconds latency);

  LatencySnapshot Latency() const;
  std::uint64_t AllocatedByTier(core::MatchTier tier) const;
  std::uint64_t RefusedByCode(core::ErrorCode code) const;
  const MinuteSeries& per_minute() const { return per_minute_; }
  const RecentActivity& activity() const { return activity_; }

 private:
  void RecordLatency(std::chrono::microseconds latency);

  std::array<std::atomic<std::uint64_t>, kLatencyBucketsMicros.size() + 1> buckets_{};
  std::atomic<std::uint64_t> latency_sum_micros_{0};
  std::array<std::atomic<std::uint64_t>, kTierCount> by_tier_{};
  std::array<std::atomic<std::uint64_t>, kErrorCodeCount> by_code_{};
  MinuteSeries per_minute_;
  RecentActivity activity_;
};

}  // namespace cidrotor::service
