#include "agi/agi_request.h"

#include <gtest/gtest.h>

#include "agi/agi_reply.h"
#include "agi/asterisk_env.h"
#include "agi/reservation_memo.h"
#include "service/requests.h"

namespace cidrotor::agi {
namespace {

using testing::AsteriskEnv;
using testing::EnvFields;

Environment Env(const EnvFields& fields) {
  EnvironmentParser parser;
  EXPECT_EQ(parser.Feed(AsteriskEnv(fields)).state, ParseState::kDone);
  return parser.TakeEnvironment();
}

TEST(AgiRequestTest, NextCidTakesDestinationCallCodeAndQuery) {
  auto request = ParseAgiRequest(Env({}));
  ASSERT_TRUE(request.has_value()) << request.error().ToString();
  EXPECT_EQ(request->script, AgiScript::kNextCid);
  EXPECT_EQ(request->uniqueid, "1700000000.42");
  EXPECT_EQ(request->channel, "SIP/carrier-0000001a");
  auto allocation = service::ParseAllocateRequest(request->params);
  ASSERT_TRUE(allocation.has_value()) << allocation.error().ToString();
  EXPECT_EQ(allocation->destination.ToString(), "3105559876");  // dial prefix 9 dropped
  EXPECT_EQ(allocation->campaign, "sales");
  EXPECT_EQ(allocation->agent, "agent001");
  EXPECT_EQ(allocation->lead_id, 12345U);
}

TEST(AgiRequestTest, FallsBackToTheDnidWhenTheExtensionIsNotANumber) {
  EnvFields fields;
  fields.extension = "s";
  fields.dnid = "12125559876";
  auto request = ParseAgiRequest(Env(fields));
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->params.Get("to"), "12125559876");
}

TEST(AgiRequestTest, WithoutADestinationTheServiceNamesTheField) {
  EnvFields fields;
  fields.extension = "h";
  auto request = ParseAgiRequest(Env(fields));
  ASSERT_TRUE(request.has_value());
  auto allocation = service::ParseAllocateRequest(request->params);
  ASSERT_FALSE(allocation.has_value());
  EXPECT_EQ(allocation.error().field(), "to");
}

TEST(AgiRequestTest, ReadsTheScriptFromAgiRequestAndArgumentsFromAgiArgs) {
  EnvironmentParser parser;
  ASSERT_EQ(parser
                .Feed("agi_request: agi://10.0.0.5:4573/release?outcome=ANSWER&reservation=77\n"
                      "agi_uniqueid: 1.2\n"
                      "agi_arg_1: duration=42\n"
                      "agi_arg_2: positional\n"
                      "agi_arg_3: campaign=a%20b\n\n")
                .state,
            ParseState::kDone);
  auto request = ParseAgiRequest(parser.environment());
  ASSERT_TRUE(request.has_value()) << request.error().ToString();
  EXPECT_EQ(request->script, AgiScript::kRelease);
  EXPECT_EQ(request->params.Get("campaign"), "a%20b");  // agi_arg values are taken as they are
  auto release = service::ParseReleaseRequest(request->params);
  ASSERT_TRUE(release.has_value()) << release.error().ToString();
  EXPECT_EQ(release->reservation_id, 77U);
  EXPECT_EQ(release->outcome, core::CallOutcome::kAnswered);
  EXPECT_EQ(release->duration_seconds, 42U);
}

TEST(AgiRequestTest, PercentDecodesTheQuery) {
  EnvFields fields;
  fields.script = "/next-cid/?campaign=sales%5Fwest&agent=";
  auto request = ParseAgiRequest(Env(fields));
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->params.Get("campaign"), "sales_west");
  EXPECT_EQ(request->params.Get("agent"), std::nullopt);  // empty counts as absent
  fields.script = "next-cid?campaign=%zz";
  EXPECT_FALSE(ParseAgiRequest(Env(fields)).has_value());
}

TEST(AgiRequestTest, LookupTakesTheDialledNumberAsOursAndTheCallerAsTheParty) {
  EnvFields fields;
  fields.script = "lookup";
  fields.extension = "+12125550100";  // an inbound DID as the carrier sends it
  fields.callerid = "13105559876";
  auto request = ParseAgiRequest(Env(fields));
  ASSERT_TRUE(request.has_value()) << request.error().ToString();
  EXPECT_EQ(request->script, AgiScript::kLookup);
  EXPECT_FALSE(request->params.Has("to"));
  auto query = service::ParseLookupQuery(request->params);
  ASSERT_TRUE(query.has_value()) << query.error().ToString();
  EXPECT_EQ(query->caller_id.ToString(), "2125550100");
  ASSERT_TRUE(query->from.has_value());
  EXPECT_EQ(query->from->ToString(), "3105559876");

  // No party to search for: withheld, international (not its last 10 digits), internal.
  for (const char* caller : {"anonymous", "+442072345678", "+4532123456", "100", ""}) {
    fields.callerid = caller;
    request = ParseAgiRequest(Env(fields));
    ASSERT_TRUE(request.has_value()) << caller;
    EXPECT_FALSE(request->params.Has("from")) << caller;
  }
  // The dialplan may name both (e.g. from ${CALLERID(num)} after its own normalisation).
  fields.script = "lookup?caller_id=2125550101&from=4155550001";
  request = ParseAgiRequest(Env(fields));
  ASSERT_TRUE(request.has_value());
  query = service::ParseLookupQuery(request->params);
  ASSERT_TRUE(query.has_value());
  EXPECT_EQ(query->caller_id.ToString(), "2125550101");
  EXPECT_EQ(query->from->ToString(), "4155550001");
  EXPECT_EQ(AgiScriptName(AgiScript::kLookup), "lookup");
}

// The caller ID name is next-cid's lead hint only: a name longer than any parameter (an inbound
// caller sets their own) used to fail release and lookup with "(cidname): is too long".
TEST(AgiRequestTest, TheCallerIdNameIsOnlyNextCidsHintAndALongOneIsLeftOut) {
  EnvFields fields;
  fields.calleridname = std::string(1100, 'A');
  auto next_cid = ParseAgiRequest(Env(fields));
  ASSERT_TRUE(next_cid.has_value()) << next_cid.error().ToString();
  EXPECT_FALSE(next_cid->params.Has("cidname"));
  EXPECT_TRUE(service::ParseAllocateRequest(next_cid->params).has_value());

  fields.calleridname = "V11251430120000012345";
  fields.script = "release?reservation=188&outcome=ANSWER";
  auto release = ParseAgiRequest(Env(fields));
  ASSERT_TRUE(release.has_value()) << release.error().ToString();
  EXPECT_FALSE(release->params.Has("cidname"));
  fields.script = "lookup";
  fields.extension = "2125550100";
  fields.calleridname = std::string(1100, 'B');
  auto lookup = ParseAgiRequest(Env(fields));
  ASSERT_TRUE(lookup.has_value()) << lookup.error().ToString();
  EXPECT_TRUE(service::ParseLookupQuery(lookup->params).has_value());
}

TEST(AgiRequestTest, UnknownScriptIsNotFound) {
  for (const char* script : {"hello", "", "next-cidx?campaign=a"}) {
    EnvFields fields;
    fields.script = script;
    auto request = ParseAgiRequest(Env(fields));
    ASSERT_FALSE(request.has_value()) << script;
    EXPECT_EQ(StatusFor(request.error()), "not_found");
  }
}

TEST(AgiReplyTest, SetVariableQuotesAndEscapes) {
  EXPECT_EQ(SetVariableCommand("CALLERID(num)", "3105551234"),
            "SET VARIABLE CALLERID(num) \"3105551234\"\n");
  EXPECT_EQ(SetVariableCommand("X", "a\"b\\c\nd"), "SET VARIABLE X \"a\\\"b\\\\cd\"\n");
}

TEST(ReservationMemoTest, RemembersFindsForgetsAndExpires) {
  const core::TimePoint t0{std::chrono::seconds(1'000'000)};
  ReservationMemo memo(2, std::chrono::seconds(60));
  EXPECT_EQ(memo.Remember("u1", 10, t0), std::nullopt);
  EXPECT_EQ(memo.Remember("", 11, t0), std::nullopt);  // ignored
  EXPECT_EQ(memo.Find("u1", t0), 10U);
  EXPECT_EQ(memo.Find("u1", t0), 10U);  // kept until released
  memo.Forget("u1", 10);
  EXPECT_EQ(memo.Find("u1", t0), std::nullopt);
  (void)memo.Remember("u2", 20, t0);
  EXPECT_EQ(memo.Find("u2", t0 + std::chrono::seconds(61)), std::nullopt);  // expired
}

TEST(ReservationMemoTest, IsBoundedOldestFirst) {
  const core::TimePoint t0{std::chrono::seconds(1'000'000)};
  ReservationMemo memo(2, std::chrono::seconds(60));
  (void)memo.Remember("a", 1, t0);
  (void)memo.Remember("b", 2, t0);
  (void)memo.Remember("c", 3, t0);
  EXPECT_EQ(memo.size(), 2U);
  EXPECT_EQ(memo.Find("a", t0), std::nullopt);
  EXPECT_EQ(memo.Find("c", t0), 3U);
  memo.Forget("b", 99);  // another reservation: kept
  EXPECT_EQ(memo.Find("b", t0), 2U);
  for (int i = 0; i < 1000; ++i) (void)memo.Remember("same", static_cast<std::uint64_t>(i), t0);
  EXPECT_EQ(memo.Find("same", t0), 999U);
  EXPECT_EQ(memo.Find("c", t0), 3U) << "a channel asking again makes no room by evicting another";
}

// A channel that asks again is answered with the reservation it replaces, for the caller to end.
TEST(ReservationMemoTest, RememberingAChannelAgainHandsBackTheEarlierReservation) {
  const core::TimePoint t0{std::chrono::seconds(1'000'000)};
  ReservationMemo memo(4, std::chrono::seconds(60));
  EXPECT_EQ(memo.Remember("u1", 10, t0), std::nullopt);
  EXPECT_EQ(memo.Remember("u1", 10, t0), std::nullopt) << "the same reservation: nothing to end";
  EXPECT_EQ(memo.Remember("u1", 11, t0), 10U);
  EXPECT_EQ(memo.Find("u1", t0), 11U);
  EXPECT_EQ(memo.Remember("u1", 12, t0 + std::chrono::seconds(61)), std::nullopt)
      << "the earlier entry had expired";
}

// Asterisk's uniqueids are unique per Asterisk server: the key names the server too.
TEST(ReservationMemoTest, ChannelKeysOfTwoAsteriskServersDiffer) {
  EXPECT_NE(ChannelKey("10.0.0.1", "1764180000.77"), ChannelKey("10.0.0.2", "1764180000.77"));
  EXPECT_EQ(ChannelKey("10.0.0.1", "1764180000.77"), ChannelKey("10.0.0.1", "1764180000.77"));
  EXPECT_EQ(ChannelKey("10.0.0.1", ""), "") << "no uniqueid, nothing to remember";
}

}  // namespace
}  // namespace cidrotor::agi
