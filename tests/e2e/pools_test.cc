// A pool's fallback against the real binary, in both modes: `none` takes the any tier away (a
// destination no local number serves gets 503), `any` gives it back, and GET /api/pools shows it.
#include <string>

#include "e2e/e2e_fixture.h"

namespace cidrotor::e2e {
namespace {

class PoolsTest : public E2eTest {};

TEST_F(PoolsTest, FallbackNoneTakesTheAnyTierAway) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2));
  const auto far = NextCid("to=3105559876");
  ASSERT_EQ(far.status, 200) << far.body;
  EXPECT_EQ(Field(ParseJson(far.body), "match"), "any");
  ASSERT_EQ(
      client().Post("/release", "caller_id=" + Field(ParseJson(far.body), "caller_id")).status,
      200);

  const auto put = Admin("PUT", "/api/pools/default", "fallback=none");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Field(ParseJson(put.body), "fallback"), "none");
  const auto refused = NextCid("to=3105559876");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(Field(ParseJson(refused.body), "error"), "no_caller_id_available");
  const auto local = NextCid("to=2125559876");  // the local tiers still serve
  ASSERT_EQ(local.status, 200) << local.body;
  ASSERT_EQ(
      client().Post("/release", "caller_id=" + Field(ParseJson(local.body), "caller_id")).status,
      200);

  const auto list = ParseJson(Admin("GET", "/api/pools").body);
  const auto& pools = list.at("pools").as_array();
  ASSERT_EQ(pools.size(), 1u) << list;
  EXPECT_EQ(Field(pools[0], "pool"), "default");
  EXPECT_EQ(Field(pools[0], "fallback"), "none");
  EXPECT_EQ(Field(pools[0], "total"), "2");

  // Kept over a restart, then set back.
  server().Kill();
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  EXPECT_EQ(NextCid("to=3105559876").status, 503);
  ASSERT_EQ(Admin("PUT", "/api/pools/default", R"({"fallback":"any"})", "application/json").status,
            200);
  const auto back = NextCid("to=3105559876");
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(Field(ParseJson(back.body), "match"), "any");
}

TEST_F(PoolsTest, BadInputIs400NamingTheField) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(Field(ParseJson(Admin("PUT", "/api/pools/default", "fallback=maybe").body), "field"),
            "fallback");
  EXPECT_EQ(Field(ParseJson(Admin("PUT", "/api/pools/default", "").body), "field"), "fallback");
  EXPECT_EQ(Field(ParseJson(Admin("PUT", "/api/pools/bad%20name", "fallback=none").body), "field"),
            "pool");
  EXPECT_EQ(client().Request("PUT", "/api/pools/default", "fallback=none", {}).status, 401);
}

}  // namespace
}  // namespace cidrotor::e2e
