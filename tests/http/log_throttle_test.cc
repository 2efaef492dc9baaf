#include "net/log_throttle.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace cidrotor::net {
namespace {

TEST(LogThrottleTest, TheFirstEventLogsThenOneLinePerPeriodCountsTheRest) {
  LogThrottle throttle(std::chrono::milliseconds(200));
  EXPECT_EQ(throttle.Pass(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(throttle.Pass(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(throttle.Pass(), 6u);  // the five held back and this one
  EXPECT_EQ(throttle.Pass(), 0u);
}

}  // namespace
}  // namespace cidrotor::net
