#include "core/counted_usage.h"

#include <gtest/gtest.h>

namespace cidrotor::core {
namespace {

// 2026-11-25T14:00:00Z in a UTC calendar: the hour from 14:00, the day from midnight.
const FixedOffsetCalendar kUtc;
const TimePoint kNow = FromCompact(1'795'564'800 - 1'577'836'800 + 14 * 3600 + 600);
const Windows kWindows = kUtc.WindowsAt(kNow);
const CompactTime kHour = ToCompact(kWindows.hour_start);
const CompactTime kDay = ToCompact(kWindows.day_start);

NumberUsage Stored(CompactTime hour_start, std::uint16_t hourly, CompactTime day_start,
                   std::uint16_t daily, CompactTime last_used) {
  NumberUsage usage;
  usage.hour_start = hour_start;
  usage.hourly_used = hourly;
  usage.day_start = day_start;
  usage.daily_used = daily;
  usage.last_used = last_used;
  usage.last_used_ms = 250;
  usage.warm_from = kDay;
  usage.rest_until = kDay + 7;
  return usage;
}

TEST(CountedUsageTest, ShortCountersAreRaisedToTheHistorysCountAndTheNewestUse) {
  // A backlog written late: the row says 1 use this hour and 2 today, the history holds 4 and 6.
  const NumberUsage raised = RaiseToCounted(Stored(kHour, 1, kDay, 2, kHour + 60), kWindows,
                                            CountedUse{4, 6, kHour + 300});
  EXPECT_EQ(raised.hour_start, kHour);
  EXPECT_EQ(raised.hourly_used, 4);
  EXPECT_EQ(raised.day_start, kDay);
  EXPECT_EQ(raised.daily_used, 6);
  EXPECT_EQ(raised.last_used, kHour + 300);
  EXPECT_EQ(raised.last_used_ms, 0);  // the history has whole seconds
  EXPECT_EQ(raised.warm_from, kDay);  // the rest is the row's
  EXPECT_EQ(raised.rest_until, kDay + 7);
}

TEST(CountedUsageTest, CountersAreNeverLowered) {
  // An import that named its own counts, or a history pruned early, counts fewer.
  const NumberUsage stored = Stored(kHour, 5, kDay, 9, kHour + 600);
  const NumberUsage raised = RaiseToCounted(stored, kWindows, CountedUse{2, 3, kHour + 60});
  EXPECT_EQ(raised.hourly_used, 5);
  EXPECT_EQ(raised.daily_used, 9);
  EXPECT_EQ(raised.last_used, kHour + 600);
  EXPECT_EQ(raised.last_used_ms, 250);  // its millisecond stays with the row's last use
}

TEST(CountedUsageTest, CountersOfAnotherWindowAreReplacedByTheCurrentOnes) {
  // Stored in the previous hour and yesterday: they count nothing now.
  NumberUsage raised = RaiseToCounted(Stored(kHour - 3600, 7, kDay - 86'400, 40, kHour - 60),
                                      kWindows, CountedUse{1, 3, kHour + 5});
  EXPECT_EQ(raised.hour_start, kHour);
  EXPECT_EQ(raised.hourly_used, 1);
  EXPECT_EQ(raised.day_start, kDay);
  EXPECT_EQ(raised.daily_used, 3);
  // A window ahead of this clock (another instance's clock ahead) is replaced too.
  raised = RaiseToCounted(Stored(kHour + 3600, 2, kDay, 2, kHour + 3601), kWindows,
                          CountedUse{1, 2, kHour + 5});
  EXPECT_EQ(raised.hour_start, kHour);
  EXPECT_EQ(raised.hourly_used, 1);
  EXPECT_EQ(raised.last_used, kHour + 3601);
}

TEST(CountedUsageTest, NothingCountedLeavesTheRowAsItIs) {
  // Used earlier today only: the hour's counter of an older hour stays (it reads 0 now anyway).
  const NumberUsage stored = Stored(kHour - 3600, 3, kDay, 3, kHour - 100);
  const NumberUsage raised = RaiseToCounted(stored, kWindows, CountedUse{0, 3, kHour - 100});
  EXPECT_EQ(raised.hour_start, kHour - 3600);
  EXPECT_EQ(raised.hourly_used, 3);
  EXPECT_EQ(raised.daily_used, 3);
  const NumberUsage untouched = RaiseToCounted(stored, kWindows, CountedUse{});
  EXPECT_EQ(untouched.hour_start, stored.hour_start);
  EXPECT_EQ(untouched.daily_used, stored.daily_used);
  EXPECT_EQ(untouched.last_used_ms, 250);
}

TEST(CountedUsageTest, CountsPastTheCounterRangeAreClamped) {
  const NumberUsage raised =
      RaiseToCounted(Stored(0, 0, 0, 0, 0), kWindows, CountedUse{70'000, 80'000, kHour});
  EXPECT_EQ(raised.hourly_used, 65'535);
  EXPECT_EQ(raised.daily_used, 65'535);
}

}  // namespace
}  // namespace cidrotor::core
