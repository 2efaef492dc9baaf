#include "e2e/e2e_fixture.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string_view>

#include "store/postgres/pg_connection.h"
#include "store/sqlite/sqlite_db.h"

namespace cidrotor::e2e {
namespace {

// The PostgreSQL server of the CTest fixture (tests/support/pg_server.sh), database `postgres`.
store::postgres::ConnectionSettings FixtureServer(std::uint16_t* port) {
  std::ifstream port_file(std::string(CIDROTOR_E2E_PG_STATE_DIR) + "/port");
  port_file >> *port;
  store::postgres::ConnectionSettings settings;
  settings.host = "127.0.0.1";
  settings.port = *port;
  settings.user = "postgres";
  settings.dbname = "postgres";
  return settings;
}

}  // namespace

bool ClusterMode() {
  const char* mode = std::getenv("CIDROTOR_E2E_MODE");
  return mode != nullptr && std::string_view(mode) == "cluster";
}

void E2eTest::TearDown() {
  if (HasFailure() && server_ != nullptr) {
    std::cerr << "---- server log ----\n" << server_->Log() << "---- end of server log ----\n";
  }
  if (server_ != nullptr && server_->running()) server_->Kill();  // before its database goes
  DropDatabase();
}

void E2eTest::StartServer(Env env) {
  env_ = std::move(env);
  env_.try_emplace("ADMIN_TOKEN", kAdminToken);
  if (ClusterMode()) {
    ASSERT_NO_FATAL_FAILURE(AddClusterBackends());
  }
  RestartServer();
}

void E2eTest::AddClusterBackends() {
  if (redis_ == nullptr) {
    redis_ = std::make_unique<test_support::RedisServer>();
    ASSERT_TRUE(redis_->running()) << redis_->error();
  }
  std::uint16_t port = 0;
  const auto server = FixtureServer(&port);
  ASSERT_NE(port, 0) << "no PostgreSQL: run through ctest (the e2e_pg_server_start fixture)";
  if (env_.contains("DATABASE_URL")) {  // the test brought its own server
  } else if (database_.empty()) {
    static std::atomic<int> counter{0};
    database_ = fmt::format("e2e_{}_{}", ::getpid(), counter.fetch_add(1));
    auto connection = store::postgres::Connection::Open(server);
    ASSERT_TRUE(connection.has_value()) << connection.error().ToString();
    auto created = connection->Exec("CREATE DATABASE " + database_, "create test database");
    ASSERT_TRUE(created.has_value()) << created.error().ToString();
  }
  env_.try_emplace("DATABASE_URL",
                   fmt::format("postgresql://postgres@127.0.0.1:{}/{}", port, database_));
  env_["REDIS_URL"] = fmt::format("redis://127.0.0.1:{}", redis_->port());
}

void E2eTest::RunOnStore(const std::string& sql) {
  if (ClusterMode()) {
    store::postgres::ConnectionSettings settings;
    settings.url = server_env().at("DATABASE_URL");
    auto connection = store::postgres::Connection::Open(settings);
    ASSERT_TRUE(connection.has_value()) << connection.error().ToString();
    auto ran = connection->Exec(sql, "test sql");
    ASSERT_TRUE(ran.has_value()) << ran.error().ToString();
    return;
  }
  auto db = store::sqlite::Database::Open((work_dir() / "data" / "cidrotor.db").string(),
                                          store::sqlite::Database::Access::kReadWrite);
  ASSERT_TRUE(db.has_value()) << db.error().ToString();
  auto ran = db->Exec(sql, "test sql");
  ASSERT_TRUE(ran.has_value()) << ran.error().ToString();
}

void E2eTest::DropDatabase() {
  if (database_.empty()) return;
  std::uint16_t port = 0;
  auto connection = store::postgres::Connection::Open(FixtureServer(&port));
  if (connection) {
    (void)connection->Exec("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)",
                           "drop test database");
  }
  database_.clear();
}

std::unique_ptr<test_support::ServerProcess> E2eTest::StartAnotherInstance(
    const std::string& name) {
  test_support::ServerProcess::Options options;
  options.env = env_;
  options.work_dir = dir_.path() / name;
  std::filesystem::create_directories(options.work_dir);
  std::string error;
  auto started = test_support::ServerProcess::Start(std::move(options), &error);
  EXPECT_NE(started, nullptr) << error;
  return started;
}

void E2eTest::RestartServer() {
  client_.reset();
  if (server_ != nullptr && server_->running()) server_->Kill();
  test_support::ServerProcess::Options options;
  options.env = env_;
  options.work_dir = dir_.path();
  std::string error;
  auto started = test_support::ServerProcess::Start(std::move(options), &error);
  ASSERT_NE(started, nullptr) << error;
  server_ = std::move(started);
  client_ = std::make_unique<HttpClient>(server_->port());
}

HttpResponse E2eTest::Admin(const std::string& method, const std::string& target,
                            const std::string& body, const std::string& content_type) {
  auto headers = test_support::BearerAuth(kAdminToken);
  if (!body.empty()) headers.emplace("Content-Type", content_type);
  return client_->Request(method, target, body, headers);
}

void E2eTest::AddNumbers(std::uint32_t npa, std::uint32_t first_line, int count,
                         const std::string& extra_form) {
  for (int i = 0; i < count; ++i) {
    std::string form = "caller_id=" + Number(npa, first_line + static_cast<std::uint32_t>(i)) +
                       "&carrier=" + test_support::UrlEncode("AT&T");
    if (!extra_form.empty()) form += "&" + extra_form;
    const auto response = Admin("POST", "/add-number", form);
    ASSERT_TRUE(response.status == 200 || response.status == 201)
        << response.status << " " << response.error << " " << response.body;
  }
}

HttpResponse E2eTest::NextCid(const std::string& query) {
  return client_->Get("/next-cid?" + query);
}

boost::json::value ParseJson(const std::string& body) {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  return ec ? boost::json::value() : value;
}

std::string Field(const boost::json::value& json, const char* key) {
  const auto* object = json.if_object();
  if (object == nullptr) return {};
  const auto* member = object->if_contains(key);
  if (member == nullptr) return {};
  if (const auto* s = member->if_string()) return std::string(s->c_str());
  if (member->is_null()) return {};
  return boost::json::serialize(*member);
}

bool ReservedForIsTtl(const boost::json::value& json, int ttl) {
  const std::string text = Field(json, "reserved_for");
  return text == std::to_string(ttl);
}

std::string Number(std::uint32_t npa, std::uint32_t line) {
  return fmt::format("{}555{:04}", npa, line);
}

std::string MidnightIso(int days_ago) {
  const auto day = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()) -
                   std::chrono::days(days_ago);
  const std::time_t t = std::chrono::system_clock::to_time_t(day);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string IsoIn(std::chrono::seconds ahead) {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()) +
                        static_cast<std::time_t>(ahead.count());
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace cidrotor::e2e
