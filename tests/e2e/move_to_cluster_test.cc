// `cidrotor move-to-cluster` against real binaries (cluster mode only: it needs the suite's
// PostgreSQL and Redis): a box that ran embedded moves to the cluster with everything it knew.
#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>

#include "e2e/e2e_fixture.h"
#include "store/sqlite/sqlite_db.h"

namespace cidrotor::e2e {
namespace {

class MoveToClusterTest : public E2eTest {
 protected:
  void SetUp() override { SKIP_UNLESS_CLUSTER("moves into the suite's PostgreSQL and Redis"); }

  // `cidrotor move-to-cluster` from `data_dir` into the test's cluster (`redis_url`: another).
  test_support::CommandResult Move(const std::filesystem::path& data_dir,
                                   const std::string& redis_url = "") {
    Env env = server_env();
    env["CIDROTOR_DATA_DIR"] = data_dir.string();
    if (!redis_url.empty()) env["REDIS_URL"] = redis_url;
    return test_support::RunCidrotor({"move-to-cluster"}, env, work_dir());
  }
  // The box that ran embedded: its server (in its own work directory) and data directory.
  std::unique_ptr<test_support::ServerProcess> StartBox() {
    test_support::ServerProcess::Options options;
    options.env = {{"ADMIN_TOKEN", kAdminToken}};
    options.work_dir = box_dir();
    std::filesystem::create_directories(options.work_dir);
    std::string error;
    auto box = test_support::ServerProcess::Start(std::move(options), &error);
    EXPECT_NE(box, nullptr) << error;
    return box;
  }
  std::filesystem::path box_dir() const { return work_dir() / "embedded"; }
  std::filesystem::path box_data_dir() const { return box_dir() / "data"; }
  static void AddToBox(HttpClient& box, std::initializer_list<const char*> numbers) {
    for (const char* number : numbers) {
      ASSERT_EQ(box.Post("/add-number", std::string("caller_id=") + number,
                         "application/x-www-form-urlencoded", test_support::BearerAuth(kAdminToken))
                    .status,
                200);
    }
  }
};

TEST_F(MoveToClusterTest, EverythingTheEmbeddedStoreKnewServesFromTheCluster) {
  // The cluster's instance first (it creates the schema and Redis's generation, as one started
  // too early would), stopped for the move.
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_EQ(server().Terminate(), 0);

  // One box, embedded: three numbers, one rested, a campaign on its own pool, calls.
  auto embedded = StartBox();
  ASSERT_NE(embedded, nullptr);
  const auto data_dir = box_data_dir();
  HttpClient box(embedded->port());
  const auto admin = [&](const std::string& method, const std::string& target,
                         const std::string& body = "") {
    return box.Request(method, target, body, test_support::BearerAuth(kAdminToken));
  };
  ASSERT_NO_FATAL_FAILURE(AddToBox(box, {"2125551001", "2125551002", "2125551003"}));
  const std::string until = IsoIn(std::chrono::hours(24));
  ASSERT_EQ(
      admin("PATCH", "/api/numbers/2125551003", R"({"rest_until":")" + until + R"("})").status,
      200);
  ASSERT_EQ(admin("PUT", "/api/campaigns/sales", "pool=default").status, 200);
  const auto called = box.Get("/next-cid?to=3105559876&campaign=sales&agent=a1&lead=77");
  ASSERT_EQ(called.status, 200) << called.body;
  const std::string called_number = Field(ParseJson(called.body), "caller_id");
  ASSERT_EQ(box.Post("/release", "caller_id=" + called_number + "&outcome=ANSWER").status, 200);
  const auto live = box.Get("/next-cid?to=2125559876&campaign=sales&agent=a2");  // on the line
  ASSERT_EQ(live.status, 200) << live.body;
  const std::string live_id = Field(ParseJson(live.body), "reservation_id");
  const std::string live_number = Field(ParseJson(live.body), "caller_id");
  ASSERT_NE(live_number, called_number);  // least recently used first
  // A number called, then deleted: the lookup still finds its call (retired_numbers).
  ASSERT_NO_FATAL_FAILURE(AddToBox(box, {"2125551004"}));
  const auto retired = box.Get("/next-cid?to=4155550001&campaign=sales&agent=a4");
  ASSERT_EQ(Field(ParseJson(retired.body), "caller_id"), "2125551004") << retired.body;
  ASSERT_EQ(box.Post("/release", "caller_id=2125551004&outcome=ANSWER").status, 200);
  ASSERT_EQ(admin("DELETE", "/api/numbers/2125551004").status, 200);
  ASSERT_EQ(embedded->Terminate(), 0);

  const auto moved = Move(data_dir);
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_NE(moved.out.find("caller_ids          3 rows"), std::string::npos) << moved.out;
  EXPECT_NE(moved.out.find("reservations          3 rows"), std::string::npos) << moved.out;
  EXPECT_NE(moved.out.find("retired_numbers          1 rows"), std::string::npos) << moved.out;
  const auto again = Move(data_dir);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("never merges"), std::string::npos) << again.err;

  ASSERT_NO_FATAL_FAILURE(RestartServer());
  // The rest and the live reservation hold: only the number released in the box is free.
  const auto next = NextCid("to=2125559876&campaign=sales&agent=a3");
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(Field(ParseJson(next.body), "caller_id"), called_number);
  EXPECT_EQ(NextCid("to=2125559876&campaign=sales&agent=a3").status, 503);
  const auto rested = ParseJson(Admin("GET", "/api/numbers/2125551003").body);
  EXPECT_EQ(Field(rested.at("number"), "resting_until"), until);
  const auto reservations = Admin("GET", "/api/reservations");
  EXPECT_NE(reservations.body.find("\"" + live_id + "\""), std::string::npos) << reservations.body;
  const auto gone =
      ParseJson(Admin("GET", "/api/lookup?caller_id=2125551004&from=4155550001").body);
  EXPECT_EQ(Field(gone, "deleted"), "true");
  EXPECT_EQ(Field(gone.at("called"), "agent"), "a4");
  // The history: the lookup finds the box's call, the campaign keeps its pool.
  const auto lookup =
      ParseJson(Admin("GET", "/api/lookup?caller_id=" + called_number + "&from=3105559876").body);
  EXPECT_EQ(Field(lookup.at("called"), "agent"), "a1");
  EXPECT_EQ(Field(lookup.at("called"), "lead_id"), "77");
  EXPECT_EQ(Field(lookup.at("called"), "outcome"), "answered");
  EXPECT_NE(Admin("GET", "/api/campaigns/sales").body.find("\"default\""), std::string::npos);
  // api_logs came along, and the cluster's own rows continue after their ids (a row written with
  // an id the box used would be refused): its call for agent a3 lands, within a few commits.
  boost::json::array logs;
  bool cluster_row = false;
  for (int attempt = 0; attempt < 50 && !cluster_row; ++attempt) {
    logs = ParseJson(Admin("GET", "/api/logs?limit=100").body).at("logs").as_array();
    for (const auto& row : logs) cluster_row = cluster_row || Field(row, "agent") == "a3";
    if (!cluster_row) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(cluster_row) << "the cluster's api_logs rows are missing";
  ASSERT_GE(logs.size(), 8u);
  EXPECT_EQ(Field(logs.back(), "endpoint"), "/add-number");  // the box's first request
}

// A row PostgreSQL refuses (a hand-edited cap) fails the whole move, which keeps nothing: once
// the row is mended, the move into the same database goes through.
TEST_F(MoveToClusterTest, AFailedMoveKeepsNothing) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  auto embedded = StartBox();
  ASSERT_NE(embedded, nullptr);
  const auto data_dir = box_data_dir();
  HttpClient box(embedded->port());
  ASSERT_NO_FATAL_FAILURE(AddToBox(box, {"2125551001", "2125551002"}));
  ASSERT_EQ(embedded->Terminate(), 0);
  const auto edit = [&](const std::string& sql) {
    auto db = store::sqlite::Database::Open((data_dir / "cidrotor.db").string(),
                                            store::sqlite::Database::Access::kReadWrite);
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    auto done = db->Exec(sql, "edit the store");
    ASSERT_TRUE(done.has_value()) << done.error().ToString();
  };
  ASSERT_NO_FATAL_FAILURE(
      edit("UPDATE caller_ids SET hourly_limit = 'lots' WHERE caller_id = 2125551002"));
  const auto failed = Move(data_dir);
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("nothing was kept"), std::string::npos) << failed.err;
  EXPECT_NE(failed.err.find("lots"), std::string::npos) << failed.err;  // PostgreSQL's reason

  ASSERT_NO_FATAL_FAILURE(
      edit("UPDATE caller_ids SET hourly_limit = NULL WHERE caller_id = 2125551002"));
  const auto moved = Move(data_dir);
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_NE(moved.out.find("caller_ids          2 rows"), std::string::npos) << moved.out;
}

// Redis out of reach after the commit: the rows stay moved, and the command fails saying how to
// make the instances rebuild Redis by hand.
TEST_F(MoveToClusterTest, ARedisOutOfReachIsReportedWithWhatToRun) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  auto embedded = StartBox();
  ASSERT_NE(embedded, nullptr);
  HttpClient box(embedded->port());
  ASSERT_NO_FATAL_FAILURE(AddToBox(box, {"2125551001"}));
  ASSERT_EQ(embedded->Terminate(), 0);
  const auto moved = Move(box_data_dir(), "redis://127.0.0.1:1");  // nothing listens there
  EXPECT_EQ(moved.exit_code, 1);
  EXPECT_NE(moved.out.find("caller_ids          1 rows"), std::string::npos) << moved.out;
  EXPECT_NE(moved.err.find("redis-cli DEL cid:generation:v2"), std::string::npos) << moved.err;
  EXPECT_EQ(Move(box_data_dir()).exit_code, 1) << "the rows were kept";
}

TEST_F(MoveToClusterTest, RefusesWithoutAStoreOrWhileServing) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const auto nothing = Move(work_dir() / "no-such-dir");
  EXPECT_EQ(nothing.exit_code, 2);
  EXPECT_NE(nothing.err.find("no embedded store"), std::string::npos) << nothing.err;

  auto embedded = StartBox();
  ASSERT_NE(embedded, nullptr);
  const auto serving = Move(box_data_dir());
  EXPECT_EQ(serving.exit_code, 2);
  EXPECT_NE(serving.err.find("stop `cidrotor serve` first"), std::string::npos) << serving.err;
}

}  // namespace
}  // namespace cidrotor::e2e
