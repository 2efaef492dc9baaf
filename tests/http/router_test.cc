// Route() and the handlers over a FakeStore: every endpoint's success shape and its errors.
#include "http/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>

#include "fake_store.h"

namespace cidrotor::http {
namespace {

using testing::Completion;
using testing::FakeStore;
using testing::FixedClock;
using testing::kTestNow;

constexpr std::string_view kAdmin = "Bearer s3cret";

boost::asio::awaitable<void> RouteInto(const Request& request, RequestContext& context,
                                       std::optional<Response>& out) {
  out = co_await Route(request, context);
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() { auth_.AddVerifier(std::make_unique<StaticTokenVerifier>("s3cret")); }

  Response Call(Method method, std::string_view target, std::string_view body = {},
                std::string_view authorization = {}, std::string_view content_type = {}) {
    Request request;
    request.method = method;
    request.target = target;
    request.body = body;
    request.authorization = authorization;
    request.content_type = content_type;
    context_.emplace(services_);
    std::optional<Response> response;
    boost::asio::io_context io;
    boost::asio::co_spawn(io, RouteInto(request, *context_, response), boost::asio::detached);
    io.run();  // returns once the route completed: a pending store call keeps it running
    store_.JoinThreads();
    EXPECT_TRUE(response.has_value());
    return response.value_or(Response{});
  }

  static boost::json::object Json(const Response& response) {
    EXPECT_EQ(response.content_type, kJsonContentType);
    return boost::json::parse(response.body).as_object();
  }

  static void ExpectError(const Response& response, unsigned status, std::string_view code,
                          std::string_view field = {}) {
    EXPECT_EQ(response.status, status) << response.body;
    const auto body = Json(response);
    EXPECT_EQ(body.at("success"), false);
    EXPECT_EQ(body.at("error").as_string(), code) << response.body;
    if (field.empty()) {
      EXPECT_FALSE(body.contains("field")) << response.body;
    } else {
      EXPECT_EQ(body.at("field").as_string(), field) << response.body;
    }
  }

  FakeStore store_;
  FixedClock clock_{kTestNow};
  ServerOptions options_{.admin_token = "s3cret", .version = "9.9.9"};
  Authenticator auth_;
  Services services_{store_, clock_, options_, auth_};
  std::optional<RequestContext> context_;
};

// ---- /health ---------------------------------------------------------------------------------

TEST_F(RouterTest, HealthIsSeedCompatibleAndNeverLogged) {
  const Response response = Call(Method::kGet, "/health");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body,
            R"({"status":"healthy","timestamp":"2026-03-01T12:00:00Z","database":"healthy",)"
            R"("redis":{"status":"not_configured"},"mode":"embedded","version":"9.9.9"})");
  EXPECT_FALSE(context_->log_request);
}

TEST_F(RouterTest, HealthReportsDegradedAndUnhealthy) {
  store_.health.degraded = true;
  EXPECT_EQ(Json(Call(Method::kGet, "/health")).at("status"), "degraded");
  EXPECT_EQ(Call(Method::kGet, "/health").status, 200);

  store_.health.can_allocate = false;
  store_.health.database = "unavailable: disk I/O error";
  const Response response = Call(Method::kGet, "/health");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(Json(response).at("status"), "unhealthy");
  EXPECT_EQ(Json(response).at("database"), "unavailable: disk I/O error");
}

// ---- /next-cid -------------------------------------------------------------------------------

TEST_F(RouterTest, NextCidAnswersTheSeedShapePlusMatchAndReservation) {
  const Response response =
      Call(Method::kGet, "/next-cid?to=2125559876&campaign=sales_campaign&agent=agent001");
  ASSERT_EQ(response.status, 200) << response.body;
  const auto body = Json(response);
  EXPECT_EQ(body.at("success"), true);
  EXPECT_EQ(body.at("caller_id"), "2125551234");
  EXPECT_EQ(body.at("area_code"), "212");
  EXPECT_EQ(body.at("carrier"), "AT&T");
  EXPECT_EQ(body.at("reserved_for"), 300);
  EXPECT_EQ(body.at("destination"), "2125559876");
  EXPECT_EQ(body.at("agent"), "agent001");
  EXPECT_EQ(body.at("campaign"), "sales_campaign");
  EXPECT_EQ(body.at("match"), "area_code");
  EXPECT_EQ(body.at("reservation_id"), "123");
  EXPECT_EQ(body.at("pool"), "default");
  EXPECT_EQ(body.at("reserved_until"), "2026-03-01T12:05:00Z");

  ASSERT_EQ(store_.allocations().size(), 1u);
  EXPECT_EQ(store_.allocations()[0].destination.digits(), 2125559876u);
  EXPECT_EQ(context_->caller_id, "2125551234");
  EXPECT_EQ(context_->agent, "agent001");
  EXPECT_EQ(context_->campaign, "sales_campaign");
  EXPECT_TRUE(context_->log_request);
}

TEST_F(RouterTest, NextCidCompletesFromTheStoresThread) {
  store_.completion = Completion::kOtherThread;
  const Response response = Call(Method::kGet, "/next-cid?to=2125559876");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Json(response).at("caller_id"), "2125551234");
}

TEST_F(RouterTest, NextCidPlainIsJustTheDigits) {
  const Response response = Call(Method::kGet, "/next-cid?to=2125559876&format=plain");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, kTextContentType);
  EXPECT_EQ(response.body, "2125551234");
  const Response escaped = Call(Method::kGet, "/next-cid?to=2125559876&format=pl%61in");
  EXPECT_EQ(escaped.body, "2125551234");
}

TEST_F(RouterTest, NextCidPlainErrorsHaveAnEmptyBody) {
  const Response bad_input = Call(Method::kGet, "/next-cid?to=12&format=plain");
  EXPECT_EQ(bad_input.status, 400);
  EXPECT_EQ(bad_input.body, "");

  store_.allocate_result = core::Fail(core::Error::RateLimited("agent over its limit", 7));
  const Response limited = Call(Method::kGet, "/next-cid?to=2125559876&agent=a1&format=plain");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.body, "");
  EXPECT_EQ(limited.extra_headers, "Retry-After: 7\r\n");

  // Also when the query itself cannot be decoded, or a value is over its limit: a dialplan that
  // sets CALLERID(num) from the answer must never get a JSON text.
  for (const std::string& target :
       {std::string("/next-cid?format=plain&to=3105559876&cidname=V50%25off%zz"),
        "/next-cid?to=3105559876&format=csv&cidname=" + std::string(5'000, 'V')}) {
    const Response undecodable = Call(Method::kGet, target);
    EXPECT_EQ(undecodable.status, 400) << target;
    EXPECT_EQ(undecodable.body, "") << target;
  }
}

TEST_F(RouterTest, NextCidErrors) {
  ExpectError(Call(Method::kGet, "/next-cid"), 400, "invalid_argument", "to");
  ExpectError(Call(Method::kGet, "/next-cid?to=2125559876&agent=bad%01agent"), 400,
              "invalid_argument", "agent");
  ExpectError(Call(Method::kGet, "/next-cid?to=2125559876&campaign=%FF"), 400, "invalid_argument",
              "campaign");
  ExpectError(Call(Method::kGet, "/next-cid?to=2125559876&format=xml"), 400, "invalid_argument",
              "format");
  EXPECT_TRUE(store_.allocations().empty()) << "bad input must allocate nothing";

  store_.allocate_result = core::Fail(core::Error::NoCallerIdAvailable("pool default is dry"));
  ExpectError(Call(Method::kGet, "/next-cid?to=2125559876"), 503, "no_caller_id_available");

  store_.allocate_result = core::Fail(core::Error::RateLimited("agent over its limit", 30));
  const Response limited = Call(Method::kGet, "/next-cid?to=2125559876&agent=a1");
  ExpectError(limited, 429, "rate_limited", "agent");
  EXPECT_EQ(limited.extra_headers, "Retry-After: 30\r\n");

  store_.allocate_result = core::Fail(core::Error::Unavailable("commit failed"));
  ExpectError(Call(Method::kGet, "/next-cid?to=2125559876"), 503, "store_unavailable");
}

TEST_F(RouterTest, NextCidNotesValidAgentAndCampaignEvenWhenRefused) {
  Call(Method::kGet, "/next-cid?to=bad&agent=agent7");
  EXPECT_EQ(context_->agent, "agent7");
  EXPECT_EQ(context_->campaign, "default");
  EXPECT_EQ(context_->caller_id, "");

  Call(Method::kGet, "/next-cid?to=bad&agent=%C3%28");  // invalid UTF-8: not for the dashboard
  EXPECT_EQ(context_->agent, "");
}

// ---- /release --------------------------------------------------------------------------------

TEST_F(RouterTest, ReleaseTakesQueryFormOrJson) {
  core::ReleaseResult released;
  released.released = true;
  released.reservation = testing::SampleAllocation(77).reservation;
  store_.release_result = released;

  const Response by_form = Call(Method::kPost, "/release?outcome=BUSY", "reservation_id=77", {},
                                "application/x-www-form-urlencoded");
  ASSERT_EQ(by_form.status, 200) << by_form.body;
  EXPECT_EQ(by_form.body,
            R"({"success":true,"released":true,"caller_id":"2125551234","reservation_id":"77"})");
  ASSERT_EQ(store_.releases().size(), 1u);
  EXPECT_EQ(store_.releases()[0].reservation_id, 77u);
  EXPECT_EQ(store_.releases()[0].outcome, core::CallOutcome::kBusy);

  Call(Method::kPost, "/release", R"({"caller_id":"2125551234","duration":30})", {},
       "application/json");
  ASSERT_EQ(store_.releases().size(), 2u);
  EXPECT_EQ(store_.releases()[1].caller_id->digits(), 2125551234u);
  EXPECT_EQ(store_.releases()[1].duration_seconds, 30u);
}

TEST_F(RouterTest, ReleasingAnEndedReservationIsNotAnError) {
  store_.release_result = core::ReleaseResult{};  // released = false
  const Response response = Call(Method::kPost, "/release?caller_id=2125551234");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body,
            R"({"success":true,"released":false,"caller_id":"2125551234","reservation_id":null})");
}

TEST_F(RouterTest, ReleaseErrors) {
  ExpectError(Call(Method::kPost, "/release"), 400, "invalid_argument", "reservation_id");
  ExpectError(Call(Method::kPost, "/release", "{\"caller_id\":", {}, "application/json"), 400,
              "invalid_argument", "body");
  ExpectError(Call(Method::kGet, "/release?reservation_id=1"), 405, "method_not_allowed");
  EXPECT_TRUE(store_.releases().empty());
}

// ---- admin: authorization --------------------------------------------------------------------

TEST_F(RouterTest, AdminEndpointsNeedTheToken) {
  for (const auto& [method, target] :
       {std::pair{Method::kPost, "/add-number?caller_id=2125551234"},
        std::pair{Method::kGet, "/api/numbers"}, std::pair{Method::kPost, "/api/numbers"},
        std::pair{Method::kGet, "/api/numbers/2125551234"},
        std::pair{Method::kPatch, "/api/numbers/2125551234"},
        std::pair{Method::kDelete, "/api/numbers/2125551234"},
        std::pair{Method::kGet, "/api/reservations"}, std::pair{Method::kGet, "/api/logs"},
        std::pair{Method::kGet, "/api/stats"}}) {
    const Response missing = Call(method, target);
    ExpectError(missing, 401, "unauthorized");
    EXPECT_EQ(missing.extra_headers, "WWW-Authenticate: Bearer\r\n");
    ExpectError(Call(method, target, {}, "Bearer wrong"), 401, "unauthorized");
  }
  EXPECT_TRUE(store_.added().empty());
}

TEST_F(RouterTest, EmptyAdminTokenLocksAdminEndpoints) {
  Authenticator locked;
  locked.AddVerifier(std::make_unique<StaticTokenVerifier>(""));
  Services services{store_, clock_, options_, locked};
  RequestContext context(services);
  Request request;
  request.method = Method::kGet;
  request.target = "/api/stats";
  request.authorization = "Bearer ";
  std::optional<Response> response;
  boost::asio::io_context io;
  boost::asio::co_spawn(io, RouteInto(request, context, response), boost::asio::detached);
  io.run();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 401);
}

// ---- routing ---------------------------------------------------------------------------------

TEST_F(RouterTest, UnknownPathsAre404AndWrongMethods405) {
  ExpectError(Call(Method::kGet, "/nope"), 404, "not_found");
  ExpectError(Call(Method::kGet, "/health/"), 404, "not_found");
  ExpectError(Call(Method::kGet, "/api/numbers/2125551234/extra", {}, kAdmin), 404, "not_found");

  const Response wrong = Call(Method::kPost, "/health");
  ExpectError(wrong, 405, "method_not_allowed");
  EXPECT_EQ(wrong.extra_headers, "Allow: GET, HEAD\r\n");
  EXPECT_EQ(Call(Method::kPut, "/api/numbers/2125551234", {}, kAdmin).extra_headers,
            "Allow: GET, HEAD, PATCH, DELETE\r\n");
  EXPECT_EQ(Call(Method::kOther, "/next-cid").status, 405);
  // A literal route's path is never another route's parameter: not a caller_id "import".
  const Response import = Call(Method::kGet, "/api/numbers/import", {}, kAdmin);
  ExpectError(import, 405, "method_not_allowed");
  EXPECT_EQ(import.extra_headers, "Allow: POST\r\n");
}

// HEAD is answered by every GET route but /next-cid, which reserves a number: a HEAD (which
// proxies and link checkers send freely) must never allocate. Admin routes still want the token.
TEST_F(RouterTest, HeadIsAnsweredByEverySafeGetRouteOnly) {
  EXPECT_EQ(Call(Method::kHead, "/health").status, 200);
  EXPECT_EQ(Call(Method::kHead, "/openapi.json").status, 200);
  EXPECT_EQ(Call(Method::kHead, "/api/numbers", {}, kAdmin).status, 200);
  ExpectError(Call(Method::kHead, "/api/numbers"), 401, "unauthorized");
  const Response next_cid = Call(Method::kHead, "/next-cid?to=2125559876");
  ExpectError(next_cid, 405, "method_not_allowed");
  EXPECT_EQ(next_cid.extra_headers, "Allow: GET\r\n");
  EXPECT_EQ(store_.allocations().size(), 0U) << "a HEAD never allocates";
}

// ---- admin: numbers --------------------------------------------------------------------------

TEST_F(RouterTest, AddNumberIsSeedCompatible) {
  const Response response = Call(
      Method::kPost,
      "/add-number?caller_id=2125551234&carrier=AT%26T&area_code=212&hourly_limit=10", {}, kAdmin);
  ASSERT_EQ(response.status, 200) << response.body;
  const auto body = Json(response);
  EXPECT_EQ(body.at("success"), true);
  EXPECT_EQ(body.at("caller_id"), "2125551234");
  const auto& number = body.at("number").as_object();
  EXPECT_EQ(number.at("caller_id"), "2125551234");
  EXPECT_EQ(number.at("carrier"), "AT&T");
  EXPECT_EQ(number.at("area_code"), "212");
  ASSERT_EQ(store_.added().size(), 1u);
  EXPECT_EQ(store_.added()[0].hourly_cap, 10);
  EXPECT_EQ(store_.added()[0].daily_cap, 0);
}

TEST_F(RouterTest, CreateNumberTakesJsonAndAnswers201) {
  const Response response =
      Call(Method::kPost, "/api/numbers",
           R"({"caller_id":"3105552001","carrier":"T-Mobile","hourly_limit":150,"pool":"west",)"
           R"("state":"ca","active":true})",
           kAdmin, "application/json");
  ASSERT_EQ(response.status, 201) << response.body;
  const std::vector<core::NumberSpec> added = store_.added();
  ASSERT_EQ(added.size(), 1u);
  const core::NumberSpec& spec = added[0];
  EXPECT_EQ(spec.caller_id.digits(), 3105552001u);
  EXPECT_EQ(spec.carrier, "T-Mobile");
  EXPECT_EQ(spec.hourly_cap, 150);
  EXPECT_EQ(spec.pool, "west");
  EXPECT_EQ(spec.state, "CA");
}

TEST_F(RouterTest, AddNumberErrors) {
  ExpectError(Call(Method::kPost, "/add-number?caller_id=2125551234&area_code=310", {}, kAdmin),
              400, "invalid_argument", "area_code");
  ExpectError(Call(Method::kPost, "/api/numbers", R"({"carrier":"x"})", kAdmin, "application/json"),
              400, "invalid_argument", "caller_id");
  EXPECT_TRUE(store_.added().empty());

  store_.number_result = core::Fail(core::Error::Conflict("2125551234 exists", "caller_id"));
  ExpectError(Call(Method::kPost, "/add-number?caller_id=2125551234", {}, kAdmin), 409, "conflict",
              "caller_id");
}

TEST_F(RouterTest, ListsNumbersPaged) {
  store::NumberPage page;
  page.total = 42;
  page.numbers.push_back(testing::SampleNumber(2'125'551'234));
  page.numbers.push_back(testing::SampleNumber(2'125'551'235));
  page.numbers[1].usage.last_used = core::ToCompact(kTestNow);
  page.numbers[1].spec.hourly_cap = 20;
  page.numbers[1].spec.daily_cap = 80;
  page.numbers[1].effective_daily_cap = 80;
  page.numbers[1].daily_cap_today = 32;  // day 2 of a 4-day warm-up
  page.numbers[1].warmup_day = 2;
  store_.page_result = page;

  const Response response =
      Call(Method::kGet, "/api/numbers?area_code=212&offset=10&limit=2", {}, kAdmin);
  ASSERT_EQ(response.status, 200) << response.body;
  const auto body = Json(response);
  EXPECT_EQ(body.at("total"), 42);
  EXPECT_EQ(body.at("offset"), 10);
  EXPECT_EQ(body.at("limit"), 2);
  const auto& numbers = body.at("numbers").as_array();
  ASSERT_EQ(numbers.size(), 2u);
  const auto& first = numbers[0].as_object();
  EXPECT_EQ(first.at("caller_id"), "2125551234");
  EXPECT_EQ(first.at("hourly_limit"), 100);
  EXPECT_EQ(first.at("daily_limit"), 500);
  EXPECT_EQ(first.at("uses_default_limits"), true);
  EXPECT_EQ(first.at("hourly_used"), 3);
  EXPECT_EQ(first.at("daily_used"), 7);
  EXPECT_TRUE(first.at("last_used").is_null());
  EXPECT_EQ(first.at("reserved"), false);
  EXPECT_EQ(first.at("available"), true);
  EXPECT_EQ(first.at("state"), "NY");
  EXPECT_EQ(first.at("active"), true);
  EXPECT_EQ(numbers[1].at("last_used"), "2026-03-01T12:00:00Z");
  EXPECT_EQ(numbers[1].at("uses_default_limits"), false);
  EXPECT_TRUE(first.at("warmup_day").is_null());
  EXPECT_EQ(first.at("daily_limit_today"), 500);
  EXPECT_EQ(numbers[1].at("daily_limit"), 80);
  EXPECT_EQ(numbers[1].at("daily_limit_today"), 32);
  EXPECT_EQ(numbers[1].at("warmup_day"), 2);

  ASSERT_EQ(store_.filters().size(), 1u);
  EXPECT_EQ(store_.filters()[0].area_code, 212u);

  ExpectError(Call(Method::kGet, "/api/numbers?limit=5000", {}, kAdmin), 400, "invalid_argument",
              "limit");
}

TEST_F(RouterTest, GetPatchDeleteOneNumber) {
  const Response got = Call(Method::kGet, "/api/numbers/%2B1%20212%20555%201234", {}, kAdmin);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Json(got).at("number").at("caller_id"), "2125551234");

  const Response patched =
      Call(Method::kPatch, "/api/numbers/2125551234", R"({"active":false,"daily_limit":"default"})",
           kAdmin, "application/json");
  ASSERT_EQ(patched.status, 200) << patched.body;
  ASSERT_EQ(store_.updates().size(), 1u);
  EXPECT_EQ(store_.updates()[0].first.digits(), 2125551234u);
  EXPECT_EQ(store_.updates()[0].second.active, false);
  EXPECT_EQ(store_.updates()[0].second.daily_cap, 0);

  const Response deleted = Call(Method::kDelete, "/api/numbers/2125551234", {}, kAdmin);
  ASSERT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.body, R"({"success":true,"deleted":true,"caller_id":"2125551234"})");
}

TEST_F(RouterTest, ARestSendsTheNumberRestedWebhookOnce) {
  std::vector<std::pair<std::string, std::string>> sent;
  options_.send_event = [&sent](std::string_view event, std::string json) {
    sent.emplace_back(event, std::move(json));
  };
  core::NumberView rested = testing::SampleNumber(2'125'551'234);
  rested.usage.rest_until = core::ToCompact(kTestNow) + 86'400;
  rested.resting = true;
  store_.number_result = rested;
  const Response response =
      Call(Method::kPatch, "/api/numbers/2125551234", R"({"rest_until":"2030-01-01T00:00:00Z"})",
           kAdmin, "application/json");
  ASSERT_EQ(response.status, 200) << response.body;
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, "number_rested");
  const auto event = boost::json::parse(sent[0].second).as_object();
  EXPECT_EQ(event.at("event"), "number_rested");
  EXPECT_EQ(event.at("caller_id"), "2125551234");
  EXPECT_EQ(event.at("area_code"), "212");
  EXPECT_EQ(event.at("by"), "admin");
  EXPECT_EQ(event.at("rest_until"), Json(response).at("number").at("resting_until"));

  // Other changes, and ending a rest, send nothing.
  ASSERT_EQ(Call(Method::kPatch, "/api/numbers/2125551234", R"({"carrier":"x"})", kAdmin,
                 "application/json")
                .status,
            200);
  store_.number_result = testing::SampleNumber(2'125'551'234);
  ASSERT_EQ(Call(Method::kPatch, "/api/numbers/2125551234", R"({"rest_until":"none"})", kAdmin,
                 "application/json")
                .status,
            200);
  EXPECT_EQ(sent.size(), 1u);
}

TEST_F(RouterTest, OneNumberErrors) {
  ExpectError(Call(Method::kGet, "/api/numbers/12345", {}, kAdmin), 400, "invalid_argument",
              "caller_id");
  ExpectError(Call(Method::kPatch, "/api/numbers/2125551234", "{}", kAdmin, "application/json"),
              400, "invalid_argument", "body");
  // The path's number is checked before the body.
  ExpectError(
      Call(Method::kPatch, "/api/numbers/1", R"({"pool":"a b"})", kAdmin, "application/json"), 400,
      "invalid_argument", "caller_id");
  store_.number_result = core::Fail(core::Error::NotFound("no number 2125551234", "caller_id"));
  ExpectError(Call(Method::kGet, "/api/numbers/2125551234", {}, kAdmin), 404, "not_found",
              "caller_id");
  store_.delete_result = core::Fail(core::Error::NotFound("no number 2125551234"));
  ExpectError(Call(Method::kDelete, "/api/numbers/2125551234", {}, kAdmin), 404, "not_found");
}

// ---- admin: history and stats ----------------------------------------------------------------

TEST_F(RouterTest, ListsReservationsLogsAndStats) {
  store::ReservationRecord record;
  record.reservation = testing::SampleAllocation(5).reservation;
  record.reservation.lead_id = 12345;
  record.released_at = kTestNow + std::chrono::seconds(40);
  record.outcome = core::CallOutcome::kAnswered;
  record.duration_seconds = 38;
  store_.reservations_result = std::vector<store::ReservationRecord>{record};
  const auto reservations =
      Json(Call(Method::kGet, "/api/reservations?live=false&limit=10", {}, kAdmin));
  const auto& r = reservations.at("reservations").as_array().at(0).as_object();
  EXPECT_EQ(r.at("reservation_id"), "5");
  EXPECT_EQ(r.at("lead_id"), "12345");
  EXPECT_EQ(r.at("released_at"), "2026-03-01T12:00:40Z");
  EXPECT_EQ(r.at("outcome"), "answered");
  EXPECT_EQ(r.at("duration"), 38);
  EXPECT_EQ(r.at("live"), false);

  store::StoredLog log;
  log.id = 9;
  log.entry.timestamp = kTestNow;
  log.entry.endpoint = "/next-cid";
  log.entry.method = "GET";
  log.entry.response_time_us = 1499;
  log.entry.status_code = 200;
  store_.logs_result = std::vector<store::StoredLog>{log};
  const auto logs = Json(Call(Method::kGet, "/api/logs?before_id=10", {}, kAdmin));
  const auto& l = logs.at("logs").as_array().at(0).as_object();
  EXPECT_EQ(l.at("id"), 9);
  EXPECT_EQ(l.at("endpoint"), "/next-cid");
  EXPECT_EQ(l.at("response_time_us"), 1499);
  EXPECT_EQ(l.at("response_time_ms"), 1);
  EXPECT_EQ(l.at("status_code"), 200);

  store::StoreStats stats;
  stats.total_numbers = 20000;
  stats.area_codes.push_back({212, 100, 90, 3});
  store_.stats_result = stats;
  const auto s = Json(Call(Method::kGet, "/api/stats", {}, kAdmin));
  EXPECT_EQ(s.at("success"), true);
  EXPECT_EQ(s.at("total_numbers"), 20000);
  EXPECT_EQ(s.at("area_codes").as_array().at(0).at("area_code"), "212");
  EXPECT_EQ(s.at("area_codes").as_array().at(0).at("available"), 3);

  ExpectError(Call(Method::kGet, "/api/logs?before_id=0", {}, kAdmin), 400, "invalid_argument",
              "before_id");
  store_.stats_result = core::Fail(core::Error::Unavailable("reader down"));
  ExpectError(Call(Method::kGet, "/api/stats", {}, kAdmin), 503, "store_unavailable");
}

TEST_F(RouterTest, CoverageReportsTheStoresDataAndItsErrors) {
  store::CoverageData data;
  data.capacity.push_back({212, 3, 2, 20, 1000});  // 2 active numbers, 10 an hour each
  const auto now_quarter =
      std::chrono::floor<std::chrono::minutes>(kTestNow.time_since_epoch()).count() / 15;
  data.calls.push_back({212, now_quarter, 25});  // 25 in this hour: 3 numbers
  store_.coverage_result = data;
  store::StoreStats stats;
  stats.area_codes.push_back({212, 3, 2, 1});
  store_.stats_result = stats;
  const auto report = Json(Call(Method::kGet, "/api/coverage", {}, kAdmin));
  EXPECT_EQ(report.at("days"), 7);
  const auto& ny = report.at("area_codes").as_array().at(0);
  EXPECT_EQ(ny.at("area_code"), "212");
  EXPECT_EQ(ny.at("state"), "NY");
  EXPECT_EQ(ny.at("calls_24h"), 25);
  EXPECT_EQ(ny.at("available"), 1);
  EXPECT_EQ(ny.at("saturated"), true);
  EXPECT_EQ(ny.at("numbers_needed"), 3);
  EXPECT_EQ(ny.at("more_numbers_needed"), 1);
  EXPECT_EQ(ny.at("resting"), 0);
  ASSERT_TRUE(store_.last_coverage_query().has_value());
  EXPECT_EQ(store_.last_coverage_query()->default_hourly_cap, options_.caps.default_hourly_cap);
}

// The report counts today's caps by the server's rules: here one of the two numbers rests.
TEST_F(RouterTest, CoverageTakesTheRestingNumbersOffTodaysCapacity) {
  store::CoverageData data;
  data.capacity.push_back({212, 2, 2, 20, 1000});
  data.recent.push_back({212, 10, 500, 0, core::ToCompact(kTestNow) + 3600, 1});
  const auto now_quarter =
      std::chrono::floor<std::chrono::minutes>(kTestNow.time_since_epoch()).count() / 15;
  data.calls.push_back({212, now_quarter, 15});  // 15 in this hour: 2 numbers at 10
  store_.coverage_result = data;
  store_.stats_result = store::StoreStats{};
  const auto report = Json(Call(Method::kGet, "/api/coverage", {}, kAdmin));
  const auto& ny = report.at("area_codes").as_array().at(0);
  EXPECT_EQ(ny.at("resting"), 1);
  EXPECT_EQ(ny.at("hourly_capacity"), 10);
  EXPECT_EQ(ny.at("full_hourly_capacity"), 20);
  EXPECT_EQ(ny.at("numbers_needed"), 2);
  EXPECT_EQ(ny.at("more_numbers_needed"), 1);  // 5 calls short today: one number at 10

  EXPECT_EQ(Call(Method::kGet, "/api/coverage").status, 401);
  store_.stats_result = core::Fail(core::Error::Unavailable("index busy"));
  ExpectError(Call(Method::kGet, "/api/coverage", {}, kAdmin), 503, "store_unavailable");
  store_.coverage_result = core::Fail(core::Error::Unavailable("reader down"));
  ExpectError(Call(Method::kGet, "/api/coverage", {}, kAdmin), 503, "store_unavailable");
}

TEST_F(RouterTest, LookupAnswersTheStoresRecordsAndNotFoundForAnUnknownNumber) {
  store::LookupData data;
  data.known = true;
  store::ReservationRecord last;
  last.reservation.id = 9;
  last.reservation.caller_id = core::PhoneNumber::FromValidDigits(2'125'550'100);
  last.reservation.destination = core::PhoneNumber::FromValidDigits(4'155'550'001);
  last.reservation.agent = "a2";
  last.live = true;
  data.last = last;
  store_.lookup_result = data;

  const auto found =
      Json(Call(Method::kGet, "/api/lookup?caller_id=1-212-555-0100&from=%2B1%20310%20555%209876",
                {}, kAdmin));
  EXPECT_EQ(found.at("caller_id"), "2125550100");
  EXPECT_EQ(found.at("last").at("reservation_id"), "9");
  EXPECT_EQ(found.at("last").at("agent"), "a2");
  EXPECT_EQ(found.at("last").at("live"), true);
  EXPECT_EQ(found.at("from"), "3105559876");
  EXPECT_TRUE(found.at("called").is_null());
  ASSERT_TRUE(store_.last_lookup_query().has_value());
  EXPECT_EQ(store_.last_lookup_query()->caller_id.digits(), 2'125'550'100u);
  ASSERT_TRUE(store_.last_lookup_query()->from.has_value());
  EXPECT_EQ(store_.last_lookup_query()->max_depth, store::kLookupMaxDepth);
  EXPECT_EQ(store_.last_lookup_query()->window, store::kLookupDefaultWindow);
  const auto no_from = Json(Call(Method::kGet, "/api/lookup?caller_id=2125550100", {}, kAdmin));
  EXPECT_FALSE(no_from.contains("called"));
  EXPECT_FALSE(store_.last_lookup_query()->from.has_value());

  EXPECT_EQ(Call(Method::kGet, "/api/lookup?caller_id=2125550100").status, 401);
  ExpectError(Call(Method::kGet, "/api/lookup", {}, kAdmin), 400, "invalid_argument", "caller_id");
  ExpectError(Call(Method::kGet, "/api/lookup?caller_id=2125550100&from=12", {}, kAdmin), 400,
              "invalid_argument", "from");
  store_.lookup_result = store::LookupData{};  // known = false
  ExpectError(Call(Method::kGet, "/api/lookup?caller_id=2125550100", {}, kAdmin), 404, "not_found",
              "caller_id");
  store_.lookup_result = core::Fail(core::Error::Unavailable("reader down"));
  ExpectError(Call(Method::kGet, "/api/lookup?caller_id=2125550100", {}, kAdmin), 503,
              "store_unavailable");
}

// ---- campaigns → pools -------------------------------------------------------------------------

TEST_F(RouterTest, CampaignChangesReachTheStoreAndItsErrorsComeBack) {
  const Response put = Call(Method::kPut, "/api/campaigns/sales%2Ewest", R"({"pool":"east"})",
                            kAdmin, "application/json");
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Json(put).at("campaign"), "sales.west");  // the path segment, decoded
  EXPECT_EQ(Json(put).at("mapped"), true);
  EXPECT_EQ(Call(Method::kDelete, "/api/campaigns/sales", {}, kAdmin).status, 200);
  EXPECT_THAT(store_.campaign_changes(),
              ::testing::ElementsAre(store::CampaignPool{"sales.west", "east"},
                                     store::CampaignPool{"sales", ""}));

  store_.campaign_change_result = core::Fail(core::Error::Unavailable("disk full"));
  ExpectError(Call(Method::kPut, "/api/campaigns/sales", "pool=east", kAdmin,
                   "application/x-www-form-urlencoded"),
              503, "store_unavailable");
  store_.campaign_change_result = core::Fail(core::Error::NotFound("not mapped", "campaign"));
  ExpectError(Call(Method::kDelete, "/api/campaigns/sales", {}, kAdmin), 404, "not_found",
              "campaign");
  store_.campaign_pools_result = std::vector<store::CampaignPool>{{"a", "x"}, {"b", "y"}};
  const auto list = Json(Call(Method::kGet, "/api/campaigns", {}, kAdmin));
  EXPECT_EQ(list.at("campaigns").as_array().size(), 2u);
  EXPECT_EQ(Json(Call(Method::kGet, "/api/campaigns/b", {}, kAdmin)).at("pool"), "y");
  EXPECT_EQ(Json(Call(Method::kGet, "/api/campaigns/c", {}, kAdmin)).at("mapped"), false);
}

}  // namespace
}  // namespace cidrotor::http
