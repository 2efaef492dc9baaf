#include "core/rate_limiter.h"

#include <gtest/gtest.h>

#include "support/matchers.h"

namespace cidrotor::core {
namespace {

using testing::HasError;
using testing::IsOk;

const TimePoint kStart = FromCompact(1'000'000);

TEST(AgentRateLimiterTest, RefusesOverTheLimitWithRetryAfter) {
  AgentRateLimiter limiter(3);
  for (int i = 0; i < 3; ++i) {
    const TimePoint t = kStart + Seconds(i * 10);
    ASSERT_THAT(limiter.Check("agent1", t), IsOk());
    limiter.Record("agent1", t);
  }
  auto refused = limiter.Check("agent1", kStart + Seconds(25));
  ASSERT_THAT(refused, HasError(ErrorCode::kRateLimited));
  EXPECT_EQ(refused.error().retry_after_seconds(), 35u);  // first one leaves at +60 s
  EXPECT_EQ(refused.error().field(), "agent");
}

// A restart with a lower limit reads back more of the last minute's allocations than the new
// limit: the wait is until enough of them have left the window, not until the oldest has.
TEST(AgentRateLimiterTest, RetryAfterWithMoreInTheWindowThanTheLimit) {
  AgentRateLimiter limiter(2);
  for (int i = 0; i < 6; ++i) limiter.Record("agent1", kStart + Seconds(i < 3 ? 0 : 10));
  auto refused = limiter.Check("agent1", kStart + Seconds(10));
  ASSERT_THAT(refused, HasError(ErrorCode::kRateLimited));
  EXPECT_EQ(refused.error().retry_after_seconds(), 60u);  // the ones at +10 s leave at +70 s
}

TEST(AgentRateLimiterTest, WindowSlides) {
  AgentRateLimiter limiter(2);
  limiter.Record("a", kStart);
  limiter.Record("a", kStart + Seconds(30));
  EXPECT_THAT(limiter.Check("a", kStart + Seconds(59)), HasError(ErrorCode::kRateLimited));
  EXPECT_THAT(limiter.Check("a", kStart + Seconds(60)), IsOk());
}

TEST(AgentRateLimiterTest, RefusedRequestsDoNotCount) {
  AgentRateLimiter limiter(1);
  limiter.Record("a", kStart);
  for (int i = 1; i < 50; ++i) {
    EXPECT_THAT(limiter.Check("a", kStart + Seconds(i)), HasError(ErrorCode::kRateLimited));
  }
  EXPECT_THAT(limiter.Check("a", kStart + Seconds(60)), IsOk());
}

TEST(AgentRateLimiterTest, AutoAgentAndOtherAgentsAreIndependent) {
  AgentRateLimiter limiter(1);
  limiter.Record("a", kStart);
  EXPECT_THAT(limiter.Check("b", kStart), IsOk());
  for (int i = 0; i < 10; ++i) limiter.Record("auto", kStart);
  EXPECT_THAT(limiter.Check("auto", kStart), IsOk());
}

TEST(AgentRateLimiterTest, PruneForgetsIdleAgents) {
  AgentRateLimiter limiter(5);
  limiter.Record("a", kStart);
  limiter.Record("b", kStart + Seconds(50));
  limiter.Prune(kStart + Seconds(61));
  EXPECT_EQ(limiter.tracked_agents(), 1u);
}

TEST(AgentRateLimiterTest, ZeroDisables) {
  AgentRateLimiter limiter(0);
  for (int i = 0; i < 1000; ++i) limiter.Record("a", kStart);
  EXPECT_THAT(limiter.Check("a", kStart), IsOk());
}

}  // namespace
}  // namespace cidrotor::core
