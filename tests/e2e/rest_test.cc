// Rests against the real binary, in both modes: PATCH rest_until takes a number out of rotation,
// over a kill -9 and a restart, until the rest ends by itself or is ended; a number nobody answers
// is rested automatically, reported by webhook, and comes back on probation.
#include <time.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_fixture.h"
#include "e2e/prometheus_parser.h"
#include "support/webhook_receiver.h"

namespace cidrotor::e2e {
namespace {

class RestTest : public E2eTest {
 protected:
  // The caller-IDs of `count` allocations for 212, each released at once.
  std::vector<std::string> Calls(int count) {
    std::vector<std::string> got;
    for (int i = 0; i < count; ++i) {
      const auto response = NextCid("to=2125559876");
      EXPECT_EQ(response.status, 200) << response.body;
      if (response.status != 200) break;
      got.push_back(Field(ParseJson(response.body), "caller_id"));
      EXPECT_EQ(client().Post("/release", "caller_id=" + got.back()).status, 200);
    }
    return got;
  }
  // cidrotor_auto_rest_checks_total{result="judged"} of GET /metrics.
  double JudgedChecks() {
    ParsedMetrics metrics;
    std::string error;
    EXPECT_TRUE(ParsePrometheusText(client().Get("/metrics").body, metrics, error)) << error;
    return metrics.Value(R"(cidrotor_auto_rest_checks_total{result="judged"})");
  }
  HttpResponse Rest(const std::string& number, const std::string& until) {
    return Admin("PATCH", "/api/numbers/" + number, R"({"rest_until":")" + until + R"("})",
                 "application/json");
  }
};

TEST_F(RestTest, ARestedNumberStaysOutOfRotationOverAKillUntilItsRestEnds) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2));
  const auto rested = Rest("2125551001", IsoIn(std::chrono::hours(1)));
  ASSERT_EQ(rested.status, 200) << rested.body;
  EXPECT_FALSE(ParseJson(rested.body).at("number").at("resting_until").is_null());
  EXPECT_EQ(Calls(2), (std::vector<std::string>{"2125551002", "2125551002"}));

  // A release is answered before its commit: a change answered after its commit, later in the
  // journal, makes the releases before it durable (tiers_test.cc).
  ASSERT_EQ(
      Admin("PATCH", "/api/numbers/2125551002", R"({"carrier":"x"})", "application/json").status,
      200);
  server().Kill();
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  EXPECT_EQ(Calls(1), (std::vector<std::string>{"2125551002"}));
  const auto ended = Rest("2125551001", "none");
  ASSERT_EQ(ended.status, 200) << ended.body;
  EXPECT_TRUE(ParseJson(ended.body).at("number").at("resting_until").is_null());
  EXPECT_EQ(Calls(1), (std::vector<std::string>{"2125551001"}));  // never used: first
}

TEST_F(RestTest, ARestEndsByItselfAndABadTimeIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2));
  // Whole seconds: the rest ends 4 to 5 s from now, far beyond the next call even on a busy host.
  ASSERT_EQ(Rest("2125551001", IsoIn(std::chrono::seconds(5))).status, 200);
  EXPECT_EQ(Calls(1), (std::vector<std::string>{"2125551002"}));
  // Then it comes back by itself: 2125551001 (never used) is the next call's.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  std::vector<std::string> got;
  while (std::chrono::steady_clock::now() < deadline) {
    got = Calls(1);
    if (got != std::vector<std::string>{"2125551002"}) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"2125551001"}));

  const auto bad = Rest("2125551002", "tomorrow");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Field(ParseJson(bad.body), "field"), "rest_until");
  EXPECT_TRUE(ParseJson(Admin("GET", "/api/numbers/2125551002").body)
                  .at("number")
                  .at("resting_until")
                  .is_null());
}

// Ten numbers; 2125551004 is never answered, the others every other call (Asterisk's DIALSTATUS
// names, as a dialplan sends them). Checks every second judge from 10 calls on (0 of 10 against
// the others' 50 % is no chance: 0.1 %): the silent number rests, the webhook says why, and an
// admin ending the rest puts it on probation.
TEST_F(RestTest, ANumberNobodyAnswersRestsByItselfThenComesBackOnProbation) {
  test_support::WebhookReceiver receiver;
  ASSERT_NO_FATAL_FAILURE(StartServer({{"WEBHOOK_URLS", receiver.Url("/cid")},
                                       {"WEBHOOK_CHECK_SECONDS", "3600"},
                                       {"AUTO_REST_CHECK_SECONDS", "1"},
                                       {"AUTO_REST_MIN_CALLS", "10"},
                                       {"AUTO_REST_MAX_SHARE", "50"},
                                       {"PROBATION_DAILY_LIMIT", "2"}}));
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 10));
  // Rounds of ten calls held at once, so each number makes one call per round (released at once,
  // the same second's last use would send the next call to the same number).
  // A check may come between rounds and rest the silent number once it has 10 calls: a round
  // then finds nine numbers (503 for the tenth call), and the calls are over.
  bool rested_early = false;
  for (int round = 0; round < 12 && !rested_early; ++round) {
    std::vector<std::string> held;
    for (int i = 0; i < 10; ++i) {
      const auto response = NextCid("to=2125559876");
      if (response.status == 503 && round >= 10) {
        rested_early = true;
        break;
      }
      ASSERT_EQ(response.status, 200) << response.body;
      held.push_back(Field(ParseJson(response.body), "caller_id"));
    }
    for (const std::string& number : held) {
      const bool answered = number != "2125551004" && round % 2 == 0;
      ASSERT_EQ(client()
                    .Post("/release",
                          "caller_id=" + number + "&outcome=" + (answered ? "ANSWER" : "NOANSWER"))
                    .status,
                200);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  boost::json::value number;
  do {
    number = ParseJson(Admin("GET", "/api/numbers/2125551004").body).at("number");
    if (!number.at("resting_until").is_null()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_FALSE(number.at("resting_until").is_null()) << number;
  EXPECT_EQ(ParseJson(Admin("GET", "/api/stats").body).at("resting_numbers").as_int64(), 1);

  const auto hooks = receiver.WaitFor(1);
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0].headers.at("x-cidrotor-event"), "number_rested");
  const auto event = ParseJson(hooks[0].body);
  EXPECT_EQ(Field(event, "caller_id"), "2125551004");
  EXPECT_EQ(Field(event, "by"), "auto");
  EXPECT_EQ(event.at("answered").as_int64(), 0);
  EXPECT_GE(event.at("calls").as_int64(), 10);
  EXPECT_EQ(event.at("answer_rate").as_double(), 0.0);
  EXPECT_NEAR(event.at("pool_answer_rate").as_double(), 0.5, 0.1);

  const auto ended = Rest("2125551004", "none");
  ASSERT_EQ(ended.status, 200) << ended.body;
  const auto back = ParseJson(ended.body).at("number");
  EXPECT_TRUE(back.at("resting_until").is_null());
  EXPECT_FALSE(back.at("probation_until").is_null());
  EXPECT_EQ(back.at("daily_limit_today").as_int64(), 2);
  EXPECT_EQ(back.at("daily_limit").as_int64(), 500);
  // The calls before the rest never count again: a check that judged after the end of the rest
  // leaves the number alone.
  const double judged = JudgedChecks();
  const auto judged_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (JudgedChecks() < judged + 2 && std::chrono::steady_clock::now() < judged_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE(JudgedChecks(), judged + 2);
  EXPECT_TRUE(ParseJson(Admin("GET", "/api/numbers/2125551004").body)
                  .at("number")
                  .at("resting_until")
                  .is_null());
}

}  // namespace
}  // namespace cidrotor::e2e
