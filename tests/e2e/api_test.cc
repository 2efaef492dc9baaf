// The public API against the real binary: the seed's /next-cid fields, the plain format, every
// error status of SPEC's table, admin authentication and release.
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_fixture.h"

namespace cidrotor::e2e {
namespace {

using test_support::BearerAuth;

class ApiTest : public E2eTest {};

void ExpectError(const HttpResponse& r, int status, const char* code, const char* field = "") {
  EXPECT_EQ(r.status, status) << r.body;
  const auto json = ParseJson(r.body);
  EXPECT_EQ(Field(json, "success"), "false") << r.body;
  EXPECT_EQ(Field(json, "error"), code) << r.body;
  if (*field != '\0') {
    EXPECT_EQ(Field(json, "field"), field) << r.body;
  }
}

TEST_F(ApiTest, NextCidAnswersWithTheSeedFieldsPlusMatchAndReservation) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1, "area_code=212"));
  const auto r = NextCid("to=2124449876&campaign=sales_campaign&agent=agent001");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.Header("content-type").find("application/json"), std::string::npos);
  const auto json = ParseJson(r.body);
  EXPECT_EQ(Field(json, "success"), "true");
  EXPECT_EQ(Field(json, "caller_id"), "2125551001");
  EXPECT_EQ(Field(json, "area_code"), "212");
  EXPECT_EQ(Field(json, "carrier"), "AT&T");
  EXPECT_TRUE(ReservedForIsTtl(json, 300)) << r.body;
  EXPECT_EQ(Field(json, "destination"), "2124449876");
  EXPECT_EQ(Field(json, "agent"), "agent001");
  EXPECT_EQ(Field(json, "campaign"), "sales_campaign");
  EXPECT_EQ(Field(json, "match"), "area_code");
  EXPECT_FALSE(Field(json, "reservation_id").empty()) << r.body;
}

TEST_F(ApiTest, AcceptsEveryDestinationFormAndEmptyParameters) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 5));
  // The seed's dialplan sends empty campaign and agent; they count as absent. A '+' left
  // unencoded in the query arrives as a space; "+1" is still read as NANP's country code.
  for (const char* to :
       {"%2B1%20(212)%20555-9876", "12125559876", "212.555.9876", "912125559876", "+12125559876"}) {
    const auto r = NextCid(std::string("to=") + to + "&campaign=&agent=");
    ASSERT_EQ(r.status, 200) << to << " " << r.body;
    const auto json = ParseJson(r.body);
    EXPECT_EQ(Field(json, "destination"), "2125559876") << to;
    EXPECT_EQ(Field(json, "campaign"), "default");
    EXPECT_EQ(Field(json, "agent"), "auto");
  }
}

TEST_F(ApiTest, FallsBackToAnyNumberWhenTheAreaCodeHasNone) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
  const auto r = NextCid("to=3105559876");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Field(ParseJson(r.body), "match"), "any");
}

TEST_F(ApiTest, PlainFormatIsTheDigitsOnlyAndAnEmptyBodyOnError) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
  const auto ok = NextCid("to=2125559876&format=plain");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "2125551001");  // no newline: ${CURL(...)} is the caller-ID

  const auto exhausted = NextCid("to=2125559876&format=plain");
  EXPECT_EQ(exhausted.status, 503);
  EXPECT_EQ(exhausted.body, "");
  const auto bad = NextCid("to=12&format=plain");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, "");
}

// The shipped CURL dialplan's way: the digits and the reservation, which its hang-up handler
// releases (by reservation: a call that outlived its TTL must not end the next call's).
TEST_F(ApiTest, CsvFormatIsTheDigitsAndTheReservationToReleaseBy) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
  const auto ok = NextCid("to=2125559876&format=csv");
  ASSERT_EQ(ok.status, 200) << ok.body;
  const auto comma = ok.body.find(',');
  ASSERT_EQ(comma, 10u) << ok.body;
  EXPECT_EQ(ok.body.substr(0, comma), "2125551001");
  const std::string reservation = ok.body.substr(comma + 1);
  ASSERT_FALSE(reservation.empty());
  EXPECT_EQ(reservation.find_first_not_of("0123456789"), std::string::npos) << ok.body;
  EXPECT_EQ(NextCid("to=2125559876&format=csv").body, "");  // 503: empty, as plain
  const auto released =
      client().Post("/release", "reservation_id=" + reservation + "&outcome=ANSWER&duration=3");
  ASSERT_EQ(released.status, 200) << released.body;
  EXPECT_EQ(Field(ParseJson(released.body), "released"), "true") << released.body;
  ExpectError(NextCid("to=2125559876&format=xml"), 400, "invalid_argument", "format");
}

TEST_F(ApiTest, BadDestinationIs400NamingToAndAllocatesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
  ExpectError(client().Get("/next-cid"), 400, "invalid_argument", "to");
  ExpectError(NextCid("to="), 400, "invalid_argument", "to");
  ExpectError(NextCid("to=abc"), 400, "invalid_argument", "to");
  ExpectError(NextCid("to=1115559876"), 400, "invalid_argument", "to");  // area code 1XX
  ExpectError(NextCid("to=2115559876"), 400, "invalid_argument", "to");  // N11 area code
  ExpectError(NextCid("to=2121115555"), 400, "invalid_argument", "to");  // N11 exchange
  ExpectError(NextCid("to=" + std::string(4000, '9')), 400, "invalid_argument", "to");
  ExpectError(NextCid("to=%2B44%2020%207946%200958"), 400, "invalid_argument", "to");  // London
  // London with its '+' left unencoded (read as a space), not a prefix before Maine's 207 number
  ExpectError(NextCid("to=+442079460958"), 400, "invalid_argument", "to");
  ExpectError(NextCid("to=2125559876&agent=" + std::string(4000, 'a')), 400, "invalid_argument",
              "agent");
  // None of that reserved the pool's only number.
  EXPECT_EQ(NextCid("to=2125559876").status, 200);
}

TEST_F(ApiTest, PatchWithAnEmptyCarrierOrStateClearsIt) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1, "state=NY"));
  const auto patched =
      Admin("PATCH", "/api/numbers/2125551001", R"({"carrier":"","state":""})", "application/json");
  ASSERT_EQ(patched.status, 200) << patched.body;
  const auto read = Admin("GET", "/api/numbers/2125551001");
  ASSERT_EQ(read.status, 200) << read.body;
  const auto number = ParseJson(read.body).at("number");
  EXPECT_EQ(Field(number, "carrier"), "") << read.body;
  EXPECT_EQ(Field(number, "state"), "") << read.body;
}

// The admin's writes refuse a name they do not know, naming it, and change nothing: a misspelt
// cap ran a new number at the default caps, a misspelt on_duplicate=skip updated every number.
TEST_F(ApiTest, AdminWritesRefuseAnUnknownFieldAndChangeNothing) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1, "hourly_limit=7"));
  const auto expect_refused = [](const HttpResponse& r, const char* field) {
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(Field(ParseJson(r.body), "field"), field) << r.body;
    EXPECT_NE(r.body.find("is not a field of"), std::string::npos) << r.body;
  };
  expect_refused(Admin("POST", "/api/numbers", R"({"caller_id":"2125551002","hourly_limt":5})",
                       "application/json"),
                 "hourly_limt");
  expect_refused(Admin("POST", "/add-number", "caller_id=2125551002&daily_limt=5"), "daily_limt");
  expect_refused(Admin("POST", "/api/numbers/import?on_dupliate=skip",
                       "caller_id,hourly_limit\n2125551001,100\n", "text/csv"),
                 "on_dupliate");
  expect_refused(Admin("PUT", "/api/pools/default", "fallback=none&fallbak=any"), "fallbak");
  expect_refused(Admin("PUT", "/api/campaigns/sales", "pool=east&pol=west"), "pol");
  EXPECT_EQ(Admin("GET", "/api/numbers/2125551002").status, 404);
  const auto kept = ParseJson(Admin("GET", "/api/numbers/2125551001").body).at("number");
  EXPECT_EQ(Field(kept, "hourly_limit"), "7");
  EXPECT_EQ(Field(ParseJson(Admin("GET", "/api/campaigns/sales").body), "mapped"), "false");
  const auto pools = ParseJson(Admin("GET", "/api/pools").body).at("pools").as_array();
  ASSERT_EQ(pools.size(), 1u);
  EXPECT_EQ(Field(pools[0], "fallback"), "any");
}

// Pages read by `after` (the previous page's next_after) neither skip nor repeat a number while
// others are added or deleted; by offset, a number deleted from an earlier page shifts the next.
TEST_F(ApiTest, PagesByAfterNeitherSkipNorRepeatWhileNumbersChange) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 6));
  ASSERT_EQ(Admin("PATCH", "/api/numbers/2125551006", "active=false").status, 200);
  const auto caller_ids = [](const boost::json::value& page) {
    std::vector<std::string> listed;
    for (const auto& n : page.at("numbers").as_array()) listed.push_back(Field(n, "caller_id"));
    return listed;
  };
  for (const std::string filter : {"", "&active=true"}) {  // cluster: by rank, and by list.lua
    SCOPED_TRACE(filter);
    const auto first = ParseJson(Admin("GET", "/api/numbers?limit=2" + filter).body);
    ASSERT_EQ(caller_ids(first), (std::vector<std::string>{"2125551001", "2125551002"})) << first;
    EXPECT_EQ(Field(first, "next_after"), "2125551002");
    ASSERT_EQ(Admin("DELETE", "/api/numbers/2125551001").status, 200);
    ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1000, 1));  // below the page: not in the next one
    const auto second =
        ParseJson(Admin("GET", "/api/numbers?limit=2&after=2125551002" + filter).body);
    EXPECT_EQ(caller_ids(second), (std::vector<std::string>{"2125551003", "2125551004"})) << second;
    EXPECT_EQ(Field(second, "total"), filter.empty() ? "4" : "3") << second;
    const auto last =
        ParseJson(Admin("GET", "/api/numbers?limit=2&after=2125551004" + filter).body);
    const std::vector<std::string> rest = filter.empty()
                                              ? std::vector<std::string>{"2125551005", "2125551006"}
                                              : std::vector<std::string>{"2125551005"};
    EXPECT_EQ(caller_ids(last), rest) << last;
    EXPECT_TRUE(last.at("next_after").is_null()) << last;
    // Put back for the second pass.
    ASSERT_EQ(Admin("DELETE", "/api/numbers/2125551000").status, 200);
    ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
  }
  EXPECT_EQ(Field(ParseJson(Admin("GET", "/api/numbers?after=212555").body), "field"), "after");
  // An area code's listing after a number below or above it.
  const auto below = ParseJson(Admin("GET", "/api/numbers?area_code=212&after=2015550100").body);
  EXPECT_EQ(Field(below, "total"), "6") << below;
  const auto above = ParseJson(Admin("GET", "/api/numbers?area_code=212&after=3015550100").body);
  EXPECT_EQ(Field(above, "total"), "0") << above;
}

// The history of reservations pages back from the newest by before_id (the answer's
// next_before_id): every reservation once, newest first, also past the 1,000 of one page.
TEST_F(ApiTest, ReservationHistoryPagesBackByBeforeId) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 3));
  std::vector<std::string> made;  // newest first
  for (int i = 0; i < 7; ++i) {
    const auto r = NextCid("to=2125559876");
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string id = Field(ParseJson(r.body), "reservation_id");
    ASSERT_EQ(client().Post("/release", "reservation_id=" + id).status, 200);
    made.insert(made.begin(), id);
  }
  std::vector<std::string> listed;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    const auto json =
        ParseJson(Admin("GET", "/api/reservations?live=false&limit=3" +
                                   (cursor.empty() ? std::string() : "&before_id=" + cursor))
                      .body);
    ASSERT_TRUE(json.is_object()) << json;
    const auto& rows = json.at("reservations").as_array();
    for (const auto& row : rows) listed.push_back(Field(row, "reservation_id"));
    if (json.at("next_before_id").is_null()) break;
    cursor = Field(json, "next_before_id");
    EXPECT_EQ(cursor, listed.back());
  }
  EXPECT_EQ(listed, made);
  // A cursor that names no stored reservation is 404 in both modes, not an empty last page.
  const auto unknown = Admin("GET", "/api/reservations?live=false&before_id=999999");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(Field(ParseJson(unknown.body), "field"), "before_id") << unknown.body;
  // Live reservations are not paged: a cursor there is refused, not ignored.
  const auto live = Admin("GET", "/api/reservations?before_id=" + made.back());
  EXPECT_EQ(live.status, 400) << live.body;
  EXPECT_EQ(Field(ParseJson(live.body), "field"), "before_id") << live.body;
}

TEST_F(ApiTest, AdminEndpointsNeedTheToken) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string form = "caller_id=2125551001";
  ExpectError(client().Post("/add-number", form), 401, "unauthorized");
  ExpectError(client().Post("/add-number", form, "application/x-www-form-urlencoded",
                            BearerAuth("wrong-token")),
              401, "unauthorized");
  ExpectError(client().Get("/api/numbers"), 401, "unauthorized");
  ExpectError(client().Get("/api/numbers", BearerAuth("wrong-token")), 401, "unauthorized");
  ExpectError(client().Get("/api/stats"), 401, "unauthorized");

  const auto added = Admin("POST", "/add-number", form);
  EXPECT_TRUE(added.status == 200 || added.status == 201) << added.body;
  const auto listed = Admin("GET", "/api/numbers");
  EXPECT_EQ(listed.status, 200) << listed.body;
  EXPECT_NE(listed.body.find("2125551001"), std::string::npos);
  // Open endpoints need no token.
  EXPECT_EQ(client().Get("/health").status, 200);
}

TEST_F(ApiTest, UnknownPathAndUnknownNumberAre404) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ExpectError(client().Get("/no-such-endpoint"), 404, "not_found");
  ExpectError(Admin("GET", "/api/numbers/2125550000"), 404, "not_found");
  ExpectError(Admin("DELETE", "/api/numbers/2125550000"), 404, "not_found");
}

TEST_F(ApiTest, AgentOverItsRateLimitGets429WithRetryAfter) {
  ASSERT_NO_FATAL_FAILURE(StartServer({{"DEFAULT_RATE_LIMIT_PER_AGENT", "5"}}));
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 20));
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(NextCid("to=2125559876&agent=agent007").status, 200) << i;
  }
  const auto limited = NextCid("to=2125559876&agent=agent007");
  ExpectError(limited, 429, "rate_limited");
  const std::string retry_after = limited.Header("retry-after");
  ASSERT_FALSE(retry_after.empty());
  EXPECT_GE(std::stoi(retry_after), 1);
  EXPECT_LE(std::stoi(retry_after), 60);
  // Another agent is not affected, and agent `auto` (predictive dialing) is never limited.
  EXPECT_EQ(NextCid("to=2125559876&agent=agent008").status, 200);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(NextCid("to=2125559876").status, 200) << i;
}

TEST_F(ApiTest, ExhaustedPoolGives503NoCallerIdAvailable) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2));
  EXPECT_EQ(NextCid("to=2125559876").status, 200);
  EXPECT_EQ(NextCid("to=2125559876").status, 200);
  ExpectError(NextCid("to=2125559876"), 503, "no_caller_id_available");
}

TEST_F(ApiTest, ReleasedNumberIsAllocatableAgainAndReleaseIsIdempotent) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
  const auto allocate = [&] {
    const auto r = NextCid("to=2125559876");
    EXPECT_EQ(r.status, 200) << r.body;
    const auto json = ParseJson(r.body);
    EXPECT_EQ(Field(json, "caller_id"), "2125551001");
    return Field(json, "reservation_id");
  };
  const auto expect_released = [](const HttpResponse& r, const char* released) {
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Field(ParseJson(r.body), "released"), released) << r.body;
  };

  const std::string first = allocate();
  EXPECT_EQ(NextCid("to=2125559876").status, 503);
  // By reservation_id, as a query parameter.
  expect_released(client().Post("/release?reservation_id=" + first), "true");
  // As a form body (Asterisk's CURL() posts one), with a DIALSTATUS outcome.
  const std::string second = allocate();
  expect_released(
      client().Post("/release", "reservation_id=" + second + "&outcome=ANSWER&duration=42"),
      "true");
  // As JSON.
  const std::string third = allocate();
  expect_released(
      client().Post("/release", "{\"reservation_id\":\"" + third + "\",\"outcome\":\"busy\"}",
                    "application/json"),
      "true");
  // By caller_id alone: ends that number's live reservation.
  const std::string fourth = allocate();
  expect_released(client().Post("/release", "caller_id=2125551001"), "true");
  // Releasing again is fine and says so.
  expect_released(client().Post("/release?reservation_id=" + fourth), "false");
  expect_released(client().Post("/release?reservation_id=" + first), "false");
  EXPECT_EQ(NextCid("to=2125559876").status, 200);
}

// A burst of calls that fail at once (a carrier's CONGESTION) on a small area code: each number is
// back within the second it was taken. Least recently used is to the millisecond, so they rotate;
// by whole seconds the lowest number would take the rest of the second's calls.
TEST_F(ApiTest, NumbersReleasedWithinASecondRotateInTheOrderTheyWereUsed) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 3));
  std::vector<std::string> picked;
  for (int call = 0; call < 9; ++call) {
    const auto r = NextCid("to=2125559876");
    ASSERT_EQ(r.status, 200) << r.body;
    picked.push_back(Field(ParseJson(r.body), "caller_id"));
    ASSERT_EQ(client().Post("/release", "caller_id=" + picked.back()).status, 200);
    // Calls a couple of milliseconds apart, as a dialer's are: two in one millisecond tie, by
    // number.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(picked, (std::vector<std::string>{"2125551001", "2125551002", "2125551003",
                                              "2125551001", "2125551002", "2125551003",
                                              "2125551001", "2125551002", "2125551003"}));
}

TEST_F(ApiTest, ReleaseWithoutAnIdIs400) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const auto r = client().Post("/release");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Field(ParseJson(r.body), "error"), "invalid_argument");
}

}  // namespace
}  // namespace cidrotor::e2e
