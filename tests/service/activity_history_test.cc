// The dashboard's activity: the store's history up to a cut joined to this process's counts after
// it (MergeActivity), and one read of the history at a time, at most once a minute, answered from
// the last one meanwhile (ActivityHistory). Time and the store's reads come from the tests.
#include "service/activity_history.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace cidrotor::service {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// 2026-03-01T12:00:00Z, a minute boundary.
constexpr core::TimePoint kNoon{seconds(1'772'366'400)};
constexpr std::int64_t kNoonMinute = 1'772'366'400 / 60;

core::Allocation AllocationFor(std::string campaign, std::string agent) {
  core::Allocation allocation;
  allocation.reservation.campaign = std::move(campaign);
  allocation.reservation.agent = std::move(agent);
  return allocation;
}

const ActivityRow* Find(const std::vector<ActivityRow>& rows, std::string_view name) {
  for (const auto& row : rows) {
    if (row.name == name) return &row;
  }
  return nullptr;
}

TEST(MergeActivityTest, HistoryBeforeTheCutThisProcessFromIt) {
  AllocationTelemetry live;
  // This process before the cut (already in the history, must not count twice) and after it.
  live.RecordAllocated(AllocationFor("sales", "a1"), {}, kNoon - minutes(2));
  live.RecordAllocated(AllocationFor("sales", "a1"), {}, kNoon);
  live.RecordAllocated(AllocationFor("support", "a2"), {}, kNoon + seconds(70));
  ActivityHistoryRead history{kNoon, {}};
  history.data.minutes = {{kNoonMinute - 300, 4}, {kNoonMinute - 2, 9}, {kNoonMinute - 1, 5}};
  history.data.pairs = {{"sales", "a1", 7, kNoon - minutes(1)},
                        {"sales", "a3", 5, kNoon - hours(20)},
                        {"", "a3", 2, kNoon - hours(3)}};
  history.data.unlisted = 3;

  const LiveActivity view = MergeActivity(&history, live, kNoon + seconds(90));
  ASSERT_EQ(view.per_minute.size(), MinuteSeries::kMinutes);
  EXPECT_EQ(view.first_minute, (kNoonMinute + 1 - 359) * 60);
  // Oldest first; the last two slots are the cut's minute and the next: this process's.
  EXPECT_EQ(view.per_minute[359 - 301], 4U);
  EXPECT_EQ(view.per_minute[359 - 3], 9U) << "the history's, not this process's 1";
  EXPECT_EQ(view.per_minute[359 - 2], 5U);
  EXPECT_EQ(view.per_minute[359 - 1], 1U);
  EXPECT_EQ(view.per_minute[359], 1U);

  const auto& campaigns = view.names.campaigns;
  ASSERT_EQ(campaigns.size(), 4U);
  EXPECT_EQ(campaigns[0].name, "sales");
  EXPECT_EQ(campaigns[0].allocations, 13U);  // 7 + 5 history, + 1 since the cut
  EXPECT_EQ(campaigns[0].last_allocation, kNoon);
  EXPECT_EQ(Find(campaigns, "")->allocations, 2U);
  EXPECT_EQ(Find(campaigns, "support")->allocations, 1U);
  EXPECT_EQ(Find(campaigns, RecentActivity::kOther)->allocations, 3U);
  EXPECT_EQ(Find(view.names.agents, "a1")->allocations, 8U);
  EXPECT_EQ(Find(view.names.agents, "a3")->allocations, 7U);
  EXPECT_EQ(Find(view.names.agents, RecentActivity::kOther)->allocations, 3U);
}

TEST(MergeActivityTest, WithoutHistoryTheViewIsThisProcesssOwn) {
  AllocationTelemetry live;
  live.RecordAllocated(AllocationFor("sales", "a1"), {}, kNoon - minutes(2));
  live.RecordAllocated(AllocationFor("sales", "a1"), {}, kNoon);
  const LiveActivity view = MergeActivity(nullptr, live, kNoon);
  EXPECT_EQ(view.per_minute[359 - 2], 1U);
  EXPECT_EQ(view.per_minute[359], 1U);
  ASSERT_EQ(view.names.campaigns.size(), 1U);
  EXPECT_EQ(view.names.campaigns[0].allocations, 2U);
}

TEST(ActivityQueryTest, PairsOfADayMinutesOfTheChartBothEndingAtTheCut) {
  const store::ActivityQuery query = ActivityQueryAt(kNoon);
  EXPECT_EQ(query.until, kNoon);
  EXPECT_EQ(query.pairs_since, kNoon - hours(24));
  EXPECT_EQ(query.minutes_since, kNoon - minutes(MinuteSeries::kMinutes));
}

// A store read the test finishes when it wants.
struct PendingReads {
  std::vector<store::ActivityQuery> queries;
  std::vector<store::Callback<store::ActivityData>> finish;
  ActivityHistory::Fetch Fetch() {
    return [this](store::ActivityQuery query, store::Callback<store::ActivityData> done) {
      queries.push_back(query);
      finish.push_back(std::move(done));
    };
  }
};

struct Answer {
  std::optional<ActivityHistory::ReadPtr> read;
  std::function<void(ActivityHistory::ReadPtr)> Callback() {
    return [this](ActivityHistory::ReadPtr r) { read = std::move(r); };
  }
};

TEST(ActivityHistoryTest, FirstViewWaitsThenTheLastReadIsAnsweredWhileTheNextIsRead) {
  ActivityHistory history;
  PendingReads store;
  Answer first;
  Answer second;
  const core::TimePoint now = kNoon + seconds(5);
  history.Get(now, store.Fetch(), first.Callback());
  history.Get(now, store.Fetch(), second.Callback());
  ASSERT_EQ(store.queries.size(), 1U) << "one read at a time";
  // Cut at a minute's start at least kSettle back: 11:59, since kNoon + 5 s - 10 s is 11:59:55.
  EXPECT_EQ(store.queries[0].until, kNoon - minutes(1));
  EXPECT_FALSE(first.read.has_value()) << "nothing read yet: the first view waits";
  store::ActivityData data;
  data.unlisted = 1;
  store.finish[0](data);
  ASSERT_TRUE(first.read.has_value() && *first.read != nullptr);
  EXPECT_EQ((*first.read)->cut, kNoon - minutes(1));
  EXPECT_EQ((*first.read)->data.unlisted, 1U);
  EXPECT_EQ(*second.read, *first.read);

  Answer fresh;
  history.Get(now + seconds(59), store.Fetch(), fresh.Callback());
  EXPECT_EQ(store.queries.size(), 1U) << "a minute has not passed";
  EXPECT_EQ(*fresh.read, *first.read);

  Answer stale;
  history.Get(now + seconds(60), store.Fetch(), stale.Callback());
  ASSERT_EQ(store.queries.size(), 2U);
  EXPECT_EQ(*stale.read, *first.read) << "answered at once from the last read";
  data.unlisted = 2;
  store.finish[1](data);
  Answer newer;
  history.Get(now + seconds(61), store.Fetch(), newer.Callback());
  EXPECT_EQ((*newer.read)->data.unlisted, 2U);
  EXPECT_EQ((*newer.read)->cut, kNoon);
}

TEST(ActivityHistoryTest, AFailedReadKeepsTheLastOneAndIsRetriedLater) {
  ActivityHistory history;
  PendingReads store;
  Answer none;
  history.Get(kNoon, store.Fetch(), none.Callback());
  store.finish[0](core::Fail(core::Error::Unavailable("down")));
  ASSERT_TRUE(none.read.has_value());
  EXPECT_EQ(*none.read, nullptr) << "no history: the view is the process's own";

  Answer soon;
  history.Get(kNoon + ActivityHistory::kRetryAfter - seconds(1), store.Fetch(), soon.Callback());
  EXPECT_EQ(store.queries.size(), 1U) << "a failed read is not retried at once";
  EXPECT_EQ(*soon.read, nullptr);

  Answer retried;
  history.Get(kNoon + ActivityHistory::kRetryAfter, store.Fetch(), retried.Callback());
  ASSERT_EQ(store.queries.size(), 2U);
  store.finish[1](store::ActivityData{});
  ASSERT_NE(*retried.read, nullptr);

  // Later failures keep the history read last.
  Answer kept;
  history.Get(kNoon + hours(1), store.Fetch(), kept.Callback());
  store.finish[2](core::Fail(core::Error::Unavailable("down")));
  EXPECT_EQ(*kept.read, *retried.read);
}

TEST(ActivityHistoryTest, AReadEndingAfterTheHistoryIsGoneIsHarmless) {
  PendingReads store;
  {
    ActivityHistory history;
    Answer first;
    history.Get(kNoon, store.Fetch(), first.Callback());
    store.finish[0](store::ActivityData{});
    Answer stale;
    history.Get(kNoon + hours(1), store.Fetch(), stale.Callback());  // starts a read
  }
  ASSERT_EQ(store.finish.size(), 2U);
  store.finish[1](store::ActivityData{});  // ASan/valgrind would catch a dangling `this`
}

}  // namespace
}  // namespace cidrotor::service
