// The tiers of the allocation ladder against the real binary, in both modes: `state` between the
// area code and `any`, and `sticky` first for a lead (by `lead`, or by VICIdial's call code in
// `cidname`), kept over a kill -9 and a restart.
#include <string>

#include "e2e/e2e_fixture.h"

namespace cidrotor::e2e {
namespace {

class TiersTest : public E2eTest {
 protected:
  // The caller-ID and tier of an allocation, released again at once.
  std::pair<std::string, std::string> TakeAndRelease(const std::string& query) {
    const auto response = NextCid(query);
    EXPECT_EQ(response.status, 200) << query << ": " << response.body;
    if (response.status != 200) return {};
    const auto json = ParseJson(response.body);
    const std::string caller_id = Field(json, "caller_id");
    EXPECT_EQ(client().Post("/release", "caller_id=" + caller_id).status, 200);
    return {caller_id, Field(json, "match")};
  }
};

TEST_F(TiersTest, AfterTheAreaCodeTheSameStateThenAny) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(646, 1001, 1));  // New York (Manhattan's overlay)
  ASSERT_NO_FATAL_FAILURE(AddNumbers(415, 1001, 1));  // California
  using Pick = std::pair<std::string, std::string>;
  EXPECT_EQ(TakeAndRelease("to=2125559876"), (Pick{"6465551001", "state"}));
  EXPECT_EQ(TakeAndRelease("to=3105559876"), (Pick{"4155551001", "state"}));
  EXPECT_EQ(TakeAndRelease("to=6465559876"), (Pick{"6465551001", "exchange"}));
  EXPECT_EQ(TakeAndRelease("to=6175559876").second, "any");  // Massachusetts: no number there
}

TEST_F(TiersTest, ALeadGetsItsNumberBackAlsoAfterAKill) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 3));
  using Pick = std::pair<std::string, std::string>;
  EXPECT_EQ(TakeAndRelease("to=2125559876&lead=42"), (Pick{"2125551001", "exchange"}));
  // 1002 and 1003 were never used, so the ladder would take them: the lead's number comes first.
  EXPECT_EQ(TakeAndRelease("to=2125559876&lead=42"), (Pick{"2125551001", "sticky"}));
  EXPECT_EQ(TakeAndRelease("to=2125559876&lead=7"), (Pick{"2125551002", "exchange"}));
  // A release is answered before its commit (lost, it only leaves the number reserved until its
  // TTL): a change answered after its commit, which comes later in the journal, makes it durable.
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1004, 1));

  server().Kill();
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  EXPECT_EQ(TakeAndRelease("to=2125559876&lead=42"), (Pick{"2125551001", "sticky"}));
  // VICIdial's call code carries the lead id: V + MMDDhhmmss + the lead zero-padded to 10.
  EXPECT_EQ(TakeAndRelease("to=2125559876&cidname=V1125143012"
                           "0000000007"),
            (Pick{"2125551002", "sticky"}));
  EXPECT_EQ(TakeAndRelease("to=2125559876").first, "2125551003");  // no lead: the ladder
}

TEST_F(TiersTest, StickyDaysZeroTurnsTheTierOff) {
  ASSERT_NO_FATAL_FAILURE(StartServer({{"STICKY_DAYS", "0"}}));
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2));
  using Pick = std::pair<std::string, std::string>;
  EXPECT_EQ(TakeAndRelease("to=2125559876&lead=42"), (Pick{"2125551001", "exchange"}));
  EXPECT_EQ(TakeAndRelease("to=2125559876&lead=42"), (Pick{"2125551002", "exchange"}));
}

}  // namespace
}  // namespace cidrotor::e2e
