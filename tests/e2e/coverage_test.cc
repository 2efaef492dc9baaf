// GET /api/coverage against the real binary, in both modes: the calls just made and the numbers
// there are, per area code, with the numbers each needs; admin only.
#include <algorithm>
#include <string>

#include "e2e/e2e_fixture.h"

namespace cidrotor::e2e {
namespace {

class CoverageE2eTest : public E2eTest {
 protected:
  // `calls` calls to 212-555-987N, each allocated and released.
  void CallsTo212(int calls) {
    for (int i = 0; i < calls; ++i) {
      const auto allocated = NextCid("to=212555987" + std::to_string(i));
      ASSERT_EQ(allocated.status, 200) << allocated.body;
      const std::string caller_id = Field(ParseJson(allocated.body), "caller_id");
      ASSERT_EQ(client().Post("/release", "caller_id=" + caller_id).status, 200);
    }
  }
};

TEST_F(CoverageE2eTest, ReportsCallsNumbersAndTheNumbersNeeded) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2, "hourly_limit=2"));
  ASSERT_NO_FATAL_FAILURE(CallsTo212(3));
  ASSERT_EQ(NextCid("to=6175559876").status, 200);  // Massachusetts: no number of its own

  EXPECT_EQ(client().Get("/api/coverage").status, 401);
  const auto response = Admin("GET", "/api/coverage");
  ASSERT_EQ(response.status, 200) << response.body;
  const auto json = ParseJson(response.body);
  EXPECT_EQ(Field(json, "days"), "7");
  const auto& area_codes = json.at("area_codes").as_array();
  ASSERT_EQ(area_codes.size(), 2u) << json;
  // 617: one call and no number: one more needed, so it comes first. 212: three calls on two
  // numbers of 2 an hour each: enough.
  EXPECT_EQ(Field(area_codes[0], "area_code"), "617");
  EXPECT_EQ(Field(area_codes[0], "state"), "MA");
  EXPECT_EQ(Field(area_codes[0], "calls_24h"), "1");
  EXPECT_EQ(Field(area_codes[0], "more_numbers_needed"), "1");
  EXPECT_EQ(Field(area_codes[1], "area_code"), "212");
  EXPECT_EQ(Field(area_codes[1], "calls_7d"), "3");
  EXPECT_EQ(Field(area_codes[1], "active"), "2");
  // One number took two calls (its cap for the hour), the other holds the call to 617.
  EXPECT_EQ(Field(area_codes[1], "available"), "0");
  EXPECT_EQ(Field(area_codes[1], "saturated"), "false");
  EXPECT_EQ(Field(area_codes[1], "hourly_capacity"), "4");
  // Three calls in the busiest hour (fewer when the test ran across an hour's end) at 2 an hour
  // each: one number per two calls.
  const int busiest = std::stoi(Field(area_codes[1], "busiest_hour"));
  EXPECT_EQ(Field(area_codes[1], "numbers_needed"), std::to_string((busiest + 1) / 2));
  EXPECT_EQ(Field(area_codes[1], "more_numbers_needed"), "0");
}

// A resting number takes no calls and a warming one part of its daily cap: today's capacity is
// what is left, and the area code needs a number more.
TEST_F(CoverageE2eTest, CountsRestingAndWarmingNumbersAtTodaysCaps) {
  ASSERT_NO_FATAL_FAILURE(StartServer({{"WARMUP_DAYS", "4"}}));  // day 1: 2 of 10 a day
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 3, "hourly_limit=2&daily_limit=10"));
  ASSERT_NO_FATAL_FAILURE(CallsTo212(5));
  ASSERT_EQ(Admin("PATCH", "/api/numbers/2125551001", R"({"rest_until":"2099-01-01T00:00:00Z"})",
                  "application/json")
                .status,
            200);

  const auto response = Admin("GET", "/api/coverage");
  ASSERT_EQ(response.status, 200) << response.body;
  const auto json = ParseJson(response.body);
  const auto& area_codes = json.at("area_codes").as_array();
  ASSERT_EQ(area_codes.size(), 1u) << json;
  const auto& ny = area_codes[0];
  EXPECT_EQ(Field(ny, "active"), "3");
  EXPECT_EQ(Field(ny, "resting"), "1");
  EXPECT_EQ(Field(ny, "ramping"), "2");
  EXPECT_EQ(Field(ny, "full_hourly_capacity"), "6");
  EXPECT_EQ(Field(ny, "full_daily_capacity"), "30");
  EXPECT_EQ(Field(ny, "hourly_capacity"), "4");
  EXPECT_EQ(Field(ny, "daily_capacity"), "4");
  // Five calls today against today's 4: one number more (fewer calls in the busiest hour or day
  // when the test ran across an hour's or a day's end).
  const int busiest =
      std::max(std::stoi(Field(ny, "busiest_hour")), std::stoi(Field(ny, "busiest_day")));
  EXPECT_EQ(Field(ny, "more_numbers_needed"), busiest > 4 ? "1" : "0");
}

}  // namespace
}  // namespace cidrotor::e2e
