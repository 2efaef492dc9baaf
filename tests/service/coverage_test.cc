#include "service/coverage.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace cidrotor::service {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// 2026-11-25T14:30:00Z: mid-hour, a Wednesday.
const core::TimePoint kNow = core::TimePoint(core::Seconds(1'795'617'000));

// The quarter hour of kNow - `ago`.
std::int64_t QuarterAgo(minutes ago) {
  return std::chrono::floor<minutes>((kNow - ago).time_since_epoch()).count() / 15;
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

// Today's local midnight (UTC) as the store keeps times, and `days` before it.
core::CompactTime MidnightBefore(int days) {
  return core::ToCompact(core::TimePoint(hours(24 * (1'795'617'000 / 86'400 - days))));
}

class CoverageTest : public ::testing::Test {
 protected:
  std::vector<AreaCodeCoverage> Build(const store::CoverageData& data,
                                      const core::Calendar& calendar,
                                      std::vector<store::AreaCodeAvailability> live = {}) {
    const CoverageRules rules{calendar, caps_};
    return BuildCoverage(data, CoverageQueryAt(kNow, rules), kNow, rules, live);
  }
  core::FixedOffsetCalendar utc_;
  core::IndexOptions caps_;  // 100 an hour, 500 a day; no warm-up, no probation
};

TEST_F(CoverageTest, QueryStartsAtLocalMidnightSixDaysBack) {
  caps_.default_hourly_cap = 10;
  caps_.default_daily_cap = 50;
  const store::CoverageQuery query = CoverageQueryAt(kNow, {utc_, caps_});
  EXPECT_EQ(query.since, core::TimePoint(hours(24 * (1'795'617'000 / 86'400 - 6))));
  EXPECT_EQ(query.default_hourly_cap, 10);
  EXPECT_EQ(query.default_daily_cap, 50);
  const core::FixedOffsetCalendar new_york(minutes(-300));  // local midnight is 05:00 UTC
  EXPECT_EQ(CoverageQueryAt(kNow, {new_york, caps_}).since, query.since + hours(5));
}

// The numbers whose caps the store reports apart: those warmed or rested since a day before
// either rule could still hold them down.
TEST_F(CoverageTest, QueryAsksForTheNumbersWarmingOrRestedWithinTheRulesAndADay) {
  EXPECT_EQ(CoverageQueryAt(kNow, {utc_, caps_}).recent_since, MidnightBefore(1));
  caps_.warmup_days = 4;
  caps_.probation = hours(48);
  EXPECT_EQ(CoverageQueryAt(kNow, {utc_, caps_}).recent_since, MidnightBefore(5));
  caps_.probation = hours(24 * 9);
  EXPECT_EQ(CoverageQueryAt(kNow, {utc_, caps_}).recent_since, MidnightBefore(10));
}

// SPEC: "how many more numbers each area code needs to keep every number under its caps". A
// resting number takes no calls, and one warming up or on probation part of its daily cap: the
// area code needs more numbers today than at full caps.
TEST_F(CoverageTest, RestingWarmingAndProbationNumbersCountAtTodaysCaps) {
  caps_.warmup_days = 4;  // day 1: a fifth of the cap
  caps_.probation = hours(48);
  caps_.probation_daily_cap = 30;
  store::CoverageData data;
  data.capacity.push_back(Capacity(212, 5, 500, 500));  // 100 an hour, 100 a day each
  const core::CompactTime now = core::ToCompact(kNow);
  data.recent = {{212, 100, 100, 0, now + 3600, 1},                // resting for another hour
                 {212, 100, 100, MidnightBefore(0), 0, 1},         // warming up since today: 20
                 {212, 100, 100, 0, now - 3600, 1},                // rest over, on probation: 30
                 {212, 100, 100, 0, MidnightBefore(2) - 3600, 1},  // probation over: its full cap
                 {415, 100, 100, 0, now + 3600, 3}};               // not in the capacity: left out
  data.calls = {{212, QuarterAgo(hours(1)), 15}, {212, QuarterAgo(hours(3)), 235}};
  const auto report = Build(data, utc_);
  const AreaCodeCoverage& a = Find(report, 212);
  EXPECT_EQ(a.resting, 1u);
  EXPECT_EQ(a.ramping, 2u);
  EXPECT_EQ(a.full_hourly_capacity, 500u);
  EXPECT_EQ(a.full_daily_capacity, 500u);
  EXPECT_EQ(a.hourly_capacity, 400u);
  EXPECT_EQ(a.daily_capacity, 250u);  // 500 - 100 - 80 - 70
  EXPECT_EQ(a.busiest_day, 250u);
  EXPECT_TRUE(a.saturated);
  EXPECT_EQ(a.numbers_needed, 3u);       // 250 a day at 100 each
  EXPECT_EQ(a.more_numbers_needed, 0u);  // today's 250 just take it
  data.calls.push_back({212, QuarterAgo(hours(5)), 1});
  const AreaCodeCoverage& b = Find(Build(data, utc_), 212);
  EXPECT_EQ(b.numbers_needed, 3u);
  EXPECT_EQ(b.more_numbers_needed, 1u);     // one call beyond today's capacity: one more number
  EXPECT_EQ(Build(data, utc_).size(), 1u);  // the groups only reduce what the store counted
  // Without warm-up and probation only the resting number counts less.
  caps_.warmup_days = 0;
  caps_.probation = core::Seconds(0);
  const AreaCodeCoverage& c = Find(Build(data, utc_), 212);
  EXPECT_EQ(c.ramping, 0u);
  EXPECT_EQ(c.daily_capacity, 400u);
  EXPECT_EQ(c.more_numbers_needed, 0u);
}

TEST_F(CoverageTest, AnAreaCodeWhoseNumbersAllRestNeedsAsManyAgainToday) {
  store::CoverageData data;
  data.capacity.push_back(Capacity(212, 2, 20, 1000));
  data.recent = {{212, 10, 500, 0, core::ToCompact(kNow) + 600, 2}};
  data.calls = {{212, QuarterAgo(hours(2)), 15}};
  const AreaCodeCoverage& a = Find(Build(data, utc_), 212);
  EXPECT_EQ(a.hourly_capacity, 0u);
  EXPECT_EQ(a.daily_capacity, 0u);
  EXPECT_EQ(a.numbers_needed, 2u);
  EXPECT_EQ(a.more_numbers_needed, 2u);
}

TEST_F(CoverageTest, CountsTheLastDayTheWeekAndTheBusiestLocalHourAndDay) {
  store::CoverageData data;
  data.capacity.push_back(Capacity(212, 4, 40, 400));
  data.calls = {{212, QuarterAgo(minutes(0)), 5},
                {212, QuarterAgo(hours(23)), 7},
                {212, QuarterAgo(hours(24) + minutes(30)), 30},
                {212, QuarterAgo(hours(30)), 20},
                {212, QuarterAgo(hours(24 * 6)), 1},
                {212, QuarterAgo(hours(24 * 8)), 99}};
  const auto report = Build(data, utc_, {{212, 5, 4, 3}});
  const AreaCodeCoverage& a = Find(report, 212);
  EXPECT_EQ(a.state, "NY");
  EXPECT_EQ(a.calls_24h, 12u);  // the last 24 hours
  EXPECT_EQ(a.calls_7d, 63u);   // 8 days ago is out of the window
  EXPECT_EQ(a.busiest_hour, 30u);
  EXPECT_EQ(a.busiest_day, 57u);  // yesterday (UTC): 7 + 30 + 20
  EXPECT_EQ(a.numbers, 5u);
  EXPECT_EQ(a.active, 4u);
  EXPECT_EQ(a.available, 3u);
  EXPECT_FALSE(a.saturated);
}

// A working day in New York spans two UTC days: counted as one local day, as the caps count it.
TEST_F(CoverageTest, DaysAreTheTimeZonesDaysAsTheCapsCountThem) {
  const core::FixedOffsetCalendar new_york(minutes(-300));
  store::CoverageData data;
  data.capacity.push_back(Capacity(212, 4, 4000, 1000));  // 250 a day each
  // Yesterday 14:00-21:59 New York time = 19:00-02:59 UTC: 8 hours of 250 calls.
  const core::TimePoint yesterday_1400_utc =
      core::TimePoint(hours(24 * (1'795'617'000 / 86'400 - 1) + 14));
  for (int h = 0; h < 8; ++h) {
    const auto quarter =
        std::chrono::floor<minutes>((yesterday_1400_utc + hours(5 + h)).time_since_epoch())
            .count() /
        15;
    data.calls.push_back({212, quarter, 250});
  }
  const auto local = Build(data, new_york);
  EXPECT_EQ(Find(local, 212).busiest_day, 2000u);
  EXPECT_EQ(Find(local, 212).numbers_needed, 8u);  // 2,000 a day at 250 each
  EXPECT_EQ(Find(local, 212).more_numbers_needed, 4u);
  // More calls than its numbers could take in a day (other tiers served the rest): saturated.
  EXPECT_TRUE(Find(local, 212).saturated);
  EXPECT_LT(Find(Build(data, utc_), 212).busiest_day, 2000u);  // split by UTC midnight
}

TEST_F(CoverageTest, NumbersNeededForTheBusiestHourAndDayAtTheAverageCaps) {
  store::CoverageData data;
  data.capacity.push_back(Capacity(212, 4, 40, 1000));  // 10 an hour, 250 a day each
  data.calls = {{212, QuarterAgo(hours(1)), 61}};       // 61 in an hour: 7 numbers
  data.capacity.push_back(Capacity(310, 2, 200, 200));  // 100 an hour, 100 a day each
  data.calls.push_back({310, QuarterAgo(hours(2)), 90});
  data.calls.push_back({310, QuarterAgo(hours(3)), 90});  // 180 a day: 2 numbers, enough
  const auto report = Build(data, utc_);
  EXPECT_EQ(Find(report, 212).numbers_needed, 7u);
  EXPECT_EQ(Find(report, 212).more_numbers_needed, 3u);
  EXPECT_TRUE(Find(report, 212).saturated);
  EXPECT_EQ(Find(report, 310).numbers_needed, 2u);
  EXPECT_EQ(Find(report, 310).more_numbers_needed, 0u);
  EXPECT_FALSE(Find(report, 310).saturated);
  EXPECT_EQ(report.front().area_code, 212u);  // the most numbers short first
}

TEST_F(CoverageTest, AnAreaCodeWithCallsButNoNumbersIsSizedAtTheDefaultCaps) {
  store::CoverageData data;
  data.calls = {{617, QuarterAgo(hours(5)), 250}};
  const auto report = Build(data, utc_);
  const AreaCodeCoverage& a = Find(report, 617);
  EXPECT_EQ(a.state, "MA");
  EXPECT_EQ(a.active, 0u);
  EXPECT_EQ(a.numbers_needed, 3u);  // 250 an hour at 100: 3
  EXPECT_EQ(a.more_numbers_needed, 3u);
}

TEST_F(CoverageTest, TollFreeCallsAreLeftOutAndQuietAreaCodesNeedNothing) {
  store::CoverageData data;
  data.capacity.push_back(Capacity(800, 3, 300, 1500));
  data.capacity.push_back(Capacity(415, 1, 100, 500));
  data.calls = {{800, QuarterAgo(hours(1)), 1000}};
  const auto report = Build(data, utc_);
  ASSERT_EQ(report.size(), 2u);
  EXPECT_EQ(Find(report, 800).calls_7d, 0u);
  EXPECT_EQ(Find(report, 800).state, "");
  EXPECT_EQ(Find(report, 415).numbers_needed, 0u);
  EXPECT_EQ(report[0].area_code, 415u);  // no need, no calls: by area code
}

// What Get hands a caller: the report, or its error's detail.
struct Asked {
  std::optional<core::Result<CoverageCache::Report>> answer;
  store::Callback<CoverageCache::Report> Callback() {
    return [this](core::Result<CoverageCache::Report> r) { answer = std::move(r); };
  }
};

TEST(CoverageCacheTest, OneFetchAtATimeItsReportKeptForAMinute) {
  CoverageCache cache;
  int fetches = 0;
  store::Callback<CoverageCache::Report> finish;  // the fetch under way's
  const CoverageCache::Fetch fetch = [&](store::Callback<CoverageCache::Report> done) {
    ++fetches;
    finish = std::move(done);
  };
  Asked first, second;
  cache.Get(kNow, fetch, first.Callback());
  cache.Get(kNow + std::chrono::seconds(1), fetch, second.Callback());
  EXPECT_EQ(fetches, 1) << "the second caller waits for the fetch under way";
  EXPECT_FALSE(first.answer || second.answer);
  AreaCodeCoverage ny;
  ny.area_code = 212;
  finish(CoverageCache::Report{ny});
  ASSERT_TRUE(first.answer && second.answer);
  ASSERT_TRUE(first.answer->has_value() && second.answer->has_value());
  EXPECT_EQ((**second.answer).front().area_code, 212u);

  Asked kept;
  cache.Get(kNow + std::chrono::seconds(59), fetch, kept.Callback());
  ASSERT_TRUE(kept.answer && kept.answer->has_value());
  EXPECT_EQ(fetches, 1);
  Asked old, back;
  cache.Get(kNow + std::chrono::seconds(60), fetch, old.Callback());
  EXPECT_EQ(fetches, 2);
  finish(core::Fail(core::Error::Unavailable("scan failed")));
  ASSERT_TRUE(old.answer);
  EXPECT_FALSE(old.answer->has_value());  // a failure goes to the callers that waited for it
  cache.Get(kNow - std::chrono::seconds(1), fetch, back.Callback());  // the clock went back
  EXPECT_EQ(fetches, 3);
}

}  // namespace
}  // namespace cidrotor::service
