// Issue 6 against the real binary: GET /metrics parses as strict Prometheus text and its counters
// move with the requests made; GET /openapi.json is served; JWTs from POST /auth/token open the
// admin API, and expired, tampered, re-keyed or unsigned ones are refused.
#include <gtest/gtest.h>
#include <jwt.h>

#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>

#include "e2e/e2e_fixture.h"
#include "e2e/prometheus_parser.h"

namespace cidrotor::e2e {
namespace {

constexpr char kSecretKey[] = "e2e-secret-key-0123456789abcdef0123";

// ---- the parser is strict --------------------------------------------------------------------

bool Parses(std::string_view text) {
  ParsedMetrics metrics;
  std::string error;
  return ParsePrometheusText(text, metrics, error);
}

TEST(PrometheusParserTest, AcceptsWellFormedTextAndRejectsWhatScrapersWould) {
  EXPECT_TRUE(
      Parses("# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n"
             "a_total{x=\"q\\\"\\\\\\n\"} 0\n# TYPE g gauge\ng 1.5e-05\n"));
  EXPECT_TRUE(
      Parses("# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
             "h_sum 0.3\nh_count 2\n"));
  EXPECT_FALSE(Parses("a 1"));                                    // no final newline
  EXPECT_FALSE(Parses("1a 1\n"));                                 // bad name
  EXPECT_FALSE(Parses("a{x=1} 1\n"));                             // unquoted label value
  EXPECT_FALSE(Parses("a{x=\"\\t\"} 1\n"));                       // bad escape
  EXPECT_FALSE(Parses("a one\n"));                                // bad value
  EXPECT_FALSE(Parses("a 1\na 2\n"));                             // duplicate series
  EXPECT_FALSE(Parses("# TYPE a gauge\n# TYPE a gauge\na 1\n"));  // TYPE twice
  EXPECT_FALSE(Parses("# TYPE a meter\na 1\n"));                  // unknown type
  EXPECT_FALSE(Parses("a{x=\"1\"} 1\nb 1\na{x=\"2\"} 1\n"));      // family not contiguous
  EXPECT_FALSE(Parses("# TYPE c counter\nc -1\n"));               // negative counter
  EXPECT_FALSE(
      Parses("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
             "h_count 1\n"));  // not cumulative
  EXPECT_FALSE(Parses("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n"));
}

// ---- /metrics and /openapi.json on the binary ------------------------------------------------

class ObservabilityTest : public E2eTest {
 protected:
  ParsedMetrics Scrape() {
    const HttpResponse response = client().Get("/metrics");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.Header("content-type"), "text/plain; version=0.0.4");
    ParsedMetrics metrics;
    std::string error;
    EXPECT_TRUE(ParsePrometheusText(response.body, metrics, error)) << error << "\n"
                                                                    << response.body;
    return metrics;
  }
};

double Sum(const ParsedMetrics& metrics, const std::string& prefix) {
  double sum = 0;
  for (const auto& [key, value] : metrics.series) {
    if (key.rfind(prefix, 0) == 0) sum += value;
  }
  return sum;
}

TEST_F(ObservabilityTest, MetricsParseAndTheirCountersMoveWithRequests) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2));
  const ParsedMetrics before = Scrape();
  EXPECT_EQ(before.types.at("cidrotor_http_requests_total"), "counter");
  EXPECT_EQ(before.types.at("cidrotor_allocation_duration_seconds"), "histogram");
  if (ClusterMode()) {
    EXPECT_EQ(before.Value(R"(cidrotor_store_up{backend="postgresql"})"), 1);
    EXPECT_EQ(before.Value(R"(cidrotor_store_up{backend="redis"})"), 1);
  } else {
    EXPECT_EQ(before.Value(R"(cidrotor_store_up{backend="sqlite"})"), 1);
  }
  EXPECT_EQ(before.Value(R"(cidrotor_numbers{state="available"})"), 2);
  EXPECT_EQ(
      before.Value(
          R"(cidrotor_http_requests_total{endpoint="/add-number",method="POST",status="200"})"),
      2);

  EXPECT_EQ(NextCid("to=2125559876&campaign=sales&agent=a1").status, 200);
  EXPECT_EQ(NextCid("to=3105559876&campaign=sales&agent=a1").status, 200);
  EXPECT_EQ(NextCid("to=2125559876&campaign=sales&agent=a1").status, 503);  // all reserved
  EXPECT_EQ(NextCid("to=12").status, 400);

  const ParsedMetrics after = Scrape();
  const std::string next_cid = R"(cidrotor_http_requests_total{endpoint="/next-cid",method="GET",)";
  EXPECT_EQ(after.Value(next_cid + R"(status="200"})"), 2);
  EXPECT_EQ(after.Value(next_cid + R"(status="503"})"), 1);
  EXPECT_EQ(after.Value(next_cid + R"(status="400"})"), 1);
  EXPECT_EQ(Sum(after, "cidrotor_allocations_total{") - Sum(before, "cidrotor_allocations_total{"),
            2);
  EXPECT_EQ(after.Value(R"(cidrotor_allocations_total{match="exchange"})"), 1);
  EXPECT_EQ(after.Value(R"(cidrotor_allocation_refusals_total{error="no_caller_id_available"})"),
            1);
  // The 400 never reached the store: three allocations timed.
  EXPECT_EQ(after.Value("cidrotor_allocation_duration_seconds_count") -
                before.Value("cidrotor_allocation_duration_seconds_count"),
            3);
  EXPECT_GT(after.Value("cidrotor_allocation_duration_seconds_sum"), 0);
  EXPECT_EQ(after.Value("cidrotor_live_reservations"), 2);
  EXPECT_EQ(after.Value(R"(cidrotor_numbers{state="reserved"})"), 2);
  EXPECT_EQ(after.Value(R"(cidrotor_pool_available_numbers{pool="default"})"), 0);
  EXPECT_GE(after.Value("cidrotor_store_write_queue_depth"), 0);
}

TEST_F(ObservabilityTest, StatsCarryTheDashboardsLiveView) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 3));
  ASSERT_EQ(NextCid("to=2125559876&campaign=sales&agent=a1").status, 200);
  ASSERT_EQ(NextCid("to=2125559876&campaign=sales&agent=a2").status, 200);
  const auto stats = ParseJson(Admin("GET", "/api/stats").body).as_object();
  const auto& series = stats.at("allocations_per_minute").as_object();
  const auto& counts = series.at("counts").as_array();
  ASSERT_EQ(counts.size(), 360U);
  EXPECT_EQ(counts.back().as_int64() + counts.at(358).as_int64(), 2);  // this or last minute
  EXPECT_EQ(series.at("step_seconds"), 60);
  const auto& campaigns = stats.at("campaigns_24h").as_array();
  ASSERT_EQ(campaigns.size(), 1U);
  EXPECT_EQ(campaigns[0].at("name"), "sales");
  EXPECT_EQ(campaigns[0].at("allocations"), 2);
  EXPECT_EQ(stats.at("agents_24h").as_array().size(), 2U);
  EXPECT_EQ(stats.at("health").at("redis"), ClusterMode() ? "healthy" : "not_configured");
  EXPECT_EQ(stats.at("pools").as_array().at(0).at("available"), 1);
  EXPECT_EQ(stats.at("resting_numbers"), 0);
}

// The live view's history is the store's: allocations made by a process that is gone (here, the
// server before its restart; in cluster mode any instance) still count, next to this process's.
TEST_F(ObservabilityTest, LiveViewCountsTheStoresHistoryAcrossARestart) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 3));
  for (const char* agent : {"a1", "a1", "a2"}) {
    const auto r = NextCid(std::string("to=2125559876&campaign=sales&agent=") + agent);
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(client()
                  .Post("/release", "reservation_id=" + Field(ParseJson(r.body), "reservation_id"))
                  .status,
              200);
  }
  ASSERT_EQ(server().Terminate(), 0);
  // Two hours back: before any cut, inside both windows.
  const std::string two_hours = std::to_string(2 * 3'600'000);
  ASSERT_NO_FATAL_FAILURE(RunOnStore("UPDATE reservations SET reserved_at = reserved_at - " +
                                     two_hours + ", reserved_until = reserved_until - " +
                                     two_hours + ", released_at = released_at - " + two_hours));
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  ASSERT_EQ(NextCid("to=2125559876&campaign=support&agent=a1").status, 200);

  const auto stats = ParseJson(Admin("GET", "/api/stats").body).as_object();
  std::int64_t charted = 0;
  for (const auto& count : stats.at("allocations_per_minute").at("counts").as_array()) {
    charted += count.as_int64();
  }
  EXPECT_EQ(charted, 4) << "3 from the history, 1 of this process";
  std::map<std::string, std::int64_t> campaigns;
  for (const auto& c : stats.at("campaigns_24h").as_array()) {
    campaigns[Field(c, "name")] = c.at("allocations").as_int64();
  }
  EXPECT_EQ(campaigns, (std::map<std::string, std::int64_t>{{"sales", 3}, {"support", 1}}));
  const auto& agents = stats.at("agents_24h").as_array();
  ASSERT_EQ(agents.size(), 2U);
  EXPECT_EQ(Field(agents[0], "name"), "a1");
  EXPECT_EQ(agents[0].at("allocations"), 3);
}

TEST_F(ObservabilityTest, OpenApiDocumentIsServed) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const HttpResponse response = client().Get("/openapi.json");
  ASSERT_EQ(response.status, 200);
  const auto doc = ParseJson(response.body);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc.at("openapi").as_string().subview().substr(0, 2), "3.");
  EXPECT_TRUE(doc.at("paths").as_object().contains("/next-cid"));
}

// ---- JWT sessions on the binary --------------------------------------------------------------

// An HS256 token with the given grants, signed with `key` by libjwt (or unsigned for alg none).
std::string Token(std::string_view key, long iat, long exp, jwt_alg_t alg = JWT_ALG_HS256) {
  jwt_t* raw = nullptr;
  jwt_new(&raw);
  std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, jwt_free);
  jwt_add_grant(jwt.get(), "sub", "admin");
  jwt_add_grant_int(jwt.get(), "iat", iat);
  jwt_add_grant_int(jwt.get(), "exp", exp);
  jwt_add_grant_int(jwt.get(), "auth_time", iat);
  jwt_set_alg(jwt.get(), alg,
              alg == JWT_ALG_NONE ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
              alg == JWT_ALG_NONE ? 0 : static_cast<int>(key.size()));
  char* encoded = jwt_encode_str(jwt.get());
  std::string out = encoded == nullptr ? "" : encoded;
  std::free(encoded);  // NOLINT: libjwt's malloc'ed string
  return out;
}

TEST_F(ObservabilityTest, JwtOpensTheAdminApiAndBadOnesAreRefused) {
  ASSERT_NO_FATAL_FAILURE(StartServer({{"SECRET_KEY", kSecretKey}}));
  const HttpResponse login = client().Post(
      "/auth/token", std::string(R"({"token":")") + kAdminToken + "\"}", "application/json");
  ASSERT_EQ(login.status, 200) << login.body;
  const auto answer = ParseJson(login.body);
  EXPECT_EQ(Field(answer, "token_type"), "bearer");
  EXPECT_EQ(Field(answer, "expires_in"), "3600");
  const std::string jwt = Field(answer, "access_token");
  auto stats_with = [this](const std::string& token) {
    return client().Get("/api/stats", test_support::BearerAuth(token)).status;
  };
  EXPECT_EQ(stats_with(jwt), 200);

  const long now = static_cast<long>(std::time(nullptr));
  // The HS256 key: SECRET_KEY, a NUL, ADMIN_TOKEN (http/jwt_sessions.h).
  const std::string key = std::string(kSecretKey) + std::string(1, '\0') + kAdminToken;
  EXPECT_EQ(stats_with(Token(key, now - 60, now + 600)), 200);         // the control
  EXPECT_EQ(stats_with(Token(key, now - 1000, now - 100)), 401);       // expired
  EXPECT_EQ(stats_with(Token(kSecretKey, now - 60, now + 600)), 401);  // SECRET_KEY alone
  EXPECT_EQ(stats_with(Token("another-key-0123456789abcdef012345", now - 60, now + 600)), 401);
  EXPECT_EQ(stats_with(Token("", now - 60, now + 600, JWT_ALG_NONE)), 401);
  EXPECT_EQ(stats_with(Token(key, now - 60, now + 600, JWT_ALG_HS512)), 401);
  std::string tampered = jwt;
  tampered[tampered.find('.') + 5] ^= 1;  // one bit of the payload
  EXPECT_EQ(stats_with(tampered), 401);

  EXPECT_EQ(client().Post("/auth/token", R"({"token":"wrong"})", "application/json").status, 401);

  // The admin token leaked and is changed: the sessions opened with it end (the same SECRET_KEY).
  ASSERT_NO_FATAL_FAILURE(
      StartServer({{"SECRET_KEY", kSecretKey}, {"ADMIN_TOKEN", "a-new-admin-token-987654321"}}));
  EXPECT_EQ(stats_with(jwt), 401);
  EXPECT_EQ(
      client().Post("/auth/token", "", "application/json", test_support::BearerAuth(jwt)).status,
      401);  // nor does it renew
}

}  // namespace
}  // namespace cidrotor::e2e
