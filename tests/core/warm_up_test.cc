#include "core/warm_up.h"

#include <gtest/gtest.h>

#include <string>

#include "core/number_index.h"
#include "support/matchers.h"

namespace cidrotor::core {
namespace {

using std::chrono::hours;
using testing::HasError;
using testing::IsOk;

constexpr CompactTime kDay = 86'400;
// A local midnight (compact): 2026-11-25T00:00:00Z.
constexpr CompactTime kMidnight = 1'795'564'800 - 1'577'836'800;

TEST(WarmUpTest, TheCapGrowsByAnEqualShareEachDayThenIsFull) {
  // WARMUP_DAYS=4, cap 500: 100, 200, 300, 400, then 500.
  for (std::uint16_t day = 1; day <= 5; ++day) {
    const CompactTime today = kMidnight + (day - 1U) * kDay;
    const std::uint16_t on = WarmupDay(kMidnight, today, 4);
    EXPECT_EQ(on, day <= 4 ? day : 0) << "day " << day;
    EXPECT_EQ(WarmDailyCap(500, on, 4), 100 * day) << "day " << day;
  }
  EXPECT_EQ(WarmupDay(kMidnight, kMidnight + 400 * kDay, 4), 0);
}

TEST(WarmUpTest, SharesRoundUpAndNeverFallBelowOne) {
  EXPECT_EQ(WarmDailyCap(10, 1, 2), 4);               // 10/3 = 3.33
  EXPECT_EQ(WarmDailyCap(1, 1, 30), 1);               // 1/31, at least one call a day
  EXPECT_EQ(WarmDailyCap(65'535, 365, 365), 65'356);  // no overflow at the largest values
  EXPECT_EQ(WarmDailyCap(7, 0, 5), 7);                // not warming: the full cap
}

TEST(WarmUpTest, OffEstablishedOrAClockSetBackNeverMisreadTheDay) {
  EXPECT_EQ(WarmupDay(kMidnight, kMidnight, 0), 0);         // WARMUP_DAYS=0: off
  EXPECT_EQ(WarmupDay(0, kMidnight, 5), 0);                 // established
  EXPECT_EQ(WarmupDay(kMidnight, kMidnight - kDay, 5), 1);  // a start "tomorrow": day 1
}

TEST(WarmUpTest, DaysOfTwentyThreeOrTwentyFiveHoursCountAsOne) {
  // Local midnights across a DST change are 23 or 25 hours apart.
  EXPECT_EQ(WarmupDay(kMidnight, kMidnight + kDay - 3'600, 5), 2);
  EXPECT_EQ(WarmupDay(kMidnight, kMidnight + kDay + 3'600, 5), 2);
  EXPECT_EQ(WarmupDay(kMidnight, kMidnight + 2 * kDay - 3'600, 5), 3);
}

TEST(WarmUpTest, ANumberWithAHistoryArrivesEstablished) {
  NumberUsage fresh;
  EXPECT_EQ(ArrivingUsage(fresh, kMidnight).warm_from, kMidnight);
  NumberUsage named;
  named.warm_from = kMidnight - kDay;
  EXPECT_EQ(ArrivingUsage(named, kMidnight).warm_from, kMidnight - kDay);
  NumberUsage used;
  used.last_used = kMidnight - 10;
  used.warm_from = kMidnight;
  EXPECT_EQ(ArrivingUsage(used, kMidnight).warm_from, 0U);
}

// The index applies the ramp through its windows: a new number's daily cap is today's share.
class WarmingIndexTest : public ::testing::Test {
 protected:
  WarmingIndexTest() : index_(calendar_, Options()) {}

  static IndexOptions Options() {
    IndexOptions options{100, 500, Seconds(300)};
    options.warmup_days = 2;
    return options;
  }

  static NumberSpec Spec(const std::string& number, std::uint16_t daily) {
    NumberSpec spec;
    spec.caller_id = *PhoneNumber::ParsePoolNumber(number);
    spec.daily_cap = daily;
    return spec;
  }

  // Allocates and releases until the pool has nothing for 212; returns how many calls it made.
  int CallsUntilDry() {
    int calls = 0;
    for (; calls < 100; ++calls) {
      AllocationRequest request;
      request.destination = *PhoneNumber::ParseDestination("2125559999");
      auto a = index_.Allocate(request, now_, next_id_++);
      if (!a) {
        EXPECT_THAT(a, HasError(ErrorCode::kNoCallerIdAvailable));
        break;
      }
      ReleaseRequest release;
      release.reservation_id = a->reservation.id;
      EXPECT_THAT(index_.Release(release, now_), IsOk());
    }
    return calls;
  }

  FixedOffsetCalendar calendar_;
  NumberIndex index_;
  // 2026-11-25T14:00:00Z.
  TimePoint now_ = TimePoint(Seconds(1'795'615'200));
  std::uint64_t next_id_ = 1;
};

TEST_F(WarmingIndexTest, ANewNumbersDailyCapRampsDayByDay) {
  auto view = index_.Add(Spec("2125550001", 9), NumberUsage{}, now_);
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->warmup_day, 1);
  EXPECT_EQ(view->daily_cap_today, 3);  // ceil(9 * 1/3)
  EXPECT_EQ(CallsUntilDry(), 3);
  now_ += hours(24);
  EXPECT_EQ(index_.Find(*PhoneNumber::ParsePoolNumber("2125550001"), now_)->warmup_day, 2);
  EXPECT_EQ(CallsUntilDry(), 6);
  now_ += hours(24);
  const auto warm = index_.Find(*PhoneNumber::ParsePoolNumber("2125550001"), now_);
  EXPECT_EQ(warm->warmup_day, 0);
  EXPECT_EQ(warm->daily_cap_today, 9);
  EXPECT_EQ(CallsUntilDry(), 9);
}

TEST_F(WarmingIndexTest, AChangeKeepsTheWarmUpAndAnImportedHistoryHasNone) {
  ASSERT_THAT(index_.Add(Spec("2125550001", 9), NumberUsage{}, now_), IsOk());
  NumberPatch patch;
  patch.carrier = "Acme";
  auto changed = index_.Update(*PhoneNumber::ParsePoolNumber("2125550001"), patch, now_);
  ASSERT_THAT(changed, IsOk());
  EXPECT_EQ(changed->warmup_day, 1);

  NumberUsage history;
  history.last_used = ToCompact(now_) - 600;
  auto established = index_.Add(Spec("3105550001", 9), history, now_);
  ASSERT_THAT(established, IsOk());
  EXPECT_EQ(established->warmup_day, 0);
  EXPECT_EQ(established->daily_cap_today, 9);
}

TEST_F(WarmingIndexTest, LoadTakesTheStoredStartAsItIs) {
  NumberUsage stored;
  stored.warm_from = ToCompact(calendar_.WindowsAt(now_ - hours(24)).day_start);
  ASSERT_THAT(index_.Load(Spec("2125550001", 9), stored, now_), IsOk());
  ASSERT_THAT(index_.Load(Spec("2125550002", 9), NumberUsage{}, now_), IsOk());
  EXPECT_EQ(index_.Find(*PhoneNumber::ParsePoolNumber("2125550001"), now_)->warmup_day, 2);
  EXPECT_EQ(index_.Find(*PhoneNumber::ParsePoolNumber("2125550002"), now_)->warmup_day, 0);
}

}  // namespace
}  // namespace cidrotor::core
