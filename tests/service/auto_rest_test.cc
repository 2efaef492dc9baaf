// service::AutoRest's own life over a scriptable store (tests/http/fake_store.h): what it asks the
// store, checks that overlap, a store that fails, a rest set meanwhile, and a stop with a check in
// flight. What it rests on real stores: tests/store/auto_rest_contract_test.cc.
#include "service/auto_rest.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "http/fake_store.h"

namespace cidrotor::service {
namespace {

using http::testing::Completion;
using http::testing::FakeStore;
using http::testing::kTestNow;

// Twenty numbers answering 30 of 100 calls, and 2125559999 answering none of 40.
store::AnswerStats OneSilentNumber() {
  store::AnswerStats stats;
  for (int i = 0; i < 19; ++i) {
    core::NumberAnswers n;
    n.caller_id = core::PhoneNumber::FromValidDigits(2'125'550'100 + i);
    n.pool = "default";
    n.calls = 100;
    n.answered = 30;
    stats.numbers.push_back(n);
  }
  core::NumberAnswers silent;
  silent.caller_id = core::PhoneNumber::FromValidDigits(2'125'559'999);
  silent.pool = "default";
  silent.calls = 40;
  stats.numbers.push_back(silent);
  stats.pools.push_back({"default", 20, 0});
  return stats;
}

// The result a check hands to its `done`.
struct Outcome {
  std::optional<RestedNumbers> result;
  std::function<void(RestedNumbers)> Done() {
    return [this](RestedNumbers r) { result = std::move(r); };
  }
};

TEST(AutoRestTest, RestsTheChosenNumberUnlessARestWasSetMeanwhile) {
  FakeStore store;
  store.answer_stats_result = OneSilentNumber();
  const core::CompactTime until = core::ToCompact(kTestNow + std::chrono::hours(48));
  auto view = http::testing::SampleNumber();
  view.usage.rest_until = until;
  store.number_result = view;
  AutoRest auto_rest(store, AutoRestOptions{}, {});
  Outcome first;
  auto_rest.Check(kTestNow, first.Done());
  ASSERT_TRUE(first.result && *first.result);
  EXPECT_EQ((*first.result)->size(), 1u);
  const auto updates = store.updates();
  ASSERT_EQ(updates.size(), 1u);
  const auto& [caller_id, patch] = updates[0];
  EXPECT_EQ(caller_id.ToString(), "2125559999");
  EXPECT_EQ(patch.rest_until, until);
  EXPECT_TRUE(patch.rest_unless_resting);
  // The store kept another rest (an admin's, set since the stats were read): not counted.
  view.usage.rest_until = until + 3600;
  store.number_result = view;
  Outcome second;
  auto_rest.Check(kTestNow, second.Done());
  ASSERT_TRUE(second.result && *second.result);
  EXPECT_TRUE((*second.result)->empty());
  EXPECT_EQ(auto_rest.counters().judged.load(), 2u);
  EXPECT_EQ(auto_rest.counters().rested.load(), 1u);
}

TEST(AutoRestTest, AnOverlappingCheckIsSkippedAndTheNextRuns) {
  FakeStore store;
  store.completion = Completion::kHeld;
  AutoRest auto_rest(store, AutoRestOptions{}, {});
  Outcome first;
  Outcome overlapping;
  auto_rest.Check(kTestNow, first.Done());
  ASSERT_TRUE(store.WaitForHeld(1));  // its claim is in flight
  auto_rest.Check(kTestNow, overlapping.Done());
  ASSERT_TRUE(overlapping.result);
  EXPECT_EQ(overlapping.result->error().code(), core::ErrorCode::kUnavailable);
  store.ReleaseHeld();  // the claim, then the stats (held again)
  ASSERT_TRUE(store.WaitForHeld(1));
  store.ReleaseHeld();
  ASSERT_TRUE(first.result && *first.result);
  store.completion = Completion::kInline;
  Outcome next;
  auto_rest.Check(kTestNow, next.Done());
  EXPECT_TRUE(next.result && *next.result);
  EXPECT_EQ(auto_rest.counters().skipped.load(), 1u);
  EXPECT_EQ(auto_rest.counters().judged.load(), 2u);
}

// A check whose completion never comes must not stop the rests for good: one older than three
// intervals (here 0 s) no longer blocks the next, and its late end leaves the newer one running.
TEST(AutoRestTest, AStaleCheckNoLongerBlocksTheNext) {
  FakeStore store;
  store.completion = Completion::kHeld;
  AutoRestOptions options;
  options.interval = std::chrono::seconds(0);
  AutoRest auto_rest(store, options, {});
  Outcome stale;
  Outcome next;
  auto_rest.Check(kTestNow, stale.Done());
  ASSERT_TRUE(store.WaitForHeld(1));
  auto_rest.Check(kTestNow, next.Done());
  EXPECT_FALSE(next.result);  // started, not skipped
  ASSERT_TRUE(store.WaitForHeld(2));
  while (!stale.result || !next.result) {  // claims, then stats: each held once
    store.ReleaseHeld();
  }
  EXPECT_TRUE(*stale.result);
  EXPECT_TRUE(*next.result);
  EXPECT_EQ(auto_rest.counters().skipped.load(), 0u);
  EXPECT_EQ(auto_rest.counters().judged.load(), 2u);
}

TEST(AutoRestTest, AStoreThatFailsSkipsThisCheckOnly) {
  FakeStore store;
  store.claim_result = core::Fail(core::Error::Unavailable("redis: connection refused"));
  AutoRest auto_rest(store, AutoRestOptions{}, {});
  Outcome failed;
  auto_rest.Check(kTestNow, failed.Done());
  ASSERT_TRUE(failed.result);
  EXPECT_EQ(failed.result->error().code(), core::ErrorCode::kUnavailable);
  store.claim_result = true;
  store.answer_stats_result = core::Fail(core::Error::Unavailable("statement timeout"));
  Outcome no_stats;
  auto_rest.Check(kTestNow, no_stats.Done());
  ASSERT_TRUE(no_stats.result);
  EXPECT_FALSE(*no_stats.result);
  store.answer_stats_result = OneSilentNumber();
  store.claim_result = false;  // another instance's turn
  Outcome other;
  auto_rest.Check(kTestNow, other.Done());
  ASSERT_TRUE(other.result && *other.result);
  EXPECT_TRUE((*other.result)->empty());
  EXPECT_TRUE(store.updates().empty());
  EXPECT_EQ(auto_rest.counters().failed.load(), 2u);
  EXPECT_EQ(auto_rest.counters().skipped.load(), 1u);
  EXPECT_EQ(auto_rest.counters().judged.load(), 0u);
}

// Shutdown: once stopped, a check in flight asks the store nothing more, and none starts.
TEST(AutoRestTest, AStopEndsTheCheckInFlightAndRefusesTheNext) {
  FakeStore store;
  store.completion = Completion::kHeld;
  store.answer_stats_result = OneSilentNumber();
  AutoRest auto_rest(store, AutoRestOptions{}, {});
  Outcome in_flight;
  auto_rest.Check(kTestNow, in_flight.Done());
  ASSERT_TRUE(store.WaitForHeld(1));
  auto_rest.Stop(std::chrono::seconds(0));  // the check still runs: no wait here
  store.ReleaseHeld();
  ASSERT_TRUE(in_flight.result);
  EXPECT_EQ(in_flight.result->error().code(), core::ErrorCode::kUnavailable);
  EXPECT_TRUE(store.updates().empty());
  Outcome refused;
  auto_rest.Check(kTestNow, refused.Done());
  ASSERT_TRUE(refused.result);
  EXPECT_EQ(refused.result->error().code(), core::ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace cidrotor::service
