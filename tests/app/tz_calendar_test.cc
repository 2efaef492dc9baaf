// TzCalendar: local hour and day windows of a real time zone, on normal days, on DST days
// (23- and 25-hour days in America/New_York, the hour after the spring-forward gap, the repeated
// hour of the fall-back) and in a half-hour zone (Asia/Kolkata).
#include "app/tz_calendar.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>

namespace cidrotor::app {
namespace {

using core::TimePoint;
using std::chrono::hours;
using std::chrono::minutes;

// An instant given in UTC: Utc(2026, 3, 8, 6, 30) is 2026-03-08T06:30Z.
TimePoint Utc(int y, unsigned m, unsigned d, int h = 0, int min = 0) {
  return TimePoint(date::sys_days(date::year(y) / m / d)) + hours(h) + minutes(min);
}

std::unique_ptr<TzCalendar> Open(const char* zone) {
  auto calendar = TzCalendar::Open(zone);
  EXPECT_TRUE(calendar.has_value()) << zone;
  return calendar ? std::move(*calendar) : nullptr;
}

TEST(TzCalendarTest, UnknownZoneIsAConfigErrorNamingTimezone) {
  auto calendar = TzCalendar::Open("Mars/Olympus_Mons");
  ASSERT_FALSE(calendar.has_value());
  EXPECT_EQ(calendar.error().field(), "TIMEZONE");
  EXPECT_NE(calendar.error().detail().find("Mars/Olympus_Mons"), std::string::npos);
}

TEST(TzCalendarTest, UtcMatchesFixedOffsetCalendar) {
  auto utc = Open("UTC");
  ASSERT_TRUE(utc);
  const core::FixedOffsetCalendar fixed;
  for (TimePoint t = Utc(2026, 1, 1); t < Utc(2026, 1, 3); t += minutes(37)) {
    const auto a = utc->WindowsAt(t);
    const auto b = fixed.WindowsAt(t);
    EXPECT_EQ(a.hour_start, b.hour_start);
    EXPECT_EQ(a.next_hour, b.next_hour);
    EXPECT_EQ(a.day_start, b.day_start);
    EXPECT_EQ(a.next_day, b.next_day);
  }
}

TEST(TzCalendarTest, NewYorkNormalDayHas24Hours) {
  auto ny = Open("America/New_York");
  ASSERT_TRUE(ny);
  const auto w = ny->WindowsAt(Utc(2026, 1, 15, 17, 42));  // 12:42 EST
  EXPECT_EQ(w.day_start, Utc(2026, 1, 15, 5));
  EXPECT_EQ(w.next_day - w.day_start, hours(24));
  EXPECT_EQ(w.hour_start, Utc(2026, 1, 15, 17));
  EXPECT_EQ(w.next_hour, Utc(2026, 1, 15, 18));
}

TEST(TzCalendarTest, SpringForwardDayHas23Hours) {
  auto ny = Open("America/New_York");
  ASSERT_TRUE(ny);
  const auto w = ny->WindowsAt(Utc(2026, 3, 8, 16));  // noon EDT
  EXPECT_EQ(w.day_start, Utc(2026, 3, 8, 5));         // midnight EST
  EXPECT_EQ(w.next_day, Utc(2026, 3, 9, 4));          // midnight EDT
  EXPECT_EQ(w.next_day - w.day_start, hours(23));
}

TEST(TzCalendarTest, HourAfterTheSpringForwardGapFollowsDirectly) {
  auto ny = Open("America/New_York");
  ASSERT_TRUE(ny);
  // 01:30 EST: the last hour before the gap.
  const auto before = ny->WindowsAt(Utc(2026, 3, 8, 6, 30));
  EXPECT_EQ(before.hour_start, Utc(2026, 3, 8, 6));
  EXPECT_EQ(before.next_hour, Utc(2026, 3, 8, 7));
  // 03:15 EDT: the local hour 03:00-04:00, which starts where 01:00-02:00 EST ended.
  const auto after = ny->WindowsAt(Utc(2026, 3, 8, 7, 15));
  EXPECT_EQ(after.hour_start, Utc(2026, 3, 8, 7));
  EXPECT_EQ(after.next_hour, Utc(2026, 3, 8, 8));
  EXPECT_EQ(after.day_start, before.day_start);
}

TEST(TzCalendarTest, FallBackDayHas25HoursAndTheRepeatedHourIsTwoWindows) {
  auto ny = Open("America/New_York");
  ASSERT_TRUE(ny);
  const auto w = ny->WindowsAt(Utc(2026, 11, 1, 17));  // noon EST
  EXPECT_EQ(w.day_start, Utc(2026, 11, 1, 4));         // midnight EDT
  EXPECT_EQ(w.next_day, Utc(2026, 11, 2, 5));          // midnight EST
  EXPECT_EQ(w.next_day - w.day_start, hours(25));

  const auto first = ny->WindowsAt(Utc(2026, 11, 1, 5, 30));   // 01:30 EDT
  const auto second = ny->WindowsAt(Utc(2026, 11, 1, 6, 30));  // 01:30 EST
  EXPECT_EQ(first.hour_start, Utc(2026, 11, 1, 5));
  EXPECT_EQ(first.next_hour, Utc(2026, 11, 1, 6));
  EXPECT_EQ(second.hour_start, Utc(2026, 11, 1, 6));
  EXPECT_EQ(second.next_hour, Utc(2026, 11, 1, 7));
}

TEST(TzCalendarTest, KolkataHalfHourOffset) {
  auto kolkata = Open("Asia/Kolkata");
  ASSERT_TRUE(kolkata);
  const auto w = kolkata->WindowsAt(Utc(2026, 1, 15, 10, 10));  // 15:40 IST
  EXPECT_EQ(w.hour_start, Utc(2026, 1, 15, 9, 30));             // 15:00 IST
  EXPECT_EQ(w.next_hour, Utc(2026, 1, 15, 10, 30));
  EXPECT_EQ(w.day_start, Utc(2026, 1, 14, 18, 30));  // midnight IST
  EXPECT_EQ(w.next_day, Utc(2026, 1, 15, 18, 30));
}

TEST(TzCalendarTest, CacheNeverReturnsAStaleWindow) {
  auto ny = Open("America/New_York");
  ASSERT_TRUE(ny);
  const TimePoint a = Utc(2026, 3, 8, 6, 59);
  const TimePoint b = Utc(2026, 3, 8, 7, 0);
  EXPECT_EQ(ny->WindowsAt(a).hour_start, Utc(2026, 3, 8, 6));
  EXPECT_EQ(ny->WindowsAt(b).hour_start, Utc(2026, 3, 8, 7));
  EXPECT_EQ(ny->WindowsAt(a).hour_start, Utc(2026, 3, 8, 6));
  EXPECT_EQ(ny->WindowsAt(a).day_start, Utc(2026, 3, 8, 5));
}

// Walks a whole year in 10-minute steps: windows contain the instant, nest, tile time without
// gaps or overlaps, and the year has 365 days of which one has 23 and one 25 hours.
void CheckYear(const char* zone, int expect_23h_days, int expect_25h_days) {
  auto calendar = Open(zone);
  ASSERT_TRUE(calendar);
  std::set<TimePoint> day_starts;
  int short_days = 0;
  int long_days = 0;
  core::Windows previous = calendar->WindowsAt(Utc(2026, 1, 1));
  for (TimePoint t = Utc(2026, 1, 1); t < Utc(2027, 1, 1); t += minutes(10)) {
    const auto w = calendar->WindowsAt(t);
    ASSERT_LE(w.hour_start, t) << zone;
    ASSERT_LT(t, w.next_hour) << zone;
    ASSERT_LE(w.day_start, w.hour_start) << zone;
    ASSERT_LE(w.next_hour, w.next_day) << zone;
    ASSERT_LE(w.next_hour - w.hour_start, hours(1)) << zone;
    if (w.hour_start != previous.hour_start) {
      ASSERT_EQ(w.hour_start, previous.next_hour) << zone << " gap or overlap between hours";
    }
    if (w.day_start != previous.day_start) {
      ASSERT_EQ(w.day_start, previous.next_day) << zone << " gap or overlap between days";
    }
    if (day_starts.insert(w.day_start).second) {
      const auto length = w.next_day - w.day_start;
      if (length == hours(23)) ++short_days;
      if (length == hours(25)) ++long_days;
    }
    previous = w;
  }
  EXPECT_EQ(short_days, expect_23h_days) << zone;
  EXPECT_EQ(long_days, expect_25h_days) << zone;
}

TEST(TzCalendarTest, WindowsTileAYearInNewYork) { CheckYear("America/New_York", 1, 1); }
TEST(TzCalendarTest, WindowsTileAYearInKolkata) { CheckYear("Asia/Kolkata", 0, 0); }
// Cuba changes clocks at midnight: the skipped or repeated hour is the first of a day.
TEST(TzCalendarTest, WindowsTileAYearInHavana) { CheckYear("America/Havana", 1, 1); }

}  // namespace
}  // namespace cidrotor::app
