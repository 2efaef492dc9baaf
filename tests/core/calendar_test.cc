#include "core/calendar.h"

#include <gtest/gtest.h>

namespace cidrotor::core {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// 2026-11-25T14:30:15Z
const TimePoint kInstant = TimePoint(Seconds(1'795'617'015));

TEST(FixedOffsetCalendarTest, UtcWindows) {
  FixedOffsetCalendar utc;
  const Windows w = utc.WindowsAt(kInstant);
  EXPECT_EQ(w.hour_start, TimePoint(Seconds(1'795'615'200)));  // 14:00Z
  EXPECT_EQ(w.next_hour - w.hour_start, hours(1));
  EXPECT_EQ(w.day_start, TimePoint(Seconds(1'795'564'800)));  // 00:00Z
  EXPECT_EQ(w.next_day - w.day_start, hours(24));
  EXPECT_TRUE(w.Contains(kInstant));
}

TEST(FixedOffsetCalendarTest, HalfHourZoneShiftsHourAndDay) {
  FixedOffsetCalendar kolkata(minutes(330));  // UTC+05:30: local 20:00:15
  const Windows w = kolkata.WindowsAt(kInstant);
  EXPECT_EQ(w.hour_start, TimePoint(Seconds(1'795'617'000)));            // 14:30Z = 20:00 local
  EXPECT_EQ(w.day_start, TimePoint(Seconds(1'795'564'800 - 330 * 60)));  // local midnight
}

TEST(FixedOffsetCalendarTest, InstantAtWindowStartBelongsToIt) {
  FixedOffsetCalendar utc;
  const TimePoint start = TimePoint(Seconds(1'795'615'200));
  EXPECT_EQ(utc.WindowsAt(start).hour_start, start);
  EXPECT_EQ(utc.WindowsAt(start - Milliseconds(1)).next_hour, start);
}

}  // namespace
}  // namespace cidrotor::core
