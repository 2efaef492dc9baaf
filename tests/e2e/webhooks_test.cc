// Webhooks against the real binary, in both modes: a receiver on a loopback port gets the
// area code's and the pool's low, dry and recovered events as numbers are allocated and released
// through the API, signed with WEBHOOK_SECRET; in cluster mode, once from two instances.
#include <gmock/gmock.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_fixture.h"
#include "support/webhook_receiver.h"

namespace cidrotor::e2e {
namespace {

class WebhooksTest : public E2eTest {
 protected:
  // The hooks' "event available" pairs, in arrival order, once one starts with `wanted` (or 20 s
  // passed).
  std::vector<std::string> EventsUntil(test_support::WebhookReceiver& receiver,
                                       const std::string& wanted) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      std::vector<std::string> events;
      for (const auto& hook : receiver.WaitFor(0)) {
        const auto json = ParseJson(hook.body);
        events.push_back(Field(json, "event") + " " + Field(json, "available"));
      }
      const bool found = std::any_of(events.begin(), events.end(),
                                     [&](const std::string& e) { return e.rfind(wanted, 0) == 0; });
      if (found || std::chrono::steady_clock::now() > deadline) {
        return events;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Takes pool east's 3 numbers one by one (2 left is ok, 1 low, none dry), waiting for each
  // state's event whenever the check comes; the reservations' ids.
  std::vector<std::string> DrainEast(test_support::WebhookReceiver& receiver) {
    std::vector<std::string> ids;
    for (const char* wanted : {"", "pool_low", "pool_dry"}) {
      const auto r = NextCid("to=2125559876&campaign=east_sales");
      EXPECT_EQ(r.status, 200) << r.body;
      ids.push_back(Field(ParseJson(r.body), "reservation_id"));
      if (*wanted != '\0') (void)EventsUntil(receiver, wanted);
    }
    return ids;
  }
};

TEST_F(WebhooksTest, LowDryAndRecoveredAsNumbersAreTakenAndReleased) {
  test_support::WebhookReceiver receiver;
  ASSERT_NO_FATAL_FAILURE(StartServer({{"WEBHOOK_URLS", receiver.Url("/cid")},
                                       {"WEBHOOK_SECRET", "hook-secret"},
                                       {"WEBHOOK_LOW_AVAILABLE", "2"},
                                       {"WEBHOOK_CHECK_SECONDS", "1"}}));
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 3, "pool=east"));
  ASSERT_EQ(Admin("PUT", "/api/campaigns/east_sales", "pool=east").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2'500));  // a check sees 3 available
  EXPECT_EQ(receiver.count(), 0u);                                // nothing is short yet
  const std::vector<std::string> ids = DrainEast(receiver);
  auto events = EventsUntil(receiver, "pool_dry 0");
  EXPECT_THAT(events, ::testing::ElementsAre("area_code_low 1", "pool_low 1", "area_code_dry 0",
                                             "pool_dry 0"));

  for (const auto& id : ids) {
    ASSERT_EQ(client().Post("/release", "reservation_id=" + id).status, 200);
  }
  events = EventsUntil(receiver, "pool_recovered");
  ASSERT_EQ(events.size(), 6u);
  // Recovered at 2 + 1 = 3 available; a check between the releases leaves them dry meanwhile.
  EXPECT_EQ(events[4], "area_code_recovered 3");
  EXPECT_EQ(events[5], "pool_recovered 3");
  const auto hooks = receiver.WaitFor(1);
  EXPECT_EQ(hooks[0].target, "/cid");
  EXPECT_EQ(hooks[0].headers.at("x-cidrotor-signature").substr(0, 7), "sha256=");
  EXPECT_EQ(hooks[0].headers.at("x-cidrotor-event"), "area_code_low");

  // /metrics says what became of them: an operator can alert on a receiver that is down.
  std::string metrics;
  for (int i = 0; i < 50; ++i) {
    metrics = client().Get("/metrics").body;
    if (metrics.find(R"(cidrotor_webhook_events_total{result="delivered"} 6)") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(metrics.find(R"(cidrotor_webhook_events_total{result="delivered"} 6)"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(cidrotor_webhook_events_total{result="dropped"} 0)"),
            std::string::npos);
  EXPECT_NE(metrics.find("cidrotor_webhook_queued_events 0"), std::string::npos);
}

// Cluster mode: every instance has the same WEBHOOK_URLS, and each change is sent once (the
// checks take turns and go on from the levels the last one saved in Redis).
TEST_F(WebhooksTest, TwoInstancesWithTheSameUrlsSendEachChangeOnce) {
  SKIP_UNLESS_CLUSTER("two instances on one Redis");
  test_support::WebhookReceiver receiver;
  ASSERT_NO_FATAL_FAILURE(StartServer({{"WEBHOOK_URLS", receiver.Url("/cid")},
                                       {"WEBHOOK_LOW_AVAILABLE", "2"},
                                       {"WEBHOOK_CHECK_SECONDS", "1"}}));
  auto second = StartAnotherInstance("second");
  ASSERT_NE(second, nullptr);
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 3, "pool=east"));
  ASSERT_EQ(Admin("PUT", "/api/campaigns/east_sales", "pool=east").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2'500));  // both have seen 3 available
  const std::vector<std::string> ids = DrainEast(receiver);
  (void)EventsUntil(receiver, "pool_dry 0");
  std::this_thread::sleep_for(std::chrono::milliseconds(3'000));  // both instances check again
  EXPECT_EQ(receiver.WaitFor(0).size(), 4u);
  EXPECT_THAT(
      EventsUntil(receiver, "pool_dry 0"),
      ::testing::ElementsAre("area_code_low 1", "pool_low 1", "area_code_dry 0", "pool_dry 0"));
  for (const auto& id : ids) {
    ASSERT_EQ(client().Post("/release", "reservation_id=" + id).status, 200);
  }
  (void)EventsUntil(receiver, "pool_recovered");
  std::this_thread::sleep_for(std::chrono::milliseconds(3'000));
  const auto events = EventsUntil(receiver, "pool_recovered");
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(events[4], "area_code_recovered 3");
  EXPECT_EQ(events[5], "pool_recovered 3");
}

TEST_F(WebhooksTest, AnAdminsRestSendsNumberRested) {
  test_support::WebhookReceiver receiver;
  ASSERT_NO_FATAL_FAILURE(StartServer({{"WEBHOOK_URLS", receiver.Url("/cid")},
                                       {"WEBHOOK_LOW_AVAILABLE", "1"},
                                       {"WEBHOOK_CHECK_SECONDS", "3600"}}));
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2));
  const auto rested = Admin("PATCH", "/api/numbers/2125551001",
                            R"({"rest_until":"2099-01-01T00:00:00Z"})", "application/json");
  ASSERT_EQ(rested.status, 200) << rested.body;
  const auto hooks = receiver.WaitFor(1);
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0].headers.at("x-cidrotor-event"), "number_rested");
  const auto event = ParseJson(hooks[0].body);
  EXPECT_EQ(Field(event, "caller_id"), "2125551001");
  EXPECT_EQ(Field(event, "pool"), "default");
  EXPECT_EQ(Field(event, "rest_until"), "2099-01-01T00:00:00Z");
}

TEST_F(WebhooksTest, ABadUrlIsAStartUpErrorNamingTheVariable) {
  test_support::ServerProcess::Options options;
  options.env = {{"WEBHOOK_URLS", "ftp://example.com/x"}, {"ADMIN_TOKEN", kAdminToken}};
  options.work_dir = work_dir();
  std::string error;
  auto started = test_support::ServerProcess::Start(std::move(options), &error);
  EXPECT_EQ(started, nullptr);
  EXPECT_NE(error.find("WEBHOOK_URLS"), std::string::npos) << error;
}

}  // namespace
}  // namespace cidrotor::e2e
