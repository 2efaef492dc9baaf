// Campaigns → pools through the admin API against the real binary, in both modes: a mapped
// campaign allocates from its pool and nowhere else, an unmapped one from pool "default", and the
// table survives kill -9.
#include <string>

#include "e2e/e2e_fixture.h"

namespace cidrotor::e2e {
namespace {

class CampaignsTest : public E2eTest {
 protected:
  // 212-555-1001 in pool default, 212-555-2001 in pool east.
  void AddTwoPools() {
    ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
    ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 2001, 1, "pool=east"));
  }
  // The caller-ID and pool /next-cid answers for `campaign`, "status <code>" when refused.
  std::string NextFor(const std::string& campaign) {
    const auto r = NextCid("to=2125559876&campaign=" + campaign);
    if (r.status != 200) return "status " + std::to_string(r.status);
    const auto json = ParseJson(r.body);
    return Field(json, "caller_id") + " " + Field(json, "pool");
  }
  void ReleaseNumber(const std::string& number) {
    EXPECT_EQ(client().Post("/release", "caller_id=" + number).status, 200);
  }
};

TEST_F(CampaignsTest, AMappedCampaignAllocatesFromItsPoolOnly) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddTwoPools());
  const auto put = Admin("PUT", "/api/campaigns/sales", "pool=east");
  ASSERT_EQ(put.status, 200) << put.body;
  const auto json = ParseJson(put.body);
  EXPECT_EQ(Field(json, "success"), "true");
  EXPECT_EQ(Field(json, "campaign"), "sales");
  EXPECT_EQ(Field(json, "pool"), "east");
  EXPECT_EQ(Field(json, "mapped"), "true");

  EXPECT_EQ(NextFor("sales"), "2125552001 east");
  EXPECT_EQ(NextFor("sales"), "status 503");  // east is used up: never a number of another pool
  EXPECT_EQ(NextFor("support"), "2125551001 default");
  ReleaseNumber("2125552001");
  EXPECT_EQ(NextFor("sales"), "2125552001 east");
}

// Names as the dialer has them: a campaign with a space and a slash, an agent with a space and an
// accent, through the path (percent-encoded) and the query alike; the answer and the history
// show them as they are.
TEST_F(CampaignsTest, CampaignAndAgentNamesAreTakenAsTheDialerHasThem) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddTwoPools());
  ASSERT_EQ(Admin("PUT", "/api/campaigns/SALES%2001%2Fwest", "pool=east").status, 200);
  const auto r = NextCid("to=2125559876&campaign=SALES%2001%2Fwest&agent=Zo%C3%AB%20Smith");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto json = ParseJson(r.body);
  EXPECT_EQ(Field(json, "pool"), "east");
  EXPECT_EQ(Field(json, "campaign"), "SALES 01/west");
  EXPECT_EQ(Field(json, "agent"), "Zo\xC3\xAB Smith");
  const auto listed = ParseJson(Admin("GET", "/api/campaigns/SALES%2001%2Fwest").body);
  EXPECT_EQ(Field(listed, "pool"), "east");
}

TEST_F(CampaignsTest, ListGetAndUnmap) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddTwoPools());
  ASSERT_EQ(Admin("PUT", "/api/campaigns/sales", R"({"pool":"east"})", "application/json").status,
            200);
  ASSERT_EQ(Admin("PUT", "/api/campaigns/retention?pool=west", "").status, 200);
  ASSERT_EQ(Admin("PUT", "/api/campaigns/retention", "pool=east").status, 200);  // replaces

  const auto list = ParseJson(Admin("GET", "/api/campaigns").body);
  EXPECT_EQ(Field(list, "default_pool"), "default");
  const auto& campaigns = list.at("campaigns").as_array();
  ASSERT_EQ(campaigns.size(), 2U);
  EXPECT_EQ(Field(campaigns[0], "campaign"), "retention");
  EXPECT_EQ(Field(campaigns[0], "pool"), "east");
  EXPECT_EQ(Field(campaigns[1], "campaign"), "sales");

  const auto sales = ParseJson(Admin("GET", "/api/campaigns/sales").body);
  EXPECT_EQ(Field(sales, "pool"), "east");
  EXPECT_EQ(Field(sales, "mapped"), "true");
  const auto other = Admin("GET", "/api/campaigns/support");
  EXPECT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(Field(ParseJson(other.body), "pool"), "default");
  EXPECT_EQ(Field(ParseJson(other.body), "mapped"), "false");

  const auto removed = Admin("DELETE", "/api/campaigns/sales");
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(Field(ParseJson(removed.body), "pool"), "default");
  EXPECT_EQ(NextFor("sales"), "2125551001 default");
  const auto again = Admin("DELETE", "/api/campaigns/sales");
  EXPECT_EQ(again.status, 404) << again.body;
  EXPECT_EQ(Field(ParseJson(again.body), "error"), "not_found");
}

TEST_F(CampaignsTest, BadInputIs400NamingTheFieldAndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const auto expect_error = [](const HttpResponse& r, int status, const char* field) {
    EXPECT_EQ(r.status, status) << r.body;
    if (*field != '\0') {
      EXPECT_EQ(Field(ParseJson(r.body), "field"), field) << r.body;
    }
  };
  expect_error(Admin("PUT", "/api/campaigns/sales", ""), 400, "pool");
  expect_error(Admin("PUT", "/api/campaigns/sales", "pool=east%20side"), 400, "pool");
  expect_error(Admin("PUT", "/api/campaigns/sales", "pool=" + std::string(65, 'p')), 400, "pool");
  // A campaign is a dialer's name as it is ("SALES 01" is one): not a control character, not
  // invalid UTF-8, not blank, at most 64 bytes.
  expect_error(Admin("PUT", "/api/campaigns/sales%01team", "pool=east"), 400, "campaign");
  expect_error(Admin("PUT", "/api/campaigns/%FF", "pool=east"), 400, "campaign");
  expect_error(Admin("PUT", "/api/campaigns/%20", "pool=east"), 400, "campaign");
  expect_error(Admin("PUT", "/api/campaigns/" + std::string(65, 'c'), "pool=east"), 400,
               "campaign");
  expect_error(Admin("GET", "/api/campaigns/sales%0Ateam"), 400, "campaign");
  expect_error(client().Request("PUT", "/api/campaigns/sales", "pool=east", {}), 401, "");
  expect_error(client().Get("/api/campaigns"), 401, "");
  const auto list = ParseJson(Admin("GET", "/api/campaigns").body);
  EXPECT_TRUE(list.at("campaigns").as_array().empty()) << list;
}

TEST_F(CampaignsTest, TheTableSurvivesKillNine) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddTwoPools());
  ASSERT_EQ(Admin("PUT", "/api/campaigns/sales", "pool=east").status, 200);
  ASSERT_EQ(Admin("PUT", "/api/campaigns/support", "pool=east").status, 200);
  ASSERT_EQ(Admin("DELETE", "/api/campaigns/support").status, 200);

  server().Kill();  // right after the last 200
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  EXPECT_EQ(NextFor("sales"), "2125552001 east");
  EXPECT_EQ(NextFor("support"), "2125551001 default");
}

}  // namespace
}  // namespace cidrotor::e2e
