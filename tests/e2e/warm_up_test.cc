// Warm-up of new numbers against the real binary, in both modes: a number added with
// WARMUP_DAYS set takes today's share of its daily cap, keeps its warm-up over a kill -9 and a
// restart, and a number imported with a last_used is established.
#include <chrono>
#include <string>
#include <thread>

#include "e2e/e2e_fixture.h"

namespace cidrotor::e2e {
namespace {

class WarmUpE2eTest : public E2eTest {
 protected:
  // These tests run on the real clock in UTC (TIMEZONE's default): a local midnight in the middle
  // would move the warm-up to its next day. Each takes a second or two, so one starting within
  // a minute of midnight waits until it has passed.
  void SetUp() override {
    E2eTest::SetUp();
    using std::chrono::seconds;
    const auto now = std::chrono::system_clock::now();
    const auto into_day = now - std::chrono::floor<std::chrono::days>(now);
    const auto to_midnight = std::chrono::days(1) - into_day;
    if (to_midnight < seconds(60)) std::this_thread::sleep_for(to_midnight + seconds(1));
  }

  // Allocations for 212 made and released until a 503; how many (at most 20).
  int CallsUntilDry() {
    int calls = 0;
    for (; calls < 20; ++calls) {
      const auto response = NextCid("to=2125559876");
      if (response.status == 503) break;
      EXPECT_EQ(response.status, 200) << response.body;
      const std::string caller_id = Field(ParseJson(response.body), "caller_id");
      EXPECT_EQ(client().Post("/release", "caller_id=" + caller_id).status, 200);
    }
    return calls;
  }

  boost::json::object NumberJson(const std::string& number) {
    const auto response = Admin("GET", "/api/numbers/" + number);
    EXPECT_EQ(response.status, 200) << response.body;
    return ParseJson(response.body).as_object().at("number").as_object();
  }
};

TEST_F(WarmUpE2eTest, ANewNumberTakesTodaysShareOfItsCapAlsoAfterAKill) {
  ASSERT_NO_FATAL_FAILURE(StartServer({{"WARMUP_DAYS", "2"}}));
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1, "daily_limit=9"));
  auto number = NumberJson("2125551001");
  EXPECT_EQ(number.at("warmup_day"), 1);
  EXPECT_EQ(number.at("daily_limit"), 9);
  EXPECT_EQ(number.at("daily_limit_today"), 3);  // 9 * 1/3
  EXPECT_EQ(CallsUntilDry(), 3);
  // A change answered after its commit makes the releases before it durable (tiers_test.cc).
  ASSERT_NO_FATAL_FAILURE(AddNumbers(415, 1001, 1));

  server().Kill();
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  number = NumberJson("2125551001");
  EXPECT_EQ(number.at("warmup_day"), 1);
  EXPECT_EQ(number.at("daily_used"), 3);
  EXPECT_EQ(NextCid("to=2125559876").status, 200);  // 415's number, by the any tier
  EXPECT_EQ(Field(ParseJson(NextCid("to=2125559876").body), "error"), "no_caller_id_available");
}

TEST_F(WarmUpE2eTest, ANumberImportedWithALastUseIsEstablished) {
  ASSERT_NO_FATAL_FAILURE(StartServer({{"WARMUP_DAYS", "4"}}));
  const auto imported = Admin("POST", "/api/numbers/import",
                              "caller_id,daily_limit,last_used\n"
                              "2125551001,10,2026-01-05T10:00:00Z\n"
                              "2125551002,10,\n",
                              "text/csv");
  ASSERT_EQ(imported.status, 200) << imported.body;
  EXPECT_TRUE(NumberJson("2125551001").at("warmup_day").is_null());
  EXPECT_EQ(NumberJson("2125551001").at("daily_limit_today"), 10);
  EXPECT_EQ(NumberJson("2125551002").at("warmup_day"), 1);
  EXPECT_EQ(NumberJson("2125551002").at("daily_limit_today"), 2);  // 10 * 1/5
}

TEST_F(WarmUpE2eTest, OffByDefault) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1, "daily_limit=9"));
  const auto number = NumberJson("2125551001");
  EXPECT_TRUE(number.at("warmup_day").is_null());
  EXPECT_EQ(number.at("daily_limit_today"), 9);
}

}  // namespace
}  // namespace cidrotor::e2e
