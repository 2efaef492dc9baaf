// AvailabilityAlerts over fake stores and a real webhook receiver: one instance alone compares with
// its own last levels; instances sharing a store (cluster mode) take turns and go on from the
// levels the last check saved, so each change is sent once, whoever checks.
#include "app/availability_alerts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http/fake_store.h"
#include "support/webhook_receiver.h"

namespace cidrotor::app {
namespace {

const core::TimePoint kNow = core::TimePoint(core::Seconds(1'795'617'000));

// 212's and pool east's one count of available numbers.
store::StoreStats Available(std::uint32_t available) {
  store::StoreStats stats;
  stats.area_codes.push_back({212, 3, 3, available});  // total, active, available
  store::PoolAvailability pool;
  pool.pool = "east";
  pool.active = 3;
  pool.available = available;
  stats.pools.push_back(pool);
  return stats;
}

class AvailabilityAlertsTest : public ::testing::Test {
 protected:
  std::unique_ptr<AvailabilityAlerts> Alerts() {
    Config config;
    config.webhook_urls = receiver_.Url("/cid");
    config.webhook_low_available = 2;
    auto alerts = AvailabilityAlerts::Create(config);
    EXPECT_TRUE(alerts.has_value());
    return alerts ? std::move(*alerts) : nullptr;
  }

  // The events received, once there are `count` (and a moment for any more to arrive).
  std::vector<std::string> Events(std::size_t count) {
    receiver_.WaitFor(count);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::vector<std::string> events;
    for (const auto& hook : receiver_.WaitFor(0)) {
      events.push_back(hook.headers.at("x-cidrotor-event"));
    }
    return events;
  }

  // One check of `alerts` on `store`, seeing `available`, holding the turn or not.
  static void Check(AvailabilityAlerts& alerts, http::testing::FakeStore& store,
                    std::uint32_t available, bool turn = true) {
    store.stats_result = Available(available);
    store.claim_result = turn;
    alerts.Check(store, kNow);
  }

  test_support::WebhookReceiver receiver_;
};

TEST_F(AvailabilityAlertsTest, AloneItComparesWithItsOwnLastLevels) {
  http::testing::FakeStore store;  // shares nothing: an embedded store
  auto alerts = Alerts();
  ASSERT_NE(alerts, nullptr);
  Check(*alerts, store, 3);  // the first check only records
  Check(*alerts, store, 1);
  Check(*alerts, store, 1);
  Check(*alerts, store, 0);
  EXPECT_EQ(Events(4),
            (std::vector<std::string>{"area_code_low", "pool_low", "area_code_dry", "pool_dry"}));
}

TEST_F(AvailabilityAlertsTest, InstancesTakingTurnsSendEachChangeOnce) {
  std::map<std::string, std::string> redis;
  http::testing::FakeStore a;
  http::testing::FakeStore b;
  a.shared = b.shared = &redis;
  auto alerts_a = Alerts();
  auto alerts_b = Alerts();
  ASSERT_NE(alerts_a, nullptr);
  ASSERT_NE(alerts_b, nullptr);
  Check(*alerts_a, a, 3);                  // records: ok
  Check(*alerts_b, b, 1);                  // goes on from a's: low
  Check(*alerts_a, a, 1);                  // goes on from b's: still low, nothing to send
  Check(*alerts_b, b, 0, /*turn=*/false);  // a's turn this time: b does nothing
  EXPECT_EQ(redis.at("alert-levels"), "cidrotor-levels 2\na 212 low 0\np east low 0\n");
  Check(*alerts_a, a, 0);  // dry
  Check(*alerts_b, b, 0);
  Check(*alerts_b, b, 3);  // recovered at 2 + 1
  Check(*alerts_a, a, 3);
  // Each instance's sender delivers on a thread of its own: in any order between the two.
  EXPECT_THAT(Events(6),
              ::testing::UnorderedElementsAre("area_code_low", "pool_low", "area_code_dry",
                                              "pool_dry", "area_code_recovered", "pool_recovered"));
  EXPECT_EQ(redis.at("alert-levels"), "cidrotor-levels 2\n");  // everything ok again
}

TEST_F(AvailabilityAlertsTest, UnreadableSharedLevelsLeaveItsOwn) {
  std::map<std::string, std::string> redis;
  http::testing::FakeStore store;
  store.shared = &redis;
  auto alerts = Alerts();
  ASSERT_NE(alerts, nullptr);
  Check(*alerts, store, 3);
  redis["alert-levels"] = "not levels";
  Check(*alerts, store, 1);
  EXPECT_EQ(Events(2), (std::vector<std::string>{"area_code_low", "pool_low"}));
  EXPECT_EQ(redis.at("alert-levels"), "cidrotor-levels 2\na 212 low 0\np east low 0\n");
}

// Redis down: the shared levels cannot be read, so nothing is sent (this instance's own might
// repeat what another sent) and nothing is saved; the next check goes on from the last levels.
TEST_F(AvailabilityAlertsTest, LevelsThatCannotBeReadSendNothing) {
  std::map<std::string, std::string> redis;
  http::testing::FakeStore store;
  store.shared = &redis;
  auto alerts = Alerts();
  ASSERT_NE(alerts, nullptr);
  Check(*alerts, store, 3);
  store.shared_error = core::Error::Unavailable("redis down");
  Check(*alerts, store, 1);
  EXPECT_TRUE(Events(0).empty());
  EXPECT_EQ(redis.at("alert-levels"), "cidrotor-levels 2\n");
  store.shared_error.reset();
  Check(*alerts, store, 1);
  EXPECT_EQ(Events(2), (std::vector<std::string>{"area_code_low", "pool_low"}));
}

}  // namespace
}  // namespace cidrotor::app
