// The process's life: durability across kill -9, graceful SIGTERM, start on an empty data
// directory, init-db and its sample data, --help, and configuration errors (exit 2, naming the
// variable).
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "e2e/e2e_fixture.h"
#include "store/sqlite/sqlite_db.h"

namespace cidrotor::e2e {
namespace {

using test_support::RunCidrotor;

class LifecycleTest : public E2eTest {};

TEST_F(LifecycleTest, KillNineAfterAcknowledgedAllocationsLosesNone) {
  ASSERT_NO_FATAL_FAILURE(StartServer());  // TTL 300 s: reservations outlive the restart
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 30));
  std::set<std::string> before;
  for (int i = 0; i < 10; ++i) {
    const auto r = NextCid("to=2125559876");
    ASSERT_EQ(r.status, 200) << r.body;
    before.insert(Field(ParseJson(r.body), "caller_id"));
  }
  ASSERT_EQ(before.size(), 10U);

  server().Kill();  // right after the last 200: no flush, no goodbye
  ASSERT_NO_FATAL_FAILURE(RestartServer());

  for (int i = 0; i < 20; ++i) {
    const auto r = NextCid("to=2125559876");
    ASSERT_EQ(r.status, 200) << i << " " << r.body;
    const std::string caller_id = Field(ParseJson(r.body), "caller_id");
    EXPECT_EQ(before.count(caller_id), 0U) << caller_id << " was handed out twice";
  }
  EXPECT_EQ(NextCid("to=2125559876").status, 503);  // the first 10 are still reserved
}

// serve lifts its soft limit of open files to the hard one: a shell's 1,024 would otherwise cap
// the connections it can hold.
TEST_F(LifecycleTest, ServeRaisesItsOpenFilesLimitToTheHardLimit) {
  SKIP_UNLESS_EMBEDDED("the process, the same in both modes");
  rlimit mine{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &mine), 0);
  if (mine.rlim_max <= 1024) GTEST_SKIP() << "the hard limit leaves nothing to raise";
  rlimit lowered = mine;
  lowered.rlim_cur = 1024;  // inherited by the server started now
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  StartServer();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &mine), 0);
  ASSERT_FALSE(HasFatalFailure());
  std::ifstream limits("/proc/" + std::to_string(server().pid()) + "/limits");
  std::string line;
  while (std::getline(limits, line) && line.rfind("Max open files", 0) != 0) {
  }
  std::istringstream fields(line.substr(std::string("Max open files").size()));
  std::uint64_t soft = 0;
  std::uint64_t hard = 0;
  fields >> soft >> hard;
  EXPECT_EQ(hard, mine.rlim_max);
  EXPECT_EQ(soft, std::min<std::uint64_t>(mine.rlim_max, 1'048'576)) << line;
}

// Another process holding SQLite's write lock (an admin's sqlite3, a stuck disk alike): the
// allocation that waited fails after the busy timeout (1.5 s) and leaves nothing reserved; from
// then on /next-cid fails at once and /health says so, until a commit succeeds again once the
// lock is let go (the refused calls' api_logs rows probe it): all recovers after.
TEST_F(LifecycleTest, AStalledCommitFailsFastAndLeavesNoNumberReserved) {
  SKIP_UNLESS_EMBEDDED("SQLite's write lock");
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2));
  auto side = store::sqlite::Database::Open((work_dir() / "data" / "cidrotor.db").string(),
                                            store::sqlite::Database::Access::kReadWrite);
  ASSERT_TRUE(side.has_value()) << side.error().ToString();
  // The server's own writer may hold the lock a moment (a commit, the pruner's first pass).
  ASSERT_TRUE(side->Exec("PRAGMA busy_timeout = 5000", "wait for the lock").has_value());
  ASSERT_TRUE(side->Exec("BEGIN IMMEDIATE", "hold the write lock").has_value());
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto waiting = std::async(std::launch::async, [&] {
    HttpClient own(port());
    return own.Get("/next-cid?to=2125559876").status;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(2'500));
  const auto asked = Clock::now();
  EXPECT_EQ(NextCid("to=2125559876").status, 503);
  EXPECT_LT(Clock::now() - asked, std::chrono::milliseconds(500)) << "fails fast";
  EXPECT_EQ(client().Get("/health").status, 503);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_TRUE(side->Exec("COMMIT", "let go").has_value());
  EXPECT_EQ(waiting.get(), 503) << "its commit failed: undone, answered as failed";
  EXPECT_GE(Clock::now() - start, std::chrono::seconds(3));
  // The next commit (the refused call's api_logs row, waiting in SQLite's busy handler) ends it.
  int health = 0;
  for (int i = 0; i < 40 && (health = client().Get("/health").status) != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(health, 200);
  const auto live = ParseJson(Admin("GET", "/api/reservations").body);
  EXPECT_TRUE(live.at("reservations").as_array().empty()) << live;
  EXPECT_EQ(NextCid("to=2125559876").status, 200);
  EXPECT_EQ(NextCid("to=2125559876").status, 200) << "both numbers free";
}

TEST_F(LifecycleTest, SigtermStopsCleanlyWithExitZero) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2));
  ASSERT_EQ(NextCid("to=2125559876").status, 200);  // leaves an idle keep-alive connection open
  EXPECT_EQ(server().Terminate(), 0);
  EXPECT_NE(server().Log().find("stopped"), std::string::npos) << server().Log();
  // What was acknowledged before the stop is still there.
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  EXPECT_EQ(NextCid("to=2125559876").status, 200);
  EXPECT_EQ(NextCid("to=2125559876").status, 503);
}

// A stop whose last commit fails (another process holds SQLite's write lock past the busy timeout)
// exits 1 with an error line: a supervisor must not take the lost changes for a clean stop.
TEST_F(LifecycleTest, AStopWhoseLastChangesCannotBeWrittenExitsOne) {
  SKIP_UNLESS_EMBEDDED("SQLite's write lock");
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
  auto side = store::sqlite::Database::Open((work_dir() / "data" / "cidrotor.db").string(),
                                            store::sqlite::Database::Access::kReadWrite);
  ASSERT_TRUE(side.has_value()) << side.error().ToString();
  ASSERT_TRUE(side->Exec("PRAGMA busy_timeout = 5000", "wait for the lock").has_value());
  ASSERT_TRUE(side->Exec("BEGIN IMMEDIATE", "hold the write lock").has_value());
  // A release completes before its commit: it is still queued when the stop flushes.
  ASSERT_EQ(client().Post("/release", "caller_id=2125551001").status, 200);
  EXPECT_EQ(server().Terminate(), 1) << server().Log();
  EXPECT_NE(server().Log().find("stopped with changes not written"), std::string::npos)
      << server().Log();
  ASSERT_TRUE(side->Exec("COMMIT", "let go").has_value());
}

// SIGHUP (the terminal of a `make run` closed) stops as gracefully: it once killed the process
// mid-request, without the final flush.
TEST_F(LifecycleTest, SighupStopsCleanlyToo) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(server().Terminate(std::chrono::seconds(30), SIGHUP), 0);
  EXPECT_NE(server().Log().find("stopped"), std::string::npos) << server().Log();
}

// A closed stderr pipe (`serve | tee` with tee gone) raises SIGPIPE at the next log line: it
// ended the process, requests in flight dropped, and systemd took that for a clean exit.
TEST_F(LifecycleTest, SigpipeIsIgnored) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_EQ(::kill(server().pid(), SIGPIPE), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(client().Get("/health").status, 200);
  EXPECT_EQ(server().Terminate(), 0);
  // On loopback (the default), FastAGI is not warned about (next test).
  EXPECT_EQ(server().Log().find("without authentication"), std::string::npos) << server().Log();
}

// FastAGI has no authentication: listening beyond loopback is said at start-up.
TEST_F(LifecycleTest, FastAgiBeyondLoopbackIsWarnedAbout) {
  ASSERT_NO_FATAL_FAILURE(StartServer({{"AGI_HOST", "0.0.0.0"}}));
  EXPECT_NE(server().Log().find("FastAGI listens on 0.0.0.0 without authentication"),
            std::string::npos)
      << server().Log();
}

// A number deleted and added back keeps its caps, also across a restart (and, in cluster mode, a
// Redis that lost its data meanwhile): the system of record keeps what a deleted number used
// (store/deleted_usage.h), so wiping numbers and adding them again resets no hour or day.
TEST_F(LifecycleTest, ANumberDeletedAndAddedBackKeepsItsCapsAcrossARestart) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1, "hourly_limit=1"));
  const auto first = NextCid("to=2125559876");
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(client().Post("/release", "caller_id=2125551001").status, 200);
  ASSERT_EQ(Admin("DELETE", "/api/numbers/2125551001").status, 200);
  EXPECT_EQ(server().Terminate(), 0);
  if (ClusterMode()) {
    redis().Kill();
    ASSERT_TRUE(redis().Restart());  // empty: rebuilt from PostgreSQL
  }
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1, "hourly_limit=1"));
  EXPECT_EQ(NextCid("to=2125559876").status, 503) << "its hour was used before the delete";
  const auto view = ParseJson(Admin("GET", "/api/numbers/2125551001").body);
  ASSERT_TRUE(view.is_object() && view.as_object().contains("number")) << view;
  EXPECT_EQ(Field(view.at("number"), "hourly_used"), "1") << view;
  EXPECT_EQ(Field(view.at("number"), "daily_used"), "1") << view;
}

TEST_F(LifecycleTest, StartsOnAnEmptyDataDirectoryAndCreatesIt) {
  SKIP_UNLESS_EMBEDDED("cluster mode keeps no data directory");
  const auto data_dir = work_dir() / "data";
  ASSERT_FALSE(std::filesystem::exists(data_dir));
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_TRUE(std::filesystem::exists(data_dir / "cidrotor.db"));
  const auto health = client().Get("/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Field(ParseJson(health.body), "status"), "healthy") << health.body;
  EXPECT_EQ(NextCid("to=2125559876").status, 503);  // no numbers, and serve loads no samples
}

TEST_F(LifecycleTest, EnvironmentWinsOverDotEnv) {
  std::ofstream(work_dir() / ".env") << "# written by the test\n"
                                        "export DEFAULT_RESERVATION_TTL=77\n"
                                        "DEFAULT_DAILY_LIMIT='400'\n";
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
  EXPECT_TRUE(ReservedForIsTtl(ParseJson(NextCid("to=2125559876").body), 77));

  std::ofstream(work_dir() / ".env") << "DEFAULT_RESERVATION_TTL=77\n";
  ASSERT_NO_FATAL_FAILURE(StartServer({{"DEFAULT_RESERVATION_TTL", "88"}}));
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 2001, 1));
  EXPECT_TRUE(ReservedForIsTtl(ParseJson(NextCid("to=2125559876").body), 88));
}

class CommandTest : public ::testing::Test {
 protected:
  test_support::CommandResult Run(const std::vector<std::string>& args, Env env = {}) {
    env.try_emplace("CIDROTOR_DATA_DIR", (dir_.path() / "data").string());
    return RunCidrotor(args, env, dir_.path());
  }
  test_support::TempDir dir_;
};

TEST_F(CommandTest, InitDbLoadsSampleDataOnceAndServeAllocatesFromIt) {
  const auto first = Run({"init-db", "--sample-data"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("sample data loaded: 150 numbers"), std::string::npos) << first.out;
  const auto second = Run({"init-db", "--sample-data"});
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_NE(second.out.find("skipped"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("150"), std::string::npos) << second.out;
  const auto plain = Run({"init-db"});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;

  test_support::ServerProcess::Options options;
  options.work_dir = dir_.path();
  std::string error;
  auto server = test_support::ServerProcess::Start(options, &error);
  ASSERT_NE(server, nullptr) << error;
  HttpClient client(server->port());
  const auto r = client.Get("/next-cid?to=2124449876&campaign=test&agent=test_agent");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto json = ParseJson(r.body);
  EXPECT_EQ(Field(json, "area_code"), "212");
  EXPECT_EQ(Field(json, "match"), "area_code");
  // Loading a sample writes the store: refused while a server runs on it.
  const auto serving = Run({"init-db", "--sample-data"});
  EXPECT_EQ(serving.exit_code, 1);
  EXPECT_NE(serving.err.find("stop it first"), std::string::npos) << serving.err;
}

TEST_F(CommandTest, ServeHelpListsEveryVariable) {
  const auto help = Run({"serve", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  for (const char* name : {"API_HOST", "API_PORT", "ADMIN_TOKEN", "TIMEZONE", "CIDROTOR_DATA_DIR",
                           "DEFAULT_RESERVATION_TTL", "DEFAULT_RATE_LIMIT_PER_AGENT",
                           "DEFAULT_HOURLY_LIMIT", "DEFAULT_DAILY_LIMIT", "DATABASE_URL",
                           "REDIS_URL", "SECRET_KEY", "DEBUG", "--ready-file"}) {
    EXPECT_NE(help.out.find(name), std::string::npos) << name << "\n" << help.out;
  }
  const auto init_help = Run({"init-db", "--help"});
  EXPECT_EQ(init_help.exit_code, 0);
  EXPECT_NE(init_help.out.find("--sample-data"), std::string::npos) << init_help.out;
  const auto version = Run({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("cidrotor "), std::string::npos) << version.out;
}

TEST_F(CommandTest, UsageAndConfigErrorsExitTwoNamingTheProblem) {
  const auto expect_exit_2 = [&](const std::vector<std::string>& args, const Env& env,
                                 const char* message) {
    const auto r = Run(args, env);
    EXPECT_EQ(r.exit_code, 2) << message << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  };
  expect_exit_2({"serve"}, {{"API_PORT", "abc"}}, "API_PORT: not a port number");
  expect_exit_2({"serve", "--api-port", "99999"}, {}, "API_PORT: not a port number");
  expect_exit_2({"serve"}, {{"DEFAULT_HOURLY_LIMIT", "0"}}, "DEFAULT_HOURLY_LIMIT");
  expect_exit_2({"serve"}, {{"TIMEZONE", "Nowhere/Land"}}, "TIMEZONE");
  expect_exit_2({"serve"}, {{"API_HOST", "0.0.0.0"}}, "ADMIN_TOKEN");
  expect_exit_2({"serve"}, {{"DATABASE_URL", "postgresql://u@127.0.0.1/db"}}, "REDIS_HOST");
  expect_exit_2({"serve"}, {{"REDIS_HOST", "127.0.0.1"}}, "POSTGRES_HOST");
  expect_exit_2({"serve"}, {{"POSTGRES_HOST", "127.0.0.1"}, {"REDIS_URL", "http://127.0.0.1"}},
                "must start with redis://");
  expect_exit_2({"backup", "b.db"},
                {{"POSTGRES_HOST", "127.0.0.1"}, {"REDIS_URL", "redis://127.0.0.1:6379"}},
                "back up PostgreSQL with pg_dump");
  expect_exit_2({"serve", "--no-such-flag"}, {}, "--no-such-flag");
  expect_exit_2({}, {}, "subcommand");
  // A bad value in .env is reported the same way.
  std::ofstream(dir_.path() / ".env") << "API_PORT=abc\n";
  expect_exit_2({"serve"}, {}, "API_PORT: not a port number");
  // ...unless the environment overrides it.
  std::ofstream(dir_.path() / ".env") << "API_PORT=abc\nTIMEZONE=Nowhere/Land\n";
  expect_exit_2({"serve"}, {{"API_PORT", "0"}}, "TIMEZONE");
}

}  // namespace
}  // namespace cidrotor::e2e
