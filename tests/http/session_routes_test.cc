// Issue 6's routes through Route() over a FakeStore: POST /auth/token and JWT access to admin
// endpoints, GET /metrics counting what Route() answered, GET /openapi.json describing every
// route the router registers, and the embedded dashboard.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <optional>
#include <string>

#include "fake_store.h"
#include "http/embedded_files.h"
#include "http/jwt_sessions.h"
#include "http/request_metrics.h"
#include "http/router.h"
#include "service/allocation_telemetry.h"

namespace cidrotor::http {
namespace {

using testing::FakeStore;
using testing::FixedClock;
using testing::kTestNow;

boost::asio::awaitable<void> RouteInto(const Request& request, RequestContext& context,
                                       std::optional<Response>& out) {
  out = co_await Route(request, context);
}

class SessionRoutesTest : public ::testing::Test {
 protected:
  SessionRoutesTest() {
    auth_.AddVerifier(std::make_unique<StaticTokenVerifier>("s3cret"));
    auth_.AddVerifier(jwt_);
  }

  Response Call(Method method, std::string_view target, std::string_view body = {},
                std::string_view authorization = {}, std::string_view content_type = {}) {
    Request request;
    request.method = method;
    request.target = target;
    request.body = body;
    request.authorization = authorization;
    request.content_type = content_type;
    RequestContext context(services_);
    std::optional<Response> response;
    boost::asio::io_context io;
    boost::asio::co_spawn(io, RouteInto(request, context, response), boost::asio::detached);
    io.run();
    store_.JoinThreads();
    EXPECT_TRUE(response.has_value());
    return response.value_or(Response{});
  }

  // POST /auth/token with a JSON body; the access token, or "" (and a test failure).
  std::string Login() {
    const Response response =
        Call(Method::kPost, "/auth/token", R"({"token":"s3cret"})", {}, "application/json");
    EXPECT_EQ(response.status, 200) << response.body;
    if (response.status != 200) return {};
    return std::string(boost::json::parse(response.body).at("access_token").as_string());
  }

  FakeStore store_;
  FixedClock clock_{kTestNow};
  ServerOptions options_{.admin_token = "s3cret", .version = "9.9.9"};
  Authenticator auth_;
  std::shared_ptr<const JwtSessions> jwt_ = std::make_shared<const JwtSessions>(
      clock_, JwtOptions{.secret = "0123456789abcdef0123456789abcdef"});
  RequestMetrics metrics_{RegisteredRoutes().size() + 1};
  service::AllocationTelemetry telemetry_;
  Services services_{store_, clock_, options_, auth_, jwt_.get(), &metrics_, &telemetry_};
};

// ---- POST /auth/token ------------------------------------------------------------------------

TEST_F(SessionRoutesTest, AdminTokenInJsonBodyBuysAJwtThatOpensAdminEndpoints) {
  const Response response =
      Call(Method::kPost, "/auth/token", R"({"token":"s3cret"})", {}, "application/json");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_NE(response.extra_headers.find("Cache-Control: no-store"), std::string::npos);
  const auto body = boost::json::parse(response.body).as_object();
  EXPECT_EQ(body.at("token_type"), "bearer");
  EXPECT_EQ(body.at("expires_in"), 900);
  const std::string token(body.at("access_token").as_string());
  EXPECT_TRUE(jwt_->Verify(token));

  EXPECT_EQ(Call(Method::kGet, "/api/stats", {}, "Bearer " + token).status, 200);
  EXPECT_EQ(Call(Method::kGet, "/api/stats", {}, "Bearer " + token + "x").status, 401);
}

// Admin answers are the center's data: no cache keeps them, no browser sniffs another type.
TEST_F(SessionRoutesTest, AdminAnswersAreNotStoredNorSniffed) {
  for (const char* target : {"/api/stats", "/api/numbers", "/api/numbers/2125550000"}) {
    const Response admin = Call(Method::kGet, target, {}, "Bearer s3cret");
    EXPECT_NE(admin.extra_headers.find("Cache-Control: no-store\r\n"), std::string::npos)
        << target << " " << admin.status;
    EXPECT_NE(admin.extra_headers.find("X-Content-Type-Options: nosniff\r\n"), std::string::npos)
        << target;
  }
  const Response open = Call(Method::kGet, "/health");
  EXPECT_EQ(open.extra_headers.find("Cache-Control"), std::string::npos);  // the hot paths: none
}

TEST_F(SessionRoutesTest, AdminTokenAsFormOrBearerAlsoWorks) {
  EXPECT_EQ(
      Call(Method::kPost, "/auth/token", "token=s3cret", {}, "application/x-www-form-urlencoded")
          .status,
      200);
  EXPECT_EQ(Call(Method::kPost, "/auth/token", {}, "Bearer s3cret").status, 200);
}

TEST_F(SessionRoutesTest, WrongOrMissingTokenIsRefused) {
  const Response wrong =
      Call(Method::kPost, "/auth/token", R"({"token":"guess"})", {}, "application/json");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(boost::json::parse(wrong.body).at("error"), "unauthorized");
  EXPECT_EQ(wrong.body.find("access_token"), std::string::npos);
  EXPECT_EQ(Call(Method::kPost, "/auth/token", {}, "Bearer guess").status, 401);
  EXPECT_EQ(Call(Method::kPost, "/auth/token").status, 400);
  // Never from the query string: a token there ends up in proxy logs.
  EXPECT_EQ(Call(Method::kPost, "/auth/token?token=s3cret").status, 400);
}

TEST_F(SessionRoutesTest, ValidJwtAsBearerIsRenewed) {
  const std::string token = Login();
  const Response renewed = Call(Method::kPost, "/auth/token", {}, "Bearer " + token);
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  const std::string fresh(boost::json::parse(renewed.body).at("access_token").as_string());
  EXPECT_TRUE(jwt_->Verify(fresh));
}

TEST_F(SessionRoutesTest, WithoutSecretKeyTokensAreUnavailable) {
  services_.jwt = nullptr;
  const Response response =
      Call(Method::kPost, "/auth/token", R"({"token":"s3cret"})", {}, "application/json");
  EXPECT_EQ(response.status, 503);
}

// ---- GET /metrics ------------------------------------------------------------------------------

TEST_F(SessionRoutesTest, MetricsCountRequestsByEndpointAndStatus) {
  Call(Method::kGet, "/next-cid?to=2125559876");
  Call(Method::kGet, "/next-cid?to=2125559876");
  Call(Method::kGet, "/next-cid?to=12");
  Call(Method::kGet, "/api/stats");
  Call(Method::kGet, "/nowhere");
  const Response metrics = Call(Method::kGet, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4");
  const std::string& text = metrics.body;
  auto has = [&text](std::string_view line) {
    return text.find(std::string(line) + "\n") != std::string::npos;
  };
  EXPECT_TRUE(
      has(R"(cidrotor_http_requests_total{endpoint="/next-cid",method="GET",status="200"} 2)"))
      << text;
  EXPECT_TRUE(
      has(R"(cidrotor_http_requests_total{endpoint="/next-cid",method="GET",status="400"} 1)"));
  EXPECT_TRUE(
      has(R"(cidrotor_http_requests_total{endpoint="/api/stats",method="GET",status="401"} 1)"));
  EXPECT_TRUE(
      has(R"(cidrotor_http_requests_total{endpoint="unmatched",method="any",status="404"} 1)"));
  EXPECT_TRUE(has(R"(cidrotor_store_up{backend="sqlite"} 1)"));
  EXPECT_TRUE(has(R"(cidrotor_build_info{version="9.9.9",mode="embedded"} 1)"));
  EXPECT_TRUE(has("# TYPE cidrotor_allocation_duration_seconds histogram"));
}

TEST_F(SessionRoutesTest, MetricsReportClusterBackends) {
  store_.health.mode = "cluster";
  store_.health.database = "unavailable: connection refused";
  store_.health.degraded = true;
  const std::string text = Call(Method::kGet, "/metrics").body;
  EXPECT_NE(text.find("cidrotor_store_up{backend=\"postgresql\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cidrotor_store_up{backend=\"redis\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("cidrotor_store_degraded 1\n"), std::string::npos);
  EXPECT_EQ(text.find("backend=\"sqlite\""), std::string::npos);
}

// ---- GET /openapi.json -------------------------------------------------------------------------

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

TEST_F(SessionRoutesTest, OpenApiDescribesEveryRegisteredRouteAndNothingElse) {
  const Response response = Call(Method::kGet, "/openapi.json");
  ASSERT_EQ(response.status, 200);
  const auto doc = boost::json::parse(response.body).as_object();
  EXPECT_EQ(doc.at("openapi").as_string().subview().substr(0, 2), "3.");
  const auto& paths = doc.at("paths").as_object();
  std::size_t described = 0;
  for (const RouteInfo& route : RegisteredRoutes()) {
    const std::string pattern(route.pattern);
    const auto* path = paths.if_contains(pattern);
    ASSERT_NE(path, nullptr) << pattern << " is not in /openapi.json";
    const auto* operation = path->as_object().if_contains(Lower(MethodName(route.method)));
    ASSERT_NE(operation, nullptr) << MethodName(route.method) << " " << pattern;
    const auto& responses = operation->as_object().at("responses").as_object();
    EXPECT_FALSE(responses.empty()) << pattern;
    // Admin routes declare the bearer scheme and their 401; open ones declare no security.
    EXPECT_EQ(operation->as_object().contains("security"), route.admin) << pattern;
    if (route.admin) {
      EXPECT_TRUE(responses.contains("401")) << pattern;
    }
    ++described;
  }
  std::size_t operations = 0;
  for (const auto& [path, item] : paths) {
    for (const auto& [key, value] : item.as_object()) operations += key != "parameters" ? 1 : 0;
  }
  EXPECT_EQ(operations, described) << "/openapi.json describes an operation the router lacks";
}

// Every "$ref" of `value` names an existing member of `doc` ("#/components/schemas/Error").
void ExpectRefsResolve(const boost::json::value& value, const boost::json::object& doc) {
  if (const auto* object = value.if_object()) {
    if (const auto* ref = object->if_contains("$ref")) {
      const std::string_view target = ref->as_string();
      ASSERT_EQ(target.substr(0, 2), "#/") << target;
      const boost::json::value* node = nullptr;
      const boost::json::object* at = &doc;
      std::string_view rest = target.substr(2);
      while (!rest.empty()) {
        const auto slash = rest.find('/');
        node = at->if_contains(rest.substr(0, slash));
        ASSERT_NE(node, nullptr) << "unresolved " << target;
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
        if (!rest.empty()) at = &node->as_object();
      }
    }
    for (const auto& [key, member] : *object) ExpectRefsResolve(member, doc);
  } else if (const auto* array = value.if_array()) {
    for (const auto& element : *array) ExpectRefsResolve(element, doc);
  }
}

TEST_F(SessionRoutesTest, OpenApiReferencesAllResolve) {
  const auto doc = boost::json::parse(Call(Method::kGet, "/openapi.json").body);
  ExpectRefsResolve(doc, doc.as_object());
}

// ---- GET /dashboard ----------------------------------------------------------------------------

TEST_F(SessionRoutesTest, DashboardIsServedFromEmbeddedFilesUnderACsp) {
  const Response page = Call(Method::kGet, "/dashboard");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<form id=\"login\""), std::string::npos);
  EXPECT_NE(page.extra_headers.find("Content-Security-Policy: default-src 'self'"),
            std::string::npos);

  for (const char* asset : {"app.js", "uplot.js"}) {
    const Response js = Call(Method::kGet, std::string("/dashboard/") + asset);
    EXPECT_EQ(js.status, 200) << asset;
    EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8") << asset;
    EXPECT_EQ(js.body, FindEmbeddedFile(std::string("dashboard/") + asset)->data);
  }
  EXPECT_EQ(Call(Method::kGet, "/dashboard/style.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(Call(Method::kGet, "/dashboard/nothing.js").status, 404);
  EXPECT_EQ(Call(Method::kGet, "/dashboard/index.html").status, 404);
  EXPECT_EQ(Call(Method::kGet, "/dashboard/").body, page.body);  // the address typed with a slash
  EXPECT_EQ(Call(Method::kGet, "/dashboard/..%2fopenapi.json").status, 404);
}

}  // namespace
}  // namespace cidrotor::http
