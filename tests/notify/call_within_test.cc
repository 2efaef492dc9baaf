// CallWithin: a call that outlasts its deadline is not waited for (the webhook's DNS lookup).
#include "notify/call_within.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

namespace cidrotor::notify {
namespace {

using std::chrono::milliseconds;

TEST(CallWithinTest, AQuickCallGivesItsResult) {
  EXPECT_EQ(CallWithin<int>([] { return 42; }, milliseconds(1'000)), 42);
}

TEST(CallWithinTest, ASlowCallIsNotWaitedForAndFinishesOnItsOwn) {
  auto finished = std::make_shared<std::atomic<bool>>(false);
  const auto started = std::chrono::steady_clock::now();
  const auto result = CallWithin<int>(
      [finished] {
        std::this_thread::sleep_for(milliseconds(1'500));
        *finished = true;
        return 1;
      },
      milliseconds(100));
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(result.has_value());
  EXPECT_LT(waited, milliseconds(1'000)) << "waited for the slow call";
  EXPECT_FALSE(*finished);
  // Left to finish on its own: it does, with nothing waiting on it.
  for (int i = 0; i < 100 && !*finished; ++i) std::this_thread::sleep_for(milliseconds(50));
  EXPECT_TRUE(*finished);
}

}  // namespace
}  // namespace cidrotor::notify
