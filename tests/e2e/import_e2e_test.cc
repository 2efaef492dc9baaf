// Bulk import against the real binary: POST /api/numbers/import (numbers allocatable at once,
// the same rejects as the CLI), `cidrotor import` refused beside a running server and done
// through it with --via-api, and the direct import after the server stopped.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

#include "e2e/e2e_fixture.h"
#include "store/sqlite/sqlite_db.h"

namespace cidrotor::e2e {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string Fixture() { return ReadFile(std::string(CIDROTOR_FIXTURES_DIR) + "/hostile_pool.csv"); }

// The process other than this one that has `path` open (an import reading a fifo), or -1.
pid_t PidReading(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (auto proc = fs::directory_iterator("/proc", ec); !ec && proc != fs::directory_iterator();
       proc.increment(ec)) {
    const std::string name = proc->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == ::getpid()) continue;
    std::error_code fd_ec;
    for (auto fd = fs::directory_iterator(proc->path() / "fd", fd_ec);
         !fd_ec && fd != fs::directory_iterator(); fd.increment(fd_ec)) {
      std::error_code link_ec;
      if (fs::read_symlink(fd->path(), link_ec) == path) return pid;
    }
  }
  return -1;
}

class ImportE2eTest : public E2eTest {
 protected:
  test_support::CommandResult Cli(std::vector<std::string> args,
                                  const std::filesystem::path& stdin_path = "/dev/null") {
    Env env{{"CIDROTOR_DATA_DIR", (work_dir() / "data").string()}, {"ADMIN_TOKEN", kAdminToken}};
    return test_support::RunCidrotor(args, env, work_dir(), std::chrono::seconds(60), stdin_path);
  }
  // The server's own configuration (its data directory, or its PostgreSQL and Redis), for the
  // commands that open the store themselves.
  Env StoreEnv() const {
    Env env = server_env();
    env["CIDROTOR_DATA_DIR"] = (work_dir() / "data").string();
    return env;
  }
  // `cidrotor import FILE` straight into the store: beside the running instance in cluster mode;
  // embedded, with the server stopped for it and started again after.
  test_support::CommandResult ImportDirectly(const std::string& file) {
    if (!ClusterMode()) {
      EXPECT_EQ(server().Terminate(), 0);
    }
    auto result = test_support::RunCidrotor({"import", file}, StoreEnv(), work_dir());
    if (!ClusterMode()) RestartServer();
    return result;
  }
};

TEST_F(ImportE2eTest, ApiImportMakesNumbersAllocatableAndExplainsRejects) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const auto response =
      Admin("POST", "/api/numbers/import?on_duplicate=update", Fixture(), "text/csv");
  ASSERT_EQ(response.status, 200) << response.body;
  const auto json = ParseJson(response.body);
  EXPECT_EQ(Field(json, "imported"), "5");
  EXPECT_EQ(Field(json, "rejected"), "12");
  const auto& rejects = json.as_object().at("rejects").as_array();
  ASSERT_EQ(rejects.size(), 12u);
  EXPECT_EQ(Field(rejects[0], "line"), "5");
  EXPECT_EQ(Field(rejects[0], "reason"), "duplicate of line 2");

  const auto allocated = NextCid("to=3125559876");
  ASSERT_EQ(allocated.status, 200) << allocated.body;
  EXPECT_EQ(Field(ParseJson(allocated.body), "match"), "exchange");

  const auto again = Admin("POST", "/api/numbers/import?on_duplicate=fail", Fixture(), "text/csv");
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(Field(ParseJson(again.body), "imported"), "0");
  EXPECT_EQ(Field(ParseJson(again.body), "rejected"), "17");
  EXPECT_EQ(Admin("POST", "/api/numbers/import?on_duplicate=maybe", Fixture(), "text/csv").status,
            400);
  EXPECT_EQ(Admin("POST", "/api/numbers/import", "number\n2125550100\n", "text/csv").status, 400);
}

// A last_used decades ahead (a typo of the year) is a rejected row through the API and the
// CLI alike, not a number parked at the end of the order until then.
TEST_F(ImportE2eTest, ALastUsedFarInTheFutureIsARejectedRow) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string csv = "caller_id,last_used\n2125550100,2062-01-01T00:00:00Z\n2125550101,\n";
  const auto response = Admin("POST", "/api/numbers/import", csv, "text/csv");
  ASSERT_EQ(response.status, 200) << response.body;
  const auto json = ParseJson(response.body);
  EXPECT_EQ(Field(json, "imported"), "1");
  ASSERT_EQ(json.as_object().at("rejects").as_array().size(), 1u);
  EXPECT_NE(Field(json.as_object().at("rejects").as_array()[0], "reason")
                .find("last_used: is in the future"),
            std::string::npos);
  {
    std::ofstream file(work_dir() / "future.csv");
    file << "caller_id,last_used\n2125550102,2062-01-01T00:00:00Z\n";
  }
  const auto via = Cli({"import", (work_dir() / "future.csv").string(), "--via-api",
                        fmt::format("http://127.0.0.1:{}", port())});
  EXPECT_EQ(via.exit_code, 2) << via.err;
  EXPECT_NE(via.err.find("last_used: is in the future"), std::string::npos) << via.err;
  if (!ClusterMode()) {
    EXPECT_EQ(server().Terminate(), 0);  // a direct import is refused beside a running server
  }
  const auto direct = test_support::RunCidrotor({"import", (work_dir() / "future.csv").string()},
                                                StoreEnv(), work_dir());
  EXPECT_EQ(direct.exit_code, 2) << direct.err;
  EXPECT_NE(direct.err.find("last_used: is in the future"), std::string::npos) << direct.err;
}

TEST_F(ImportE2eTest, OnlyTheImportRouteTakesLargeBodies) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::string csv = "caller_id\n";
  for (int i = 0; i < 20'000; ++i) csv += fmt::format("415555{:04}\n", i % 10'000);  // ~220 KB
  const auto imported = Admin("POST", "/api/numbers/import", csv, "text/csv");
  ASSERT_EQ(imported.status, 200) << imported.body;
  EXPECT_EQ(Field(ParseJson(imported.body), "imported"), "10000");
  EXPECT_EQ(Field(ParseJson(imported.body), "rejected"), "10000");
  EXPECT_EQ(Admin("POST", "/api/numbers", csv, "text/csv").status, 413);
}

// The server's peak resident memory (VmHWM), in kB.
long PeakRssKb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A body of bad rows (a spreadsheet saved with `;` for `,`) is read in batches like good rows:
// every reject held its row until the end, ~190 MB for a million one-byte rows.
TEST_F(ImportE2eTest, AnImportOfBadRowsHoldsOneBatchOfRejectsNotTheFile) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::string csv = "caller_id\n";
  for (int i = 0; i < 1'000'000; ++i) csv += "a\n";
  const long before = PeakRssKb(server().pid());
  const auto imported = Admin("POST", "/api/numbers/import", csv, "text/csv");
  ASSERT_EQ(imported.status, 200) << imported.body.substr(0, 300);
  const auto json = ParseJson(imported.body);
  EXPECT_EQ(Field(json, "rejected"), "1000000");
  EXPECT_EQ(json.at("rejects").as_array().size(), 1000u);
  EXPECT_LT(PeakRssKb(server().pid()) - before, 64 * 1024) << "kB more at the peak";
}

// `curl -F file=@pool.csv` sends a multipart form: its boundary line was read as the CSV's
// header ("no caller_id column"). It is refused saying how to send the file, and imports nothing.
TEST_F(ImportE2eTest, AMultipartUploadIsRefusedSayingHowToSendTheFile) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string body =
      "--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"pool.csv\"\r\n"
      "Content-Type: text/csv\r\n\r\ncaller_id\n2125550101\n\r\n--b0undary--\r\n";
  const auto refused =
      Admin("POST", "/api/numbers/import", body, "multipart/form-data; boundary=b0undary");
  EXPECT_EQ(refused.status, 400) << refused.body;
  const auto json = ParseJson(refused.body);
  EXPECT_EQ(Field(json, "field"), "body");
  EXPECT_NE(Field(json, "detail").find("--data-binary"), std::string::npos) << refused.body;
  EXPECT_EQ(Admin("GET", "/api/numbers/2125550101").status, 404);
}

TEST_F(ImportE2eTest, ExportAsVicidialDidsWritesOneRowPerNumberOfThePool) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2));
  ASSERT_NO_FATAL_FAILURE(AddNumbers(310, 1001, 1, "pool=west"));
  // Out of rotation here, still a DID there: people call it back.
  ASSERT_EQ(
      Admin("PATCH", "/api/numbers/2125551002", R"({"active":false})", "application/json").status,
      200);
  const Env env = StoreEnv();
  const auto exported = test_support::RunCidrotor(
      {"export", "--format", "vicidial-dids", "--pool", "default", "--in-group", "CALLBACKS", "-"},
      env, work_dir());
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(exported.out.find("INSERT IGNORE INTO vicidial_inbound_dids (did_pattern, "
                              "did_description, did_active, did_route, extension, exten_context, "
                              "group_id) VALUES\n"
                              "('2125551001','cidrotor default AT&T','Y','IN_GROUP','9998811112',"
                              "'default','CALLBACKS'),\n"
                              "('2125551002','cidrotor default AT&T','Y','IN_GROUP','9998811112',"
                              "'default','CALLBACKS');\n"),
            std::string::npos)
      << exported.out;
  EXPECT_EQ(exported.out.find("3105551001"), std::string::npos) << exported.out;  // pool west
}

TEST_F(ImportE2eTest, ExportWhileServingShowsEveryNumberWithItsUsage) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2, "hourly_limit=7"));
  const auto allocated = NextCid("to=2125559876");
  ASSERT_EQ(allocated.status, 200) << allocated.body;
  ASSERT_EQ(Field(ParseJson(allocated.body), "caller_id"), "2125551001");
  const Env env = StoreEnv();
  const auto exported = test_support::RunCidrotor({"export", "-"}, env, work_dir());
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  std::istringstream lines(exported.out);
  std::string header, used, unused, end;
  std::getline(lines, header);
  std::getline(lines, used);
  std::getline(lines, unused);
  EXPECT_FALSE(std::getline(lines, end)) << exported.out;
  EXPECT_EQ(header,
            "caller_id,carrier,area_code,hourly_limit,daily_limit,pool,state,active,last_used,"
            "hourly_used,daily_used,rest_until,warm_from");
  EXPECT_EQ(used.substr(0, 39), "2125551001,AT&T,212,7,,default,,true,20") << used;
  EXPECT_NE(used.find("Z,1,1,"), std::string::npos) << used;  // last_used set, counted once
  // Not resting; added today, so warming up from today's midnight (UTC, the default TIMEZONE).
  EXPECT_EQ(unused, "2125551002,AT&T,212,7,,default,,true,,0,0,," + MidnightIso(0));
}

// A rest goes out with the export and comes back through every import (SPEC: importing an export
// restores everything but the usage counters): the API's, for a number deleted since (new) and
// for one whose rest was ended (an update), and the direct one (cluster: beside the running
// instance; embedded: with the server stopped).
TEST_F(ImportE2eTest, AnExportedRestComesBackThroughEveryImport) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 2));
  const std::string until = IsoIn(std::chrono::hours(24));
  const std::string patch_path = "/api/numbers/2125551002";
  const auto rest = [&](const std::string& value) {
    return Admin("PATCH", patch_path, R"({"rest_until":")" + value + R"("})", "application/json");
  };
  const auto resting_until = [&] {
    const auto number = ParseJson(Admin("GET", patch_path).body).at("number").at("resting_until");
    return number.is_null() ? std::string("none") : std::string(number.as_string());
  };
  ASSERT_EQ(rest(until).status, 200);
  const Env env = StoreEnv();
  const std::string file = (work_dir() / "pool.csv").string();
  const auto exported = test_support::RunCidrotor({"export", file}, env, work_dir());
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  const std::string csv = text.str();
  EXPECT_NE(csv.find("\n2125551002,AT&T,212,,,default,,true,,0,0," + until + ","),
            std::string::npos)
      << csv;

  ASSERT_EQ(Admin("DELETE", patch_path).status, 200);
  const auto as_new = Admin("POST", "/api/numbers/import", csv, "text/csv");
  ASSERT_EQ(as_new.status, 200) << as_new.body;
  EXPECT_EQ(Field(ParseJson(as_new.body), "imported"), "1");
  EXPECT_EQ(resting_until(), until);
  ASSERT_EQ(rest("none").status, 200);
  EXPECT_EQ(resting_until(), "none");
  const auto as_update = Admin("POST", "/api/numbers/import", csv, "text/csv");
  ASSERT_EQ(as_update.status, 200) << as_update.body;
  EXPECT_EQ(Field(ParseJson(as_update.body), "updated"), "2");
  EXPECT_EQ(resting_until(), until);

  ASSERT_EQ(rest("none").status, 200);
  const auto direct = ImportDirectly(file);
  EXPECT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(resting_until(), until);
  // In the system of record too (cluster mode: PostgreSQL, which an export reads).
  const auto again = test_support::RunCidrotor({"export", "-"}, env, work_dir());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, csv);
  for (int call = 0; call < 2; ++call) {  // the other number takes every call
    const auto allocated = NextCid("to=2125559876");
    ASSERT_EQ(allocated.status, 200) << allocated.body;
    EXPECT_EQ(Field(ParseJson(allocated.body), "caller_id"), "2125551001");
    ASSERT_EQ(client().Post("/release", "caller_id=2125551001").status, 200);
  }
}

// A warm-up start goes out with the export and comes back through every import, in place of the
// arriving rule (with a last_used the number would be established): the API's for a new number
// and an existing one, and the direct one (cluster: beside the running instance; embedded: with
// the server stopped). The day of the ramp shows it (WARMUP_DAYS=4).
TEST_F(ImportE2eTest, AWarmUpStartComesBackThroughEveryImport) {
  ASSERT_NO_FATAL_FAILURE(StartServer({{"WARMUP_DAYS", "4"}}));
  const std::string path = "/api/numbers/2125551001";
  const auto warmup_day = [&] {
    return Field(ParseJson(Admin("GET", path).body).at("number"), "warmup_day");
  };
  const auto row = [](int days_ago) {
    return "caller_id,carrier,last_used,warm_from\n2125551001,AT&T," +
           IsoIn(-std::chrono::hours(1)) + "," + MidnightIso(days_ago) + "\n";
  };
  const auto as_new = Admin("POST", "/api/numbers/import", row(1), "text/csv");
  ASSERT_EQ(as_new.status, 200) << as_new.body;
  EXPECT_EQ(Field(ParseJson(as_new.body), "imported"), "1");
  EXPECT_EQ(warmup_day(), "2");  // from yesterday, despite its last_used
  const auto as_update = Admin("POST", "/api/numbers/import", row(2), "text/csv");
  ASSERT_EQ(as_update.status, 200) << as_update.body;
  EXPECT_EQ(Field(ParseJson(as_update.body), "updated"), "1");
  EXPECT_EQ(warmup_day(), "3");

  const std::string file = (work_dir() / "pool.csv").string();
  std::ofstream(file) << row(3);
  const auto direct = ImportDirectly(file);
  EXPECT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(warmup_day(), "4");
  // In the system of record too (cluster mode: PostgreSQL, which an export reads).
  const auto exported = test_support::RunCidrotor({"export", "-"}, StoreEnv(), work_dir());
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string warm_from_column = std::string(",").append(MidnightIso(3)).append("\n");
  EXPECT_NE(exported.out.find(warm_from_column), std::string::npos) << exported.out;
}

// A file with fewer columns (the seed's five) updates what it says and leaves the rest, through
// the API and the direct import: a deactivated number stays out of rotation, in its pool.
TEST_F(ImportE2eTest, AFileWithFewerColumnsLeavesTheOthersAsTheyAre) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const auto full = Admin("POST", "/api/numbers/import",
                          "caller_id,carrier,hourly_limit,daily_limit,pool,state,active\n"
                          "2125551001,AT&T,10,50,sales,NY,false\n",
                          "text/csv");
  ASSERT_EQ(full.status, 200) << full.body;
  const auto number = [&] {
    return ParseJson(Admin("GET", "/api/numbers/2125551001").body).at("number");
  };
  const std::string seed = "caller_id,carrier,area_code,hourly_limit,daily_limit\n";
  const auto via_api =
      Admin("POST", "/api/numbers/import", seed + "2125551001,Verizon,212,,\n", "text/csv");
  ASSERT_EQ(via_api.status, 200) << via_api.body;
  EXPECT_EQ(Field(ParseJson(via_api.body), "updated"), "1");
  EXPECT_EQ(Field(number(), "carrier"), "Verizon");
  EXPECT_EQ(Field(number(), "pool"), "sales");
  EXPECT_EQ(Field(number(), "state"), "NY");
  EXPECT_EQ(Field(number(), "active"), "false");
  EXPECT_EQ(Field(number(), "hourly_limit"), "100");  // empty cap: the default

  const std::string file = (work_dir() / "seed.csv").string();
  std::ofstream(file) << seed << "2125551001,Lumen,212,7,\n";
  const auto direct = ImportDirectly(file);
  EXPECT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_EQ(Field(number(), "carrier"), "Lumen");
  EXPECT_EQ(Field(number(), "pool"), "sales");
  EXPECT_EQ(Field(number(), "active"), "false");
  EXPECT_EQ(NextCid("to=2125559876").status, 503);  // still out of rotation
  // In the system of record too (cluster mode: PostgreSQL, which an export reads).
  const auto exported = test_support::RunCidrotor({"export", "-"}, StoreEnv(), work_dir());
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(exported.out.find("\n2125551001,Lumen,212,7,,sales,NY,false,"), std::string::npos)
      << exported.out;
}

TEST_F(ImportE2eTest, DirectImportRefusedWhileServingThenViaApiThenDirect) {
  SKIP_UNLESS_EMBEDDED("the direct import writes the data directory's SQLite file");
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const std::string file = (std::string(CIDROTOR_FIXTURES_DIR) + "/hostile_pool.csv");
  const auto refused = Cli({"import", file});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("--via-api"), std::string::npos) << refused.err;

  const auto via = Cli({"import", file, "--via-api", fmt::format("http://127.0.0.1:{}", port()),
                        "--rejects", (work_dir() / "rejects.csv").string()});
  EXPECT_EQ(via.exit_code, 1) << via.err;
  EXPECT_NE(via.err.find("5 imported"), std::string::npos) << via.err;
  std::ifstream rejects(work_dir() / "rejects.csv");
  std::string header, first;
  std::getline(rejects, header);
  std::getline(rejects, first);
  EXPECT_EQ(first, "5,duplicate of line 2,2125550100,dup,,,,,,,,");
  EXPECT_EQ(NextCid("to=3125559876").status, 200);

  ASSERT_EQ(server().Terminate(), 0);
  std::ofstream(work_dir() / "more.csv") << "caller_id,carrier\n7025550100,Lumen\n";
  const auto direct = Cli({"import", (work_dir() / "more.csv").string()});
  EXPECT_EQ(direct.exit_code, 0) << direct.err;
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  const auto allocated = NextCid("to=7025559876");
  ASSERT_EQ(allocated.status, 200);
  EXPECT_EQ(Field(ParseJson(allocated.body), "caller_id"), "7025550100");
}

// SIGTERM (a service manager's stop; Ctrl-C sends SIGINT) ends a direct import with its summary,
// also while it waits for input on a pipe: the batches committed stay, the exit status says it
// stopped (1). It used to die at once (143), without a word.
TEST_F(ImportE2eTest, ADirectImportStoppedBySigtermKeepsItsBatchesAndSaysSo) {
  SKIP_UNLESS_EMBEDDED("the direct import writes the data directory's SQLite file");
  const auto fifo = work_dir() / "pool.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  test_support::CommandResult result;
  std::thread import([&] { result = Cli({"import", fifo.string(), "--batch-rows", "500"}); });
  std::ofstream rows(fifo);  // its open waits for the import's
  rows << "caller_id,carrier\n";
  for (int i = 0; i < 1200; ++i) rows << fmt::format("{},Lumen\n", 2'125'500'000 + i);
  rows.flush();  // and the pipe stays open: the import waits for more
  // The import's pid (the one process reading this fifo), once it has committed two batches.
  const auto committed = [this]() -> std::int64_t {
    auto db = store::sqlite::Database::Open((work_dir() / "data" / "cidrotor.db").string(),
                                            store::sqlite::Database::Access::kReadOnly);
    if (!db) return 0;
    auto count = db->QueryInt64("SELECT count(*) FROM caller_ids", "count");
    return count && *count ? **count : 0;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (committed() < 1000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const pid_t pid = PidReading(fifo);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  import.join();
  rows.close();
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find("1200 rows: 1000 imported"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("stopped: interrupted (SIGINT or SIGTERM)"), std::string::npos)
      << result.err;
  EXPECT_EQ(committed(), 1000);
}

// Larger than one batch of the server (65,536 rows) and one block of the client (1 MiB), from
// stdin: streamed both ways, and the rejects file still gets the original columns.
TEST_F(ImportE2eTest, ViaApiStreamsStdinInBatchesAndWritesRejects) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const auto csv_path = work_dir() / "big.csv";
  {
    std::ofstream csv(csv_path);
    csv << "caller_id,carrier\n";
    for (int i = 0; i < 150'000; ++i) {
      csv << fmt::format("{},Lumen\n", 2'125'500'000 + i);
    }
    csv << "2125500007,dup\n";
  }
  const auto via = Cli({"import", "-", "--via-api", fmt::format("http://127.0.0.1:{}", port()),
                        "--rejects", (work_dir() / "rejects.csv").string()},
                       csv_path);
  EXPECT_EQ(via.exit_code, 1) << via.err;
  EXPECT_NE(via.err.find("150001 rows: 150000 imported"), std::string::npos) << via.err;
  std::ifstream rejects(work_dir() / "rejects.csv");
  std::string header, first;
  std::getline(rejects, header);
  std::getline(rejects, first);
  EXPECT_EQ(header, "line,reason,caller_id,carrier");
  EXPECT_EQ(first, "150002,duplicate of line 9,2125500007,dup");
  const auto allocated = NextCid("to=2125649876");  // exchange 564: rows of the last batch
  ASSERT_EQ(allocated.status, 200) << allocated.body;
  EXPECT_EQ(Field(ParseJson(allocated.body), "match"), "exchange");
}

// A named pipe (as `<(...)` or `/dev/stdin` on a pipe is) cannot be read twice: the rows the
// server rejected are taken from the copy the client kept, not from the drained pipe (the
// rejects file was empty, without a word).
TEST_F(ImportE2eTest, ViaApiFromAPipeStillWritesEveryReject) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const auto fifo = work_dir() / "pool.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&fifo] {  // its open waits for the import's
    std::ofstream(fifo) << "caller_id,carrier\n2125550100,Lumen\nnope,Lumen\n2125550101,x\n";
  });
  const auto via =
      Cli({"import", fifo.string(), "--via-api", fmt::format("http://127.0.0.1:{}", port()),
           "--rejects", (work_dir() / "rejects.csv").string()});
  const int unblock = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);  // should the import not
  writer.join();
  if (unblock >= 0) ::close(unblock);
  EXPECT_EQ(via.exit_code, 1) << via.err;
  EXPECT_NE(via.err.find("3 rows: 2 imported"), std::string::npos) << via.err;
  EXPECT_EQ(ReadFile(work_dir() / "rejects.csv"),
            "line,reason,caller_id,carrier\n3,caller_id: contains a character that is not part "
            "of a phone number,nope,Lumen\n");
}

// The embedded index holds at most 65,536 distinct carriers ("" included). A row that would add
// one more is a rejected row, with its line, in every import: through the API it was a 400 that
// still kept the other rows of its chunk, and the direct import wrote rows `serve` then left out.
TEST_F(ImportE2eTest, ARowOfOneCarrierTooManyIsRejectedAndTheOthersImported) {
  SKIP_UNLESS_EMBEDDED("the cluster store keeps carriers as text: no such limit");
  ASSERT_NO_FATAL_FAILURE(StartServer());
  const auto csv_path = work_dir() / "carriers.csv";
  {
    std::ofstream csv(csv_path);
    csv << "caller_id,carrier\n";
    for (int i = 0; i < 65'540; ++i) csv << fmt::format("{},account {}\n", 2'125'500'000 + i, i);
  }
  const auto via =
      Cli({"import", csv_path.string(), "--via-api", fmt::format("http://127.0.0.1:{}", port()),
           "--rejects", (work_dir() / "rejects.csv").string()});
  EXPECT_EQ(via.exit_code, 1) << via.err;
  EXPECT_NE(via.err.find("65540 rows: 65535 imported, 0 updated, 0 skipped, 5 rejected"),
            std::string::npos)
      << via.err;
  std::ifstream rejects(work_dir() / "rejects.csv");
  std::string header, first;
  std::getline(rejects, header);
  std::getline(rejects, first);
  EXPECT_EQ(first,
            "65537,\"carrier: too many distinct values (65,536 max)\",2125565535,"
            "account 65535");
  const auto admin = test_support::BearerAuth(kAdminToken);
  EXPECT_EQ(client().Get("/api/numbers/2125565534", admin).status, 200);
  EXPECT_EQ(client().Get("/api/numbers/2125565535", admin).status, 404);

  // The direct import counts the store's carriers too: a new one is refused, a known one taken.
  ASSERT_EQ(server().Terminate(), 0);
  std::ofstream(work_dir() / "more.csv")
      << "caller_id,carrier\n7025550100,brand new\n7025550101,account 7\n";
  const auto direct = Cli({"import", (work_dir() / "more.csv").string()});
  EXPECT_EQ(direct.exit_code, 1) << direct.err;
  EXPECT_NE(direct.err.find("line 2: carrier: too many distinct values"), std::string::npos)
      << direct.err;
  EXPECT_NE(direct.err.find("1 imported"), std::string::npos) << direct.err;
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  EXPECT_EQ(client().Get("/api/numbers/7025550101", admin).status, 200);
  EXPECT_EQ(Field(ParseJson(client().Get("/api/stats", admin).body), "total_numbers"), "65536");
}

// Opening the rejects file empties it: never a store's database (a review wiped a running
// server's through --via-api), nor the data directory's lock.
TEST_F(ImportE2eTest, RejectsNeverNamesAStoreFile) {
  SKIP_UNLESS_EMBEDDED("the store files are the embedded store's");
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
  std::ofstream(work_dir() / "one.csv") << "caller_id\n3125550100\n";
  const std::string database = (work_dir() / "data" / "cidrotor.db").string();
  const auto via = Cli({"import", (work_dir() / "one.csv").string(), "--via-api",
                        fmt::format("http://127.0.0.1:{}", port()), "--rejects", database});
  EXPECT_EQ(via.exit_code, 2);
  EXPECT_NE(via.err.find("is an SQLite database"), std::string::npos) << via.err;
  ASSERT_EQ(server().Terminate(), 0);
  for (const char* file : {"cidrotor.db", "cidrotor.lock"}) {
    const auto direct = Cli({"import", (work_dir() / "one.csv").string(), "--rejects",
                             (work_dir() / "data" / file).string()});
    EXPECT_EQ(direct.exit_code, 2) << file;
    EXPECT_NE(direct.err.find("is a file of the store"), std::string::npos) << direct.err;
  }
  ASSERT_NO_FATAL_FAILURE(RestartServer());
  EXPECT_EQ(NextCid("to=2125559876").status, 200);
}

// A dry run reads the store beside the running server (no data-dir lock) and creates nothing: a
// mistyped --data-dir does not become a new store.
TEST_F(ImportE2eTest, ADryRunReadsBesideTheServerAndCreatesNothing) {
  SKIP_UNLESS_EMBEDDED("a dry run reads the data directory's SQLite file");
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 1));
  std::ofstream(work_dir() / "two.csv") << "caller_id\n2125551001\n3125550100\n";
  const auto beside = Cli({"import", "--dry-run", (work_dir() / "two.csv").string()});
  EXPECT_EQ(beside.exit_code, 0) << beside.err;
  EXPECT_NE(beside.err.find("2 rows: 1 imported, 1 updated"), std::string::npos) << beside.err;
  const auto mistyped = work_dir() / "dta";
  const auto nowhere = Cli(
      {"import", "--dry-run", "--data-dir", mistyped.string(), (work_dir() / "two.csv").string()});
  EXPECT_EQ(nowhere.exit_code, 0) << nowhere.err;
  EXPECT_NE(nowhere.err.find("no store at"), std::string::npos) << nowhere.err;
  EXPECT_FALSE(std::filesystem::exists(mistyped));
  EXPECT_EQ(client().Get("/api/numbers/3125550100", test_support::BearerAuth(kAdminToken)).status,
            404);  // nothing written
}

// An IPv6 literal in --via-api: its brackets are the URL's, not the host's.
TEST_F(ImportE2eTest, ViaApiTakesAnIpv6Literal) {
  ASSERT_NO_FATAL_FAILURE(StartServer({{"API_HOST", "::"}}));  // both stacks
  std::ofstream(work_dir() / "one.csv") << "caller_id\n3125550100\n";
  const auto via = Cli({"import", (work_dir() / "one.csv").string(), "--via-api",
                        fmt::format("http://[::1]:{}", port())});
  EXPECT_EQ(via.exit_code, 0) << via.err;
  EXPECT_EQ(NextCid("to=3125559876").status, 200);
}

TEST_F(ImportE2eTest, ViaApiReportsTheServersRefusal) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  std::ofstream(work_dir() / "bad.csv") << "number,carrier\n2125550100,x\n";
  const std::string url = fmt::format("http://127.0.0.1:{}", port());
  const auto bad_header = Cli({"import", (work_dir() / "bad.csv").string(), "--via-api", url});
  EXPECT_EQ(bad_header.exit_code, 2);
  EXPECT_NE(bad_header.err.find("answered 400"), std::string::npos) << bad_header.err;
  EXPECT_NE(bad_header.err.find("caller_id"), std::string::npos) << bad_header.err;
  const auto wrong_token =
      Cli({"import", (work_dir() / "bad.csv").string(), "--via-api", url, "--token", "wrong"});
  EXPECT_EQ(wrong_token.exit_code, 2);
  EXPECT_NE(wrong_token.err.find("answered 401"), std::string::npos) << wrong_token.err;
}

}  // namespace
}  // namespace cidrotor::e2e
