// GET /api/lookup against the real binary, in both modes: who used a number last and which of
// its calls reached a party calling back, through kill -9 and a restart; admin only.
#include <string>

#include "e2e/e2e_fixture.h"

namespace cidrotor::e2e {
namespace {

class LookupE2eTest : public E2eTest {
 protected:
  boost::json::value Lookup(const std::string& query) {
    const auto response = Admin("GET", "/api/lookup?" + query);
    EXPECT_EQ(response.status, 200) << response.body;
    return ParseJson(response.body);
  }
};

TEST_F(LookupE2eTest, FindsTheLastUseAndTheCallThatReachedAPartyAfterARestart) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
  const std::string number = Number(212, 1001);
  // The pool's one number calls 310-555-9876 for agent a1 (answered), then 415-555-0001 for a2.
  const auto first = NextCid("to=3105559876&campaign=sales&agent=a1&lead=77");
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(Field(ParseJson(first.body), "caller_id"), number);
  ASSERT_EQ(client().Post("/release", "caller_id=" + number + "&outcome=ANSWER&duration=42").status,
            200);
  const auto second = NextCid("to=4155550001&campaign=sales&agent=a2");
  ASSERT_EQ(second.status, 200) << second.body;
  const std::string second_id = Field(ParseJson(second.body), "reservation_id");
  server().Kill();  // right after the 200: both calls must be in the history
  ASSERT_NO_FATAL_FAILURE(RestartServer());

  const auto found = Lookup("caller_id=" + number + "&from=%2B1%20(310)%20555-9876");
  EXPECT_EQ(Field(found, "caller_id"), number);
  EXPECT_EQ(Field(found, "from"), "3105559876");
  const auto& last = found.at("last");
  EXPECT_EQ(Field(last, "reservation_id"), second_id);
  EXPECT_EQ(Field(last, "agent"), "a2");
  EXPECT_EQ(Field(last, "destination"), "4155550001");
  EXPECT_EQ(Field(last, "live"), "true");
  const auto& called = found.at("called");
  EXPECT_EQ(Field(called, "reservation_id"), Field(ParseJson(first.body), "reservation_id"));
  EXPECT_EQ(Field(called, "agent"), "a1");
  EXPECT_EQ(Field(called, "campaign"), "sales");
  EXPECT_EQ(Field(called, "lead_id"), "77");
  EXPECT_EQ(Field(called, "outcome"), "answered");
  EXPECT_EQ(Field(called, "duration"), "42");
  EXPECT_EQ(Field(called, "live"), "false");

  // A party the number never called; no `from`: no search at all.
  EXPECT_TRUE(Lookup("caller_id=" + number + "&from=7025550000").at("called").is_null());
  EXPECT_FALSE(Lookup("caller_id=" + number).as_object().contains("called"));
}

// A number retired (deleted) for its "spam likely" label still gets callbacks for days: its calls
// are found as before, with `deleted`, after a restart too; one never used and deleted is 404.
TEST_F(LookupE2eTest, FindsTheCallsOfADeletedNumber) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2));
  const auto call = NextCid("to=3105559876&campaign=sales&agent=a1");
  ASSERT_EQ(call.status, 200) << call.body;
  const std::string number = Field(ParseJson(call.body), "caller_id");
  ASSERT_EQ(client().Post("/release", "caller_id=" + number + "&outcome=ANSWER").status, 200);
  ASSERT_EQ(Admin("DELETE", "/api/numbers/" + number).status, 200);
  const std::string unused = number == Number(212, 1001) ? Number(212, 1002) : Number(212, 1001);
  ASSERT_EQ(Admin("DELETE", "/api/numbers/" + unused).status, 200);
  ASSERT_NO_FATAL_FAILURE(RestartServer());

  const auto found = Lookup("caller_id=" + number + "&from=3105559876");
  EXPECT_EQ(Field(found, "deleted"), "true");
  EXPECT_EQ(Field(found.at("last"), "reservation_id"),
            Field(ParseJson(call.body), "reservation_id"));
  EXPECT_EQ(Field(found.at("called"), "agent"), "a1");
  EXPECT_EQ(Field(found.at("called"), "campaign"), "sales");
  EXPECT_EQ(Admin("GET", "/api/lookup?caller_id=" + unused).status, 404);
}

TEST_F(LookupE2eTest, AnswersNotFoundBadInputAndUnauthorized) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
  const auto unused = Lookup("caller_id=" + Number(212, 1001));
  EXPECT_TRUE(unused.at("last").is_null());

  const auto unknown = Admin("GET", "/api/lookup?caller_id=2125551999");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Field(ParseJson(unknown.body), "error"), "not_found");
  EXPECT_EQ(Field(ParseJson(unknown.body), "field"), "caller_id");
  const auto missing = Admin("GET", "/api/lookup?from=3105559876");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(Field(ParseJson(missing.body), "field"), "caller_id");
  const auto bad_from = Admin("GET", "/api/lookup?caller_id=" + Number(212, 1001) + "&from=911");
  EXPECT_EQ(bad_from.status, 400);
  EXPECT_EQ(Field(ParseJson(bad_from.body), "field"), "from");
  EXPECT_EQ(client().Get("/api/lookup?caller_id=" + Number(212, 1001)).status, 401);
}

}  // namespace
}  // namespace cidrotor::e2e
