#include "service/coverage.h"

#include <gtest/gtest.h>

#include <chrono>

namespace cidrotor::service {
namespace {

using std::chrono::hours;

// 2026-11-25T14:30:00Z: mid-hour.
const core::TimePoint kNow = core::TimePoint(core::Seconds(1'795'617'000));

std::int64_t HoursAgo(int n) {
  return std::chrono::floor<hours>(kNow.time_since_epoch()).count() - n;
}

store::AreaCodeCapacity Capacity(std::uint32_t npa, std::uint64_t active, std::uint64_t hourly,
                                 std::uint64_t daily) {
  return store::AreaCodeCapacity{npa, active + 1, active, hourly, daily};
}

const AreaCodeCoverage& Find(const std::vector<AreaCodeCoverage>& report, std::uint32_t npa) {
  for (const auto& a : report) {
    if (a.area_code == npa) return a;
  }
  static const AreaCodeCoverage kMissing;
  ADD_FAILURE() << "no area code " << npa;
  return kMissing;
}

TEST(CoverageTest, QueryStartsAtTheHourSevenDaysBack) {
  const store::CoverageQuery query = CoverageQueryAt(kNow, 10, 50);
  EXPECT_EQ(query.since, core::TimePoint(hours(HoursAgo(167))));
  EXPECT_EQ(query.default_hourly_cap, 10);
  EXPECT_EQ(query.default_daily_cap, 50);
}

TEST(CoverageTest, CountsTheLastDayTheWeekAndTheBusiestHourAndDay) {
  store::CoverageData data;
  data.capacity.push_back(Capacity(212, 4, 40, 400));
  data.calls = {{212, HoursAgo(0), 5},   {212, HoursAgo(23), 7},  {212, HoursAgo(24), 30},
                {212, HoursAgo(30), 20}, {212, HoursAgo(167), 1}, {212, HoursAgo(168), 99}};
  const auto report = BuildCoverage(data, CoverageQueryAt(kNow, 100, 500), kNow);
  const AreaCodeCoverage& a = Find(report, 212);
  EXPECT_EQ(a.state, "NY");
  EXPECT_EQ(a.calls_24h, 12u);  // the current hour and the 23 before it
  EXPECT_EQ(a.calls_7d, 63u);   // 168 hours: the one before them is out
  EXPECT_EQ(a.busiest_hour, 30u);
  EXPECT_EQ(a.busiest_day, 50u);  // 30 + 20, the second 24 hours
  EXPECT_EQ(a.numbers, 5u);
  EXPECT_EQ(a.active, 4u);
}

TEST(CoverageTest, NumbersNeededForTheBusiestHourAndDayAtTheAverageCaps) {
  store::CoverageData data;
  data.capacity.push_back(Capacity(212, 4, 40, 1000));  // 10 an hour, 250 a day each
  data.calls = {{212, HoursAgo(1), 61}};                // 61 in an hour: 7 numbers
  data.capacity.push_back(Capacity(310, 2, 200, 200));  // 100 an hour, 100 a day each
  data.calls.push_back({310, HoursAgo(2), 90});
  data.calls.push_back({310, HoursAgo(3), 90});  // 180 a day: 2 numbers, enough
  const auto report = BuildCoverage(data, CoverageQueryAt(kNow, 100, 500), kNow);
  EXPECT_EQ(Find(report, 212).numbers_needed, 7u);
  EXPECT_EQ(Find(report, 212).more_numbers_needed, 3u);
  EXPECT_EQ(Find(report, 310).numbers_needed, 2u);
  EXPECT_EQ(Find(report, 310).more_numbers_needed, 0u);
  EXPECT_EQ(report.front().area_code, 212u);  // the most numbers short first
}

TEST(CoverageTest, AnAreaCodeWithCallsButNoNumbersIsSizedAtTheDefaultCaps) {
  store::CoverageData data;
  data.calls = {{617, HoursAgo(5), 250}};
  const auto report = BuildCoverage(data, CoverageQueryAt(kNow, 100, 500), kNow);
  const AreaCodeCoverage& a = Find(report, 617);
  EXPECT_EQ(a.state, "MA");
  EXPECT_EQ(a.active, 0u);
  EXPECT_EQ(a.numbers_needed, 3u);  // 250 an hour at 100: 3
  EXPECT_EQ(a.more_numbers_needed, 3u);
}

TEST(CoverageTest, TollFreeCallsAreLeftOutAndQuietAreaCodesNeedNothing) {
  store::CoverageData data;
  data.capacity.push_back(Capacity(800, 3, 300, 1500));
  data.capacity.push_back(Capacity(415, 1, 100, 500));
  data.calls = {{800, HoursAgo(1), 1000}};
  const auto report = BuildCoverage(data, CoverageQueryAt(kNow, 100, 500), kNow);
  ASSERT_EQ(report.size(), 2u);
  EXPECT_EQ(Find(report, 800).calls_7d, 0u);
  EXPECT_EQ(Find(report, 800).state, "");
  EXPECT_EQ(Find(report, 415).numbers_needed, 0u);
  EXPECT_EQ(report[0].area_code, 415u);  // no need, no calls: by area code
}

}  // namespace
}  // namespace cidrotor::service
