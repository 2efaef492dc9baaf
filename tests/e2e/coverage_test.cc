// GET /api/coverage against the real binary, in both modes: the calls just made and the numbers
// there are, per area code, with the numbers each needs; admin only.
#include <string>

#include "e2e/e2e_fixture.h"

namespace cidrotor::e2e {
namespace {

class CoverageE2eTest : public E2eTest {};

TEST_F(CoverageE2eTest, ReportsCallsNumbersAndTheNumbersNeeded) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2, "hourly_limit=2"));
  for (int i = 0; i < 3; ++i) {
    const auto allocated = NextCid("to=212555987" + std::to_string(i));
    ASSERT_EQ(allocated.status, 200) << allocated.body;
    ASSERT_EQ(client()
                  .Post("/release", "caller_id=" + Field(ParseJson(allocated.body), "caller_id"))
                  .status,
              200);
  }
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

}  // namespace
}  // namespace cidrotor::e2e
