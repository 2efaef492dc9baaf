// AvailabilityWatch (service/availability_watch.h): which changes of the available counts give a
// webhook event, and the event's JSON.
#include "service/availability_watch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cidrotor::service {
namespace {

const core::TimePoint kNow = core::TimePoint(core::Seconds(1'795'615'200));  // 2026-11-25T14:00Z

store::StoreStats Stats(std::uint32_t available_212, std::uint32_t available_pool) {
  store::StoreStats stats;
  stats.area_codes.push_back({212, 40, 40, available_212});
  stats.pools.push_back({"east", 50, 50, available_pool});
  return stats;
}

std::vector<std::string> Names(const std::vector<AvailabilityEvent>& events) {
  std::vector<std::string> names;
  for (const auto& e : events) names.push_back(EventName(e));
  return names;
}

TEST(AvailabilityWatchTest, TheFirstSnapshotOnlySetsTheLevels) {
  AvailabilityWatch watch(5);
  EXPECT_THAT(watch.Update(Stats(0, 2), kNow), ::testing::IsEmpty());  // already dry and low
  EXPECT_THAT(watch.Update(Stats(0, 2), kNow), ::testing::IsEmpty());  // unchanged
}

TEST(AvailabilityWatchTest, DropsGiveLowThenDryAndTheWayBackGivesRecovered) {
  AvailabilityWatch watch(5);  // recovered at 5 + 3 = 8
  (void)watch.Update(Stats(10, 10), kNow);
  EXPECT_THAT(Names(watch.Update(Stats(4, 10), kNow)), ::testing::ElementsAre("area_code_low"));
  EXPECT_THAT(watch.Update(Stats(3, 10), kNow), ::testing::IsEmpty());  // still low
  EXPECT_THAT(Names(watch.Update(Stats(0, 4), kNow)),
              ::testing::ElementsAre("area_code_dry", "pool_low"));
  EXPECT_THAT(watch.Update(Stats(1, 4), kNow), ::testing::IsEmpty());  // dry until recovered
  EXPECT_THAT(watch.Update(Stats(0, 4), kNow), ::testing::IsEmpty());  // so no second dry
  EXPECT_THAT(Names(watch.Update(Stats(5, 0), kNow)), ::testing::ElementsAre("pool_dry"));
  EXPECT_THAT(watch.Update(Stats(7, 7), kNow), ::testing::IsEmpty());  // not yet back at 8
  EXPECT_THAT(Names(watch.Update(Stats(8, 9), kNow)),
              ::testing::ElementsAre("area_code_recovered", "pool_recovered"));
}

// Cluster mode: the instance whose turn it is goes on from the levels the last check saved.
TEST(AvailabilityWatchTest, AnotherWatchGoesOnFromTheSavedLevels) {
  AvailabilityWatch first(5);
  EXPECT_EQ(first.SaveLevels(), "");  // nothing to go on from before a snapshot
  (void)first.Update(Stats(10, 10), kNow);
  EXPECT_EQ(first.SaveLevels(), "cidrotor-levels 2\n");  // every level ok
  (void)first.Update(Stats(0, 4), kNow);
  const std::string saved = first.SaveLevels();
  EXPECT_EQ(saved, "cidrotor-levels 2\na 212 dry 0\np east low 0\n");

  AvailabilityWatch next(5);
  ASSERT_TRUE(next.RestoreLevels(saved));
  EXPECT_EQ(next.SaveLevels(), saved);
  EXPECT_THAT(next.Update(Stats(1, 3), kNow), ::testing::IsEmpty());  // what `first` sent
  EXPECT_THAT(Names(next.Update(Stats(8, 0), kNow)),
              ::testing::ElementsAre("area_code_recovered", "pool_dry"));

  // Saved "ok" for everything: not a first snapshot, so a drop is sent.
  AvailabilityWatch fresh(5);
  ASSERT_TRUE(fresh.RestoreLevels("cidrotor-levels 2\n"));
  EXPECT_THAT(Names(fresh.Update(Stats(4, 10), kNow)), ::testing::ElementsAre("area_code_low"));

  // An older instance's levels (version 1, without the counts) are read too.
  AvailabilityWatch upgraded(5);
  ASSERT_TRUE(upgraded.RestoreLevels("cidrotor-levels 1\na 212 dry\np east low\n"));
  EXPECT_EQ(upgraded.SaveLevels(), saved);
}

// Cluster mode restores the shared levels before every check, each check on whichever instance
// holds the turn: a small key's checks with every number free add up across them (they were
// lost, so a small area code never left dry and its next run dry went unreported).
TEST(AvailabilityWatchTest, ASmallKeysFreeChecksAddUpAcrossInstances) {
  const auto small = [](std::uint32_t active, std::uint32_t available) {
    store::StoreStats stats;
    stats.area_codes.push_back({617, active, active, available});
    return stats;
  };
  std::string shared;
  std::vector<std::string> sent;
  const auto check = [&](std::uint32_t available) {
    AvailabilityWatch watch(5);  // a new instance's turn each time
    if (!shared.empty()) {
      EXPECT_TRUE(watch.RestoreLevels(shared)) << shared;
    }
    for (const auto& name : Names(watch.Update(small(3, available), kNow))) sent.push_back(name);
    shared = watch.SaveLevels();
  };
  check(3);  // first: low, silently
  check(0);
  for (int i = 0; i < 6; ++i) check(3);
  check(0);
  EXPECT_THAT(sent, ::testing::ElementsAre("area_code_dry", "area_code_low", "area_code_dry"));
}

TEST(AvailabilityWatchTest, RestoringAnythingElseChangesNothing) {
  AvailabilityWatch watch(5);
  (void)watch.Update(Stats(4, 10), kNow);
  const std::string before = watch.SaveLevels();
  for (const char* text :
       {"", "a 212 low\n", "cidrotor-levels 3\n", "cidrotor-levels 1\na 212 gone\n",
        "cidrotor-levels 1\na 21x low\n", "cidrotor-levels 1\nq 212 low\n",
        "cidrotor-levels 1\na 212 low x\n", "cidrotor-levels 1\na 212\n",
        "cidrotor-levels 1\np  low\n", "cidrotor-levels 1\n\n", "cidrotor-levels 2\na 212 low\n",
        "cidrotor-levels 2\na 212 low 7\n", "cidrotor-levels 2\na 212 low x\n",
        "cidrotor-levels 2\na 212 low 1 2\n", "cidrotor-levels 2\na 1000 low 1\n"}) {
    EXPECT_FALSE(watch.RestoreLevels(text)) << text;
    EXPECT_EQ(watch.SaveLevels(), before) << text;
  }
  AvailabilityWatch unused(5);
  EXPECT_FALSE(unused.RestoreLevels("garbage"));
  EXPECT_THAT(unused.Update(Stats(0, 0), kNow), ::testing::IsEmpty());  // still its first
}

TEST(AvailabilityWatchTest, ACountHoveringAroundTheThresholdWarnsOnce) {
  AvailabilityWatch watch(5);
  (void)watch.Update(Stats(10, 10), kNow);
  EXPECT_THAT(Names(watch.Update(Stats(4, 10), kNow)), ::testing::ElementsAre("area_code_low"));
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(watch.Update(Stats(5, 10), kNow), ::testing::IsEmpty());
    EXPECT_THAT(watch.Update(Stats(4, 10), kNow), ::testing::IsEmpty());
  }
  EXPECT_THAT(Names(watch.Update(Stats(8, 10), kNow)),
              ::testing::ElementsAre("area_code_recovered"));
  // ok at 5..7 after a recovery: low again only below the threshold.
  EXPECT_THAT(watch.Update(Stats(5, 10), kNow), ::testing::IsEmpty());
}

// An area code of 1 or 3 numbers can never be back at threshold + threshold/2: once all of its
// numbers have been free for 6 checks in a row it leaves dry (to low: still short), so the next
// run dry is reported again; a number in use meanwhile starts the count over.
TEST(AvailabilityWatchTest, ASmallKeyLeavesDryOnceAllItsNumbersStayFree) {
  AvailabilityWatch watch(5);
  const auto small = [](std::uint32_t active, std::uint32_t available) {
    store::StoreStats stats;
    stats.area_codes.push_back({303, active, active, available});
    return stats;
  };
  (void)watch.Update(small(1, 1), kNow);  // first: low, silently
  EXPECT_THAT(Names(watch.Update(small(1, 0), kNow)), ::testing::ElementsAre("area_code_dry"));
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 5; ++i) EXPECT_THAT(watch.Update(small(1, 1), kNow), ::testing::IsEmpty());
    if (round == 0) {
      EXPECT_THAT(watch.Update(small(1, 0), kNow), ::testing::IsEmpty());  // dry again: counts over
    }
  }
  EXPECT_THAT(Names(watch.Update(small(1, 1), kNow)), ::testing::ElementsAre("area_code_low"));
  EXPECT_THAT(watch.Update(small(1, 1), kNow), ::testing::IsEmpty());  // low stays low
  EXPECT_THAT(Names(watch.Update(small(1, 0), kNow)), ::testing::ElementsAre("area_code_dry"));

  // 6 numbers against a threshold of 5: back to ok, once all 6 stayed free.
  AvailabilityWatch six(5);
  (void)six.Update(small(6, 6), kNow);
  EXPECT_THAT(Names(six.Update(small(6, 4), kNow)), ::testing::ElementsAre("area_code_low"));
  for (int i = 0; i < 5; ++i) EXPECT_THAT(six.Update(small(6, 6), kNow), ::testing::IsEmpty());
  EXPECT_THAT(Names(six.Update(small(6, 6), kNow)), ::testing::ElementsAre("area_code_recovered"));
  EXPECT_EQ(six.SaveLevels(), "cidrotor-levels 2\n");
}

TEST(AvailabilityWatchTest, ANewKeyStartsFromOkAndAGoneOneIsForgotten) {
  AvailabilityWatch watch(5);
  (void)watch.Update(Stats(10, 10), kNow);
  store::StoreStats stats = Stats(10, 10);
  stats.area_codes.push_back({310, 2, 2, 2});  // numbers added to a new area code: few
  const auto events = watch.Update(stats, kNow);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].area_code, 310u);
  EXPECT_EQ(EventName(events[0]), "area_code_low");
  EXPECT_THAT(watch.Update(Stats(10, 10), kNow), ::testing::IsEmpty());  // 310 gone: silent
  EXPECT_THAT(Names(watch.Update(stats, kNow)), ::testing::ElementsAre("area_code_low"));
}

TEST(AvailabilityWatchTest, EventJsonCarriesTheCountsAndTheTime) {
  AvailabilityEvent area;
  area.kind = AvailabilityEventKind::kDry;
  area.area_code = 212;
  area.active = 40;
  area.threshold = 5;
  area.at = kNow;
  EXPECT_EQ(EventJson(area),
            R"({"event":"area_code_dry","area_code":"212","available":0,"active":40,)"
            R"("threshold":5,"at":"2026-11-25T14:00:00Z"})");
  AvailabilityEvent pool;
  pool.kind = AvailabilityEventKind::kRecovered;
  pool.pool = "east";
  pool.available = 9;
  pool.active = 9;
  pool.threshold = 5;
  pool.at = kNow;
  EXPECT_EQ(EventJson(pool), R"({"event":"pool_recovered","pool":"east","available":9,"active":9,)"
                             R"("threshold":5,"at":"2026-11-25T14:00:00Z"})");
}

}  // namespace
}  // namespace cidrotor::service
