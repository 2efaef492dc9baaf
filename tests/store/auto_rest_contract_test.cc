// service::AutoRest over both stores (the contract fixture: the embedded index and Redis, each on
// a memory journal): calls released with their outcomes, then a check rests the number nobody
// answers, reports it, and leaves the rest of the pool alone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "service/auto_rest.h"
#include "store_contract_test.h"
#include "support/await.h"
#include "support/matchers.h"

namespace cidrotor::store::contract {
namespace {

using std::chrono::hours;
using testing::Await;
using ::testing::HasSubstr;
using testing::IsOk;

constexpr int kNumbers = 20;
constexpr const char* kMuted = "2125550105";  // the number with a "spam likely" label

class AutoRestTest : public StoreContractTest {
 protected:
  // `rounds` calls per number to 212 destinations, released with their outcome: the muted number
  // is never answered, the others every third call (and a failed call each round, not judged);
  // the clock moves by `step` after each call.
  void Call(int rounds, std::chrono::milliseconds step = std::chrono::seconds(1)) {
    for (int i = 0; i < rounds * kNumbers; ++i) {
      auto got = Allocate("2125559999");
      ASSERT_THAT(got, IsOk());
      core::ReleaseRequest release;
      release.reservation_id = got->reservation.id;
      const bool muted = got->reservation.caller_id.ToString() == kMuted;
      release.outcome =
          muted || i % 3 != 0 ? core::CallOutcome::kNoAnswer : core::CallOutcome::kAnswered;
      if (i % kNumbers == 7) release.outcome = core::CallOutcome::kFailed;
      ASSERT_THAT(Await<core::ReleaseResult>([&](auto done) { store_->Release(release, done); }),
                  IsOk());
      clock_.Advance(step);
    }
  }

  // One check, a turn of its own: in cluster mode one instance judges per period (ClaimTurn), so
  // the previous check's claim is cleared rather than waited out (Redis keeps real time).
  core::Result<std::vector<core::NumberView>> Check(service::AutoRest& auto_rest) {
    if (GetParam() == Backend::kRedis) SharedRedis().Command({"DEL", "cid:turn:auto-rest"});
    return Await<std::vector<core::NumberView>>(
        [&](auto done) { auto_rest.Check(clock_.Now(), done); });
  }

  // An admin ends the muted number's rest: the next check leaves it alone.
  void ExpectAnEndedRestToStayEnded(service::AutoRest& auto_rest) {
    core::NumberPatch end;
    end.rest_until = 0;
    ASSERT_THAT(Update(kMuted, end), IsOk());
    auto after = Check(auto_rest);
    ASSERT_THAT(after, IsOk());
    EXPECT_TRUE(after->empty());
    EXPECT_FALSE(Get(kMuted)->resting);
  }

  service::SendEvent Capture() {
    return [this](std::string_view event, std::string json) {
      std::lock_guard lock(mu_);
      events_.push_back(std::string(event) + " " + json);
    };
  }

  std::mutex mu_;
  std::vector<std::string> events_;  // guarded by mu_
};

TEST_P(AutoRestTest, RestsTheNumberNobodyAnswersAndReportsWhy) {
  Open();
  for (int i = 0; i < kNumbers; ++i) ASSERT_THAT(Add(std::to_string(2'125'550'100 + i)), IsOk());
  Call(35);
  service::AutoRest auto_rest(*store_, service::AutoRestOptions{}, Capture());
  auto rested = Check(auto_rest);
  ASSERT_THAT(rested, IsOk());
  ASSERT_EQ(rested->size(), 1u);
  EXPECT_EQ((*rested)[0].spec.caller_id.ToString(), kMuted);
  EXPECT_TRUE((*rested)[0].resting);
  EXPECT_EQ((*rested)[0].usage.rest_until, core::ToCompact(clock_.Now() + hours(48)));
  EXPECT_TRUE(Get(kMuted)->resting);
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(events_.size(), 1u);
    EXPECT_THAT(events_[0], HasSubstr(R"(number_rested {"event":"number_rested","caller_id":")" +
                                      std::string(kMuted)));
    EXPECT_THAT(events_[0], HasSubstr(R"("by":"auto")"));
    EXPECT_THAT(events_[0], HasSubstr(R"("answered":0,"answer_rate":0.0000,)"));
  }
  // The next check finds nothing new: the muted number rests, the others are fine.
  auto again = Check(auto_rest);
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->empty());
}

// After its rest the number is judged on its calls since (none yet), not on those that got it
// rested; an admin ending the rest early starts it afresh likewise.
TEST_P(AutoRestTest, TheCallsBeforeARestNeverCountAgain) {
  Open();
  for (int i = 0; i < kNumbers; ++i) ASSERT_THAT(Add(std::to_string(2'125'550'100 + i)), IsOk());
  Call(35);
  service::AutoRest auto_rest(*store_, service::AutoRestOptions{}, Capture());
  ASSERT_THAT(Check(auto_rest), IsOk());
  ASSERT_TRUE(Get(kMuted)->resting);
  ExpectAnEndedRestToStayEnded(auto_rest);
}

// rest_until is whole seconds: calls made in the very second an admin ends the rest, before the
// end, are before it too (the e2e flake: rounds of calls, the rest and its end within a second).
TEST_P(AutoRestTest, TheCallsInTheSecondTheRestEndsBeforeItsEndNeverCountAgain) {
  Open();
  for (int i = 0; i < kNumbers; ++i) ASSERT_THAT(Add(std::to_string(2'125'550'100 + i)), IsOk());
  Call(35, std::chrono::milliseconds(1));  // 700 calls in 0.7 s, all in kStart's second
  service::AutoRest auto_rest(*store_, service::AutoRestOptions{}, Capture());
  ASSERT_THAT(Check(auto_rest), IsOk());
  ASSERT_TRUE(Get(kMuted)->resting);
  clock_.Advance(std::chrono::milliseconds(100));
  ASSERT_EQ(core::ToCompact(clock_.Now()), core::ToCompact(kStart));
  ExpectAnEndedRestToStayEnded(auto_rest);
}

// Cluster mode: while another instance holds this period's turn, a check judges nothing.
TEST_P(AutoRestTest, AnotherInstancesTurnSkipsTheCheck) {
  if (GetParam() != Backend::kRedis) GTEST_SKIP() << "one instance: every turn is its own";
  Open();
  for (int i = 0; i < kNumbers; ++i) ASSERT_THAT(Add(std::to_string(2'125'550'100 + i)), IsOk());
  Call(35);
  SharedRedis().Command({"SET", "cid:turn:auto-rest", "other-instance", "PX", "60000"});
  service::AutoRest auto_rest(*store_, service::AutoRestOptions{}, Capture());
  auto skipped =
      Await<std::vector<core::NumberView>>([&](auto done) { auto_rest.Check(clock_.Now(), done); });
  ASSERT_THAT(skipped, IsOk());
  EXPECT_TRUE(skipped->empty());
  EXPECT_FALSE(Get(kMuted)->resting);
}

TEST_P(AutoRestTest, AShareOfZeroOrTooFewCallsRestNothing) {
  Open();
  for (int i = 0; i < kNumbers; ++i) ASSERT_THAT(Add(std::to_string(2'125'550'100 + i)), IsOk());
  Call(20);  // 20 judged calls per number at most: below AUTO_REST_MIN_CALLS
  service::AutoRest few(*store_, service::AutoRestOptions{}, Capture());
  auto none = Check(few);
  ASSERT_THAT(none, IsOk());
  EXPECT_TRUE(none->empty());
  Call(20);
  service::AutoRestOptions off;
  off.rules.max_share_percent = 0;
  service::AutoRest disabled(*store_, off, Capture());
  EXPECT_FALSE(disabled.enabled());
  auto off_check = Check(disabled);  // 40 calls now, but a share of 0 rests nothing
  ASSERT_THAT(off_check, IsOk());
  EXPECT_TRUE(off_check->empty());
  EXPECT_FALSE(Get(kMuted)->resting);
  std::lock_guard lock(mu_);
  EXPECT_TRUE(events_.empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, AutoRestTest,
                         ::testing::Values(Backend::kEmbedded, Backend::kRedis), BackendName);

}  // namespace
}  // namespace cidrotor::store::contract
