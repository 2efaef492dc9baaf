// FastAGI against the real binary, next to HTTP: a CURL-style client (GET /next-cid?format=plain,
// POST /release as a form) and Asterisk's AGI() draw from the same pool, with SPEC's invariants;
// AGI release frees the number, by reservation= and by the channel's uniqueid.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agi/asterisk_env.h"
#include "agi/fake_asterisk.h"
#include "e2e/e2e_fixture.h"

namespace cidrotor::e2e {
namespace {

using agi::testing::AsteriskEnv;
using agi::testing::EnvFields;
using agi::testing::FakeAsterisk;

class AgiE2eTest : public E2eTest {
 protected:
  // The variables an AGI exchange set, by name (the last value of each), answering every
  // command with `200 result=1`.
  std::map<std::string, std::string> Agi(const EnvFields& fields, std::uint32_t source = 0) {
    FakeAsterisk asterisk(server().agi_port(), INADDR_LOOPBACK, source);
    EXPECT_TRUE(asterisk.connected());
    std::map<std::string, std::string> vars;
    for (const auto& command : asterisk.Exchange(AsteriskEnv(fields))) {
      const std::string prefix = "SET VARIABLE ";
      EXPECT_EQ(command.rfind(prefix, 0), 0U) << command;
      const auto space = command.find(' ', prefix.size());
      std::string value = command.substr(space + 1);
      if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
      vars[command.substr(prefix.size(), space - prefix.size())] = value;
    }
    return vars;
  }
  std::map<std::string, std::string> AgiNextCid(const std::string& uniqueid,
                                                std::uint32_t source = 0) {
    EnvFields fields;
    fields.uniqueid = uniqueid;
    return Agi(fields, source);
  }
  std::map<std::string, std::string> AgiRelease(const std::string& uniqueid,
                                                const std::string& query,
                                                std::uint32_t source = 0) {
    EnvFields fields;
    fields.uniqueid = uniqueid;
    fields.extension = "h";
    fields.script = "release?" + query;
    return Agi(fields, source);
  }
  HttpResponse CurlNextCid() { return NextCid("format=plain&to=3105559876&cidname=V1"); }
};

TEST_F(AgiE2eTest, CurlAndAgiShareThePoolAndNeverHoldANumberTwice) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(310, 1001, 4));
  std::set<std::string> held;
  for (int i = 0; i < 2; ++i) {
    const auto curl = CurlNextCid();
    ASSERT_EQ(curl.status, 200) << curl.body;
    EXPECT_TRUE(held.insert(curl.body).second) << curl.body;
    auto vars = AgiNextCid("1700000000." + std::to_string(i));
    ASSERT_EQ(vars["CIDROTOR_STATUS"], "ok");
    EXPECT_EQ(vars["CALLERID(num)"], vars["CIDROTOR_CID"]);
    EXPECT_EQ(vars["CIDROTOR_MATCH"], "exchange");  // 310-555 like the destination
    EXPECT_EQ(vars.count("CALLERID(name)"), 0U);
    EXPECT_TRUE(held.insert(vars["CALLERID(num)"]).second) << vars["CALLERID(num)"];
  }
  EXPECT_EQ(held.size(), 4U);
  // The pool is exhausted for both ways alike; AGI reports it and leaves the number alone.
  EXPECT_EQ(CurlNextCid().status, 503);
  auto vars = AgiNextCid("1700000000.9");
  EXPECT_EQ(vars["CIDROTOR_STATUS"], "no_caller_id_available");
  EXPECT_EQ(vars.count("CALLERID(num)"), 0U);
  // Every AGI request is in api_logs too.
  const auto logs = Admin("GET", "/api/logs?limit=100");
  ASSERT_EQ(logs.status, 200) << logs.body;
  EXPECT_NE(logs.body.find("agi:next-cid"), std::string::npos) << logs.body;
}

// AGI_HOST puts FastAGI on an address of its own (where Asterisk reaches it) while the HTTP API
// stays on API_HOST. 127.0.0.2 is loopback too, so the test needs no second interface.
TEST_F(AgiE2eTest, AgiHostBindsFastAgiApartFromTheApi) {
  SKIP_UNLESS_EMBEDDED("binding, the same in both modes");
  ASSERT_NO_FATAL_FAILURE(StartServer({{"AGI_HOST", "127.0.0.2"}}));
  ASSERT_NO_FATAL_FAILURE(AddNumbers(310, 1001, 1));
  EXPECT_FALSE(FakeAsterisk(server().agi_port()).connected()) << "FastAGI still on 127.0.0.1";
  FakeAsterisk asterisk(server().agi_port(), 0x7f000002);
  ASSERT_TRUE(asterisk.connected());
  EnvFields fields;
  fields.uniqueid = "1700000003.1";
  const auto commands = asterisk.Exchange(AsteriskEnv(fields));
  EXPECT_NE(std::find(commands.begin(), commands.end(), "SET VARIABLE CIDROTOR_STATUS \"ok\""),
            commands.end());
  EXPECT_EQ(NextCid("to=3105559876").status, 503) << "the AGI call holds the only number";
}

TEST_F(AgiE2eTest, AgiReleaseFreesTheNumberByUniqueidAndByReservation) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(310, 1001, 1));
  auto first = AgiNextCid("1700000001.1");
  ASSERT_EQ(first["CIDROTOR_STATUS"], "ok");
  EXPECT_EQ(CurlNextCid().status, 503);  // held by the AGI channel

  // The hang-up handler without reservation=: the channel's uniqueid names it.
  EXPECT_EQ(AgiRelease("1700000001.1", "outcome=ANSWER&duration=30")["CIDROTOR_STATUS"], "ok");
  const auto curl = CurlNextCid();
  ASSERT_EQ(curl.status, 200);
  EXPECT_EQ(curl.body, first["CALLERID(num)"]);
  ASSERT_EQ(client().Post("/release", "caller_id=" + curl.body + "&outcome=NOANSWER").status, 200);

  auto second = AgiNextCid("1700000002.1");
  ASSERT_EQ(second["CIDROTOR_STATUS"], "ok");
  EXPECT_EQ(CurlNextCid().status, 503);
  // From another channel, by the reservation id the dialplan passes on.
  EXPECT_EQ(AgiRelease("other.1", "reservation=" + second["CIDROTOR_RESERVATION"] +
                                      "&outcome=BUSY")["CIDROTOR_STATUS"],
            "ok");
  EXPECT_EQ(CurlNextCid().status, 200);
}

// Two Asterisk servers sharing cidrotor can give two channels the same uniqueid (each server's
// start time and counter): a release without reservation= ends its own server's reservation.
TEST_F(AgiE2eTest, SameUniqueidFromTwoAsteriskServersNamesTwoChannels) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(310, 1001, 2));
  constexpr std::uint32_t kServerA = 0x7f000001;  // 127.0.0.1
  constexpr std::uint32_t kServerB = 0x7f000002;  // 127.0.0.2
  auto a = AgiNextCid("1764180000.77", kServerA);
  auto b = AgiNextCid("1764180000.77", kServerB);
  ASSERT_EQ(a["CIDROTOR_STATUS"], "ok");
  ASSERT_EQ(b["CIDROTOR_STATUS"], "ok");
  ASSERT_NE(a["CALLERID(num)"], b["CALLERID(num)"]);
  EXPECT_EQ(AgiRelease("1764180000.77", "outcome=ANSWER", kServerA)["CIDROTOR_STATUS"], "ok");
  const auto live = ParseJson(Admin("GET", "/api/reservations").body);
  const auto& reservations = live.at("reservations").as_array();
  ASSERT_EQ(reservations.size(), 1U) << live;
  EXPECT_EQ(Field(reservations[0], "caller_id"), b["CALLERID(num)"]) << "B's call still holds it";
}

// A channel that asks again (a second Dial after the first failed) shows one caller-ID at a time:
// its earlier reservation ends, and the hang-up handler's release ends the later one.
TEST_F(AgiE2eTest, AChannelAskingAgainReleasesItsEarlierNumber) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(310, 1001, 2));
  ASSERT_EQ(AgiNextCid("1700000005.1")["CIDROTOR_STATUS"], "ok");
  ASSERT_EQ(AgiNextCid("1700000005.1")["CIDROTOR_STATUS"], "ok");
  // The earlier release is sent without waiting for it (cluster mode: a Redis round trip later).
  std::size_t live = 0;
  for (int i = 0; i < 100; ++i) {
    live = ParseJson(Admin("GET", "/api/reservations").body).at("reservations").as_array().size();
    if (live == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(live, 1U) << "the first number was released";
  EXPECT_EQ(CurlNextCid().status, 200);
  // As the shipped handler sends it when CIDROTOR_RESERVATION was never set: empty is absent.
  EXPECT_EQ(AgiRelease("1700000005.1", "reservation=&outcome=ANSWER")["CIDROTOR_STATUS"], "ok");
  EXPECT_EQ(CurlNextCid().status, 200) << "and the hang-up handler released the second";
}

// A second request that gets no number (refused here; a dry pool or a timeout alike) releases
// the earlier one all the same: the channel falls back to its default caller-ID, and the shipped
// hang-up handler skips the release after an error, so the number was held to its TTL.
TEST_F(AgiE2eTest, AChannelAskingAgainInVainReleasesItsEarlierNumberAllTheSame) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(310, 1001, 1));
  ASSERT_EQ(AgiNextCid("1700000006.1")["CIDROTOR_STATUS"], "ok");
  EnvFields again;
  again.uniqueid = "1700000006.1";
  again.extension = "s";
  again.script = "next-cid?to=1234";
  EXPECT_EQ(Agi(again)["CIDROTOR_STATUS"], "invalid_argument");
  HttpResponse next = CurlNextCid();
  for (int i = 0; i < 100 && next.status != 200; ++i) {  // the release is not waited for
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    next = CurlNextCid();
  }
  EXPECT_EQ(next.status, 200) << "the pool's one number was released";
}

// api_logs names the script even when its arguments are refused; unknown scripts are agi:unknown.
// A refused agent or campaign is not logged as sent (its raw bytes made /api/logs invalid UTF-8,
// which strict JSON clients refuse): the names are logged as HTTP logs them.
TEST_F(AgiE2eTest, RefusedRequestsAreLoggedUnderTheirScript) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EnvFields bad;
  bad.script = "next-cid?to=%ZZ";
  EXPECT_EQ(Agi(bad)["CIDROTOR_STATUS"], "invalid_argument");
  EnvFields unknown;
  unknown.script = "dial-out";
  EXPECT_EQ(Agi(unknown)["CIDROTOR_STATUS"], "not_found");
  EnvFields bad_agent;
  bad_agent.script = "next-cid?to=123&agent=%FF&campaign=Sales%201";
  EXPECT_EQ(Agi(bad_agent)["CIDROTOR_STATUS"], "invalid_argument");
  std::map<std::string, std::string> status_by_endpoint;
  std::vector<std::string> names;
  for (int i = 0; i < 100 && names.size() < 3; ++i) {  // api_logs: group commit
    status_by_endpoint.clear();
    names.clear();
    const auto logs = ParseJson(Admin("GET", "/api/logs?limit=100").body);  // fails on bad UTF-8
    for (const auto& log : logs.at("logs").as_array()) {
      if (Field(log, "method") == "AGI") {
        status_by_endpoint[Field(log, "endpoint")] = Field(log, "status_code");
        names.push_back(Field(log, "agent") + "/" + Field(log, "campaign"));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status_by_endpoint,
            (std::map<std::string, std::string>{{"agi:next-cid", "400"}, {"agi:unknown", "404"}}));
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "/Sales 1");  // newest first: the refused agent is not logged
}

// An inbound call to a rotated number: `lookup` names the campaign, agent and lead whose call
// reached the caller, for the dialplan to route the callback; every variable is set each time.
TEST_F(AgiE2eTest, AgiLookupRoutesACallbackToTheCallThatReachedTheCaller) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(310, 1001, 1));
  const auto call = NextCid("to=4155550001&campaign=sales&agent=a7&lead=99&format=plain");
  ASSERT_EQ(call.status, 200) << call.body;
  ASSERT_EQ(client().Post("/release", "caller_id=" + call.body + "&outcome=NOANSWER").status, 200);
  const auto other = NextCid("to=7025550002&campaign=retention&agent=a8&format=plain");
  ASSERT_EQ(other.status, 200) << other.body;

  EnvFields inbound;
  inbound.script = "lookup";
  inbound.extension = "1" + call.body;  // the DID the party dialled back
  inbound.callerid = "+14155550001";
  inbound.calleridname = "CALLER NAME";
  auto vars = Agi(inbound);
  EXPECT_EQ(vars["CIDROTOR_STATUS"], "ok");
  EXPECT_EQ(vars["CIDROTOR_CAMPAIGN"], "sales");
  EXPECT_EQ(vars["CIDROTOR_AGENT"], "a7");
  EXPECT_EQ(vars["CIDROTOR_LEAD"], "99");
  EXPECT_EQ(vars["CIDROTOR_POOL"], "default");
  EXPECT_FALSE(vars["CIDROTOR_RESERVATION"].empty());
  EXPECT_EQ(vars.count("CALLERID(num)"), 0U);  // an inbound call's caller-ID is left alone

  // Every answer sets every variable, so none is left over from an earlier lookup.
  const auto all_empty_but_status = [](std::map<std::string, std::string> answer) {
    for (const char* name : {"CIDROTOR_CAMPAIGN", "CIDROTOR_AGENT", "CIDROTOR_LEAD",
                             "CIDROTOR_POOL", "CIDROTOR_RESERVATION"}) {
      if (answer.count(name) != 1 || !answer[name].empty()) return false;
    }
    return true;
  };
  inbound.callerid = "2065550003";  // a party the number never called
  vars = Agi(inbound);
  EXPECT_EQ(vars["CIDROTOR_STATUS"], "no_match");
  EXPECT_TRUE(all_empty_but_status(vars));
  inbound.callerid = "+442072345678";  // not 207-234-5678: an international caller
  vars = Agi(inbound);
  EXPECT_EQ(vars["CIDROTOR_STATUS"], "no_match");
  inbound.extension = "2125559999";  // not one of ours
  vars = Agi(inbound);
  EXPECT_EQ(vars["CIDROTOR_STATUS"], "not_found");
  EXPECT_TRUE(all_empty_but_status(vars));
  inbound.script = "lookup?caller_id=%ZZ";  // refused before the lookup starts
  vars = Agi(inbound);
  EXPECT_EQ(vars["CIDROTOR_STATUS"], "invalid_argument");
  EXPECT_TRUE(all_empty_but_status(vars));
  // api_logs rows are written by the next commit, never waited for: on a loaded host the read
  // can come first (a fresh-clone run on CI's two cores did), so wait for it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  HttpResponse logs = Admin("GET", "/api/logs?limit=100");
  while (logs.body.find("agi:lookup") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    logs = Admin("GET", "/api/logs?limit=100");
  }
  EXPECT_NE(logs.body.find("agi:lookup"), std::string::npos) << logs.body;
}

// Issue 6: /metrics and the dashboard count FastAGI allocations too (the store is observed,
// not the HTTP handler).
TEST_F(AgiE2eTest, AgiAllocationsAreCountedInMetrics) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(310, 1001, 1));
  ASSERT_FALSE(AgiNextCid("1700000000.1")["CIDROTOR_CID"].empty());
  const std::string metrics = client().Get("/metrics").body;
  EXPECT_NE(metrics.find("cidrotor_allocation_duration_seconds_count 1\n"), std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("endpoint=\"/next-cid\""), std::string::npos);  // not over HTTP
}

}  // namespace
}  // namespace cidrotor::e2e
