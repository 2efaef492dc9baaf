// The dashboard's and /metrics' allocation figures: the per-minute ring, the 24-hour campaign and
// agent tallies, and the latency histogram and tier/error counters. Time comes from the tests
// (no clock, no sleeping).
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "service/allocation_telemetry.h"
#include "service/minute_series.h"
#include "service/recent_activity.h"

namespace cidrotor::service {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// 2026-03-01T12:00:00Z, a minute and an hour boundary.
constexpr core::TimePoint kNoon{seconds(1'772'366'400)};

TEST(MinuteSeriesTest, CountsPerMinuteOldestFirst) {
  MinuteSeries series;
  series.Add(kNoon - minutes(2));
  series.Add(kNoon + seconds(5));
  series.Add(kNoon + seconds(59), 3);
  const auto last = series.Last(kNoon + seconds(30), 4);
  EXPECT_EQ(last, (std::vector<std::uint32_t>{0, 1, 0, 4}));
  EXPECT_EQ(series.Last(kNoon).size(), MinuteSeries::kMinutes);
  EXPECT_EQ(MinuteSeries::MinuteStart(kNoon + seconds(59)), 1'772'366'400);
}

TEST(MinuteSeriesTest, MinutesOlderThanSixHoursReadAsZeroAndTheirSlotsAreReused) {
  MinuteSeries series;
  series.Add(kNoon, 7);
  EXPECT_EQ(series.Last(kNoon + hours(6) - minutes(1)).front(), 7U);  // still the oldest minute
  EXPECT_EQ(series.Last(kNoon + hours(6)).front(), 0U);               // fell off
  series.Add(kNoon + hours(6));                                       // same slot, new minute
  EXPECT_EQ(series.Last(kNoon + hours(6)).back(), 1U);
  EXPECT_EQ(series.Last(kNoon, 1).back(), 0U);  // the old minute is not resurrected
}

TEST(MinuteSeriesTest, ConcurrentAddsAreAllCounted) {
  MinuteSeries series;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&series] {
      for (int i = 0; i < 10'000; ++i) series.Add(kNoon + seconds(i % 60));
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(series.Last(kNoon, 1).back(), 40'000U);
}

TEST(RecentActivityTest, TalliesCampaignsAndAgentsSinceAMinute) {
  RecentActivity activity;
  activity.Record("sales", "agent1", kNoon - minutes(3));  // before the minute asked from
  activity.Record("sales", "agent1", kNoon - minutes(2) + seconds(59));
  activity.Record("sales", "agent2", kNoon - minutes(1));
  activity.Record("support", "agent2", kNoon);
  // From the start of the minute holding `since`: kNoon - 2 min.
  const ActivitySnapshot snapshot = activity.Since(kNoon - minutes(2) + seconds(30), kNoon);
  ASSERT_EQ(snapshot.campaigns.size(), 2U);
  EXPECT_EQ(snapshot.campaigns[0].name, "sales");
  EXPECT_EQ(snapshot.campaigns[0].allocations, 2U);
  EXPECT_EQ(snapshot.campaigns[0].last_allocation, kNoon - minutes(1));
  EXPECT_EQ(snapshot.campaigns[1].name, "support");
  ASSERT_EQ(snapshot.agents.size(), 2U);
  EXPECT_EQ(snapshot.agents[0].name, "agent2");
  EXPECT_EQ(snapshot.agents[0].allocations, 2U);
  EXPECT_EQ(snapshot.agents[1].allocations, 1U);
  EXPECT_EQ(activity.Since(kNoon - minutes(10), kNoon).campaigns.at(0).allocations, 3U);
}

TEST(RecentActivityTest, KeepsTheLastMinutesOnly) {
  RecentActivity activity;
  activity.Record("sales", "agent1", kNoon);
  const auto later = kNoon + minutes(RecentActivity::kMinutes);
  EXPECT_TRUE(activity.Since(kNoon, later).campaigns.empty()) << "fell off the ring";
  EXPECT_EQ(activity.Since(kNoon, later - minutes(1)).campaigns.size(), 1U);
  activity.Record("support", "agent2", later);  // the same bucket, a new minute
  const auto snapshot = activity.Since(kNoon, later);
  ASSERT_EQ(snapshot.campaigns.size(), 1U);
  EXPECT_EQ(snapshot.campaigns[0].name, "support");
}

TEST(RecentActivityTest, ManyDistinctNamesInAMinuteAreCappedUnderOther) {
  RecentActivity activity;
  for (std::size_t i = 0; i < RecentActivity::kMaxNamesPerMinute + 10; ++i) {
    activity.Record("c", "agent" + std::to_string(i), kNoon);
  }
  const auto agents = activity.Since(kNoon, kNoon).agents;
  EXPECT_EQ(agents.size(), RecentActivity::kMaxNamesPerMinute + 1);
  EXPECT_EQ(agents.front().name, RecentActivity::kOther);
  EXPECT_EQ(agents.front().allocations, 10U);
}

core::Allocation AllocationIn(core::MatchTier tier) {
  core::Allocation allocation;
  allocation.reservation.match = tier;
  allocation.reservation.campaign = "sales";
  allocation.reservation.agent = "agent1";
  return allocation;
}

TEST(AllocationTelemetryTest, HistogramIsCumulativeAndCountersAreByTierAndCode) {
  AllocationTelemetry telemetry;
  telemetry.RecordAllocated(AllocationIn(core::MatchTier::kAreaCode), microseconds(40), kNoon);
  telemetry.RecordAllocated(AllocationIn(core::MatchTier::kAreaCode), microseconds(100), kNoon);
  telemetry.RecordAllocated(AllocationIn(core::MatchTier::kAny), microseconds(3'000), kNoon);
  telemetry.RecordRefused(core::ErrorCode::kNoCallerIdAvailable, microseconds(5'000'000));

  const LatencySnapshot latency = telemetry.Latency();
  EXPECT_EQ(latency.cumulative[0], 1U);  // le 50 µs
  EXPECT_EQ(latency.cumulative[1], 2U);  // le 100 µs: bounds are inclusive
  EXPECT_EQ(latency.cumulative[5], 2U);  // le 2.5 ms
  EXPECT_EQ(latency.cumulative[6], 3U);  // le 5 ms
  EXPECT_EQ(latency.cumulative[kLatencyBucketsMicros.size() - 1], 3U);  // le 1 s
  EXPECT_EQ(latency.cumulative.back(), 4U);                             // +Inf
  EXPECT_EQ(latency.count, 4U);
  EXPECT_EQ(latency.sum_micros, 5'003'140U);

  EXPECT_EQ(telemetry.AllocatedByTier(core::MatchTier::kAreaCode), 2U);
  EXPECT_EQ(telemetry.AllocatedByTier(core::MatchTier::kAny), 1U);
  EXPECT_EQ(telemetry.AllocatedByTier(core::MatchTier::kSticky), 0U);
  EXPECT_EQ(telemetry.RefusedByCode(core::ErrorCode::kNoCallerIdAvailable), 1U);
  EXPECT_EQ(telemetry.per_minute().Last(kNoon, 1).back(), 3U);  // refusals are not allocations
  EXPECT_EQ(telemetry.activity().Since(kNoon, kNoon).campaigns.at(0).allocations, 3U);
}

}  // namespace
}  // namespace cidrotor::service
