#include "service/allocation_telemetry.h"

#include <algorithm>

namespace cidrotor::service {

static_assert(static_cast<std::size_t>(core::MatchTier::kAny) + 1 == kTierCount);
static_assert(static_cast<std::size_t>(core::ErrorCode::kInternal) + 1 == kErrorCodeCount);

void AllocationTelemetry::RecordLatency(std::chrono::microseconds latency) {
  const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(latency.count(), 0));
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(kLatencyBucketsMicros.begin(), kLatencyBucketsMicros.end(), micros) -
      kLatencyBucketsMicros.begin());
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_micros_.fetch_add(micros, std::memory_order_relaxed);
}

void AllocationTelemetry::RecordAllocated(const core::Allocation& allocation,
                                          std::chrono::microseconds latency, core::TimePoint now) {
  RecordLatency(latency);
  by_tier_[static_cast<std::size_t>(allocation.reservation.match)].fetch_add(
      1, std::memory_order_relaxed);
  per_minute_.Add(now);
  activity_.Record(allocation.reservation.campaign, allocation.reservation.agent, now);
}

void AllocationTelemetry::RecordRefused(core::ErrorCode code, std::chrono::microseconds latency) {
  RecordLatency(latency);
  by_code_[static_cast<std::size_t>(code)].fetch_add(1, std::memory_order_relaxed);
}

LatencySnapshot AllocationTelemetry::Latency() const {
  LatencySnapshot snapshot;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative[i] = running;
  }
  // count = the +Inf bucket, so the exposition is self-consistent even while others add.
  snapshot.count = running;
  snapshot.sum_micros = latency_sum_micros_.load(std::memory_order_relaxed);
  return snapshot;
}

std::uint64_t AllocationTelemetry::AllocatedByTier(core::MatchTier tier) const {
  return by_tier_[static_cast<std::size_t>(tier)].load(std::memory_order_relaxed);
}

std::uint64_t AllocationTelemetry::RefusedByCode(core::ErrorCode code) const {
  return by_code_[static_cast<std::size_t>(code)].load(std::memory_order_relaxed);
}

}  // namespace cidrotor::service
