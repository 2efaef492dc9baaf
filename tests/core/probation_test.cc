#include "core/probation.h"

#include <gtest/gtest.h>

#include "core/number_index.h"

namespace cidrotor::core {
namespace {

using std::chrono::hours;

constexpr CompactTime kDay = 86'400;
// A local midnight (compact): 2026-11-25T00:00:00Z.
constexpr CompactTime kMidnight = 1'795'564'800 - 1'577'836'800;

// On probation on the local day [day, day + kDay)?
bool On(CompactTime rest_end, CompactTime day, hours probation) {
  return OnProbation(rest_end, day, day + kDay, probation);
}

TEST(ProbationTest, CoversTheDayTheRestEndsAndEachDayThatStartsBeforeTheProbationEnds) {
  const CompactTime rest_end = kMidnight + 15 * 3600;  // 15:00 on day 1
  // 30 hours: ends at 21:00 on day 2, so days 1 and 2 are on probation, day 3 is not.
  EXPECT_TRUE(On(rest_end, kMidnight, hours(30)));
  EXPECT_TRUE(On(rest_end, kMidnight + kDay, hours(30)));
  EXPECT_FALSE(On(rest_end, kMidnight + 2 * kDay, hours(30)));
  EXPECT_EQ(ProbationEnd(rest_end, hours(30)), rest_end + 30 * 3600);
  // A day wholly inside the rest is not: a resting number counts as resting, not capped.
  EXPECT_FALSE(On(rest_end, kMidnight - kDay, hours(30)));
}

TEST(ProbationTest, NeverRestedOrProbationOffIsNoProbation) {
  EXPECT_FALSE(On(0, kMidnight, hours(48)));
  EXPECT_FALSE(On(kMidnight + 3600, kMidnight, hours(0)));
}

TEST(ProbationTest, AFarRestPlusALongProbationDoesNotWrapAround) {
  EXPECT_EQ(ProbationEnd(UINT32_MAX - 10, hours(1)), UINT32_MAX);
  EXPECT_TRUE(OnProbation(UINT32_MAX - 10, UINT32_MAX - 3600, UINT32_MAX, hours(1)));
}

TEST(ProbationTest, APatchSetsARestOrEndsOneGoingOnAndLeavesOthers) {
  const CompactTime now = kMidnight + 3600;
  EXPECT_EQ(PatchedRestUntil(0, now + 600, now), now + 600);            // rests
  EXPECT_EQ(PatchedRestUntil(now + 600, now + 9000, now), now + 9000);  // moves a rest
  EXPECT_EQ(PatchedRestUntil(now + 600, 0, now), now);                  // ends it now
  EXPECT_EQ(PatchedRestUntil(now - 600, 0, now), now - 600);            // nothing to end
  EXPECT_EQ(PatchedRestUntil(0, 0, now), 0u);
  // An automatic rest never shortens, moves or ends a rest going on; else it rests as asked.
  EXPECT_EQ(PatchedRestUntil(now + 600, now + 9000, now, true), now + 600);
  EXPECT_EQ(PatchedRestUntil(now - 600, now + 9000, now, true), now + 9000);
}

TEST(ProbationTest, TheDailyCapIsTheSmallestOfFullWarmAndProbation) {
  IndexOptions options;
  options.warmup_days = 4;
  options.probation = hours(24);
  options.probation_daily_cap = 20;
  const auto day = [](CompactTime start) {
    return Windows{FromCompact(start), FromCompact(start + 3600), FromCompact(start),
                   FromCompact(start + kDay)};
  };
  NumberUsage usage;
  EXPECT_EQ(DailyCapOn(day(kMidnight), 500, usage, options), 500);  // established, never rested
  usage.warm_from = kMidnight;
  EXPECT_EQ(DailyCapOn(day(kMidnight), 500, usage, options), 100);  // warm-up day 1
  usage.rest_until = kMidnight + 3600;
  EXPECT_TRUE(OnProbationOn(day(kMidnight), usage, options));
  EXPECT_EQ(DailyCapOn(day(kMidnight), 500, usage, options), 20);  // and on probation
  EXPECT_EQ(DailyCapOn(day(kMidnight), 10, usage, options), 2);    // 10/5: below the budget
  EXPECT_EQ(DailyCapOn(day(kMidnight + 2 * kDay), 500, usage, options), 300);  // probation over
}

}  // namespace
}  // namespace cidrotor::core
