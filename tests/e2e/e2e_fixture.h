// End-to-end test fixture: the real `cidrotor serve` binary over real sockets, each test with its
// own temporary working and data directory and a port the server picked (API_PORT=0), so tests
// can run in parallel (ctest -j2). Helpers keep test bodies short: AddNumbers, NextCid, Admin.
// On failure the server's log is printed.
//
// One suite, two deployment modes: CTest runs it once embedded and once (prefix "cluster.") with
// CIDROTOR_E2E_MODE=cluster, where every test gets its own redis-server and a fresh PostgreSQL
// database on the server the CTest fixture started (tests/support/pg_server.sh), and the server
// runs in cluster mode on them. Tests of one mode only say so with SkipUnlessEmbedded() /
// SkipUnlessCluster().
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "support/http_client.h"
#include "support/process.h"
#include "support/redis_server.h"

namespace cidrotor::e2e {

using test_support::Env;
using test_support::HttpClient;
using test_support::HttpResponse;

inline constexpr char kAdminToken[] = "e2e-admin-token-0123456789";

// Whether the suite runs against cluster mode (CIDROTOR_E2E_MODE=cluster).
bool ClusterMode();

// Skips the test in the other mode, saying why.
#define SKIP_UNLESS_EMBEDDED(why) \
  if (::cidrotor::e2e::ClusterMode()) GTEST_SKIP() << "embedded mode only: " << (why)
#define SKIP_UNLESS_CLUSTER(why) \
  if (!::cidrotor::e2e::ClusterMode()) GTEST_SKIP() << "cluster mode only: " << (why)

class E2eTest : public ::testing::Test {
 protected:
  void TearDown() override;

  // Starts a server with ADMIN_TOKEN=kAdminToken plus `env`. Use with ASSERT_NO_FATAL_FAILURE.
  void StartServer(Env env = {});
  // Starts the server again on the same data directory and environment (after Kill/Terminate).
  void RestartServer();
  // Cluster mode: another instance on the same PostgreSQL and Redis (its own work directory).
  std::unique_ptr<test_support::ServerProcess> StartAnotherInstance(const std::string& name);
  // Cluster mode: the test's Redis (kill it, restart it empty) and PostgreSQL database name.
  test_support::RedisServer& redis() { return *redis_; }
  const std::string& database() const { return database_; }
  // The server's environment (ADMIN_TOKEN, and in cluster mode DATABASE_URL and REDIS_URL).
  const Env& server_env() const { return env_; }

  test_support::ServerProcess& server() { return *server_; }
  std::uint16_t port() const { return server_->port(); }
  HttpClient& client() { return *client_; }
  const std::filesystem::path& work_dir() const { return dir_.path(); }

  // Runs `sql` on the system of record (the SQLite file, or the test's PostgreSQL database): e.g.
  // to age history while the server is stopped.
  void RunOnStore(const std::string& sql);

  // An admin request with the right bearer token.
  HttpResponse Admin(const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::string& content_type = "application/x-www-form-urlencoded");
  // Adds `count` numbers NPA-555-(first..), through POST /add-number with a form body and
  // `extra_form` (e.g. "hourly_limit=2"). Fails the test when one is refused.
  void AddNumbers(std::uint32_t npa, std::uint32_t first_line, int count,
                  const std::string& extra_form = "");
  // GET /next-cid?<query>.
  HttpResponse NextCid(const std::string& query);

 private:
  // Cluster mode: creates the test's Redis and database (once) and adds their URLs to env_.
  void AddClusterBackends();
  void DropDatabase();

  test_support::TempDir dir_;
  Env env_;
  std::unique_ptr<test_support::RedisServer> redis_;
  std::string database_;
  std::unique_ptr<test_support::ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

// The body as JSON; a null value when it is not JSON.
boost::json::value ParseJson(const std::string& body);
// A member as text: strings as they are, numbers and booleans printed; "" when absent.
std::string Field(const boost::json::value& json, const char* key);
// Whether a /next-cid answer's reserved_for is exactly the configured TTL.
bool ReservedForIsTtl(const boost::json::value& json, int ttl);
// "2125551001" for (212, 1001).
std::string Number(std::uint32_t npa, std::uint32_t line);
// The wall-clock time `ahead` from now as the API writes times ("2026-11-25T15:16:00Z").
std::string IsoIn(std::chrono::seconds ahead);
// UTC midnight `days_ago` days before today, as the API writes times ("2026-11-25T00:00:00Z"):
// a local day's start with the default TIMEZONE.
std::string MidnightIso(int days_ago);

}  // namespace cidrotor::e2e
