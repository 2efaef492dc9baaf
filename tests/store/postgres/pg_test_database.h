// The PostgreSQL tests' database: the server the CTest fixture started (tests/support/
// pg_server.sh, its state directory in CIDROTOR_PG_STATE_DIR), and a fresh schema per test, so
// tests share one server (initdb once per run) but never each other's rows. Kill() and Restart()
// stop the server as a crash would and start it again, Freeze() and Thaw() make it hang and
// resume, for the degraded-mode tests (every test holds the fixture's RESOURCE_LOCK, so no other
// test runs meanwhile).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "store/postgres/pg_connection.h"
#include "store/postgres/schema.h"
#include "support/matchers.h"

namespace cidrotor::store::postgres_test {

class PgTestDatabase {
 public:
  PgTestDatabase() {
    const char* dir = std::getenv("CIDROTOR_PG_STATE_DIR");
    if (dir == nullptr) {
      ADD_FAILURE() << "CIDROTOR_PG_STATE_DIR is not set: run through ctest (the pg fixture)";
      return;
    }
    state_dir_ = dir;
    std::ifstream port_file(state_dir_ + "/port");
    port_file >> port_;
    static std::atomic<int> counter{0};
    schema_ = "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1));
    Admin("CREATE SCHEMA " + schema_);
  }
  ~PgTestDatabase() { Admin("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE"); }
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  // Settings of the test's schema on the fixture's server.
  postgres::ConnectionSettings settings() const {
    postgres::ConnectionSettings s;
    s.host = "127.0.0.1";
    s.port = port_;
    s.user = "postgres";
    s.dbname = "postgres";
    s.search_path = schema_;
    return s;
  }
  const std::string& schema() const { return schema_; }

  // The first column of the first row of `sql`, run in the test's schema (e.g. a count).
  std::int64_t QueryInt(const std::string& sql) const {
    std::int64_t value = -1;
    auto conn = postgres::Connection::Open(HelperSettings());
    EXPECT_TRUE(conn.has_value()) << (conn ? "" : conn.error().ToString());
    if (!conn) return value;
    auto ok = conn->Exec(sql, "test query", [&](postgres::Rows rows) {
      if (rows.size() > 0) value = rows.Int64(0, 0);
    });
    EXPECT_TRUE(ok.has_value()) << (ok ? "" : ok.error().ToString());
    return value;
  }
  void Exec(const std::string& sql) const {
    auto conn = postgres::Connection::Open(HelperSettings());
    ASSERT_TRUE(conn.has_value()) << conn.error().ToString();
    auto ok = conn->Exec(sql, "test statement");
    ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  }
  // Takes a migrated database back to schema `version` (>= 3): drops what each later migration
  // added (a dropped column is gone for every statement, as if never added) and its bookkeeping
  // row, so a test can check the upgrade from there. One entry per migration since 4.
  void DowngradeTo(int version) const {
    static const char* const kUndo[] = {
        /* 4 */
        "ALTER TABLE caller_ids DROP COLUMN last_reservation_id;"
        "ALTER TABLE reservations DROP COLUMN previous_id;",
        /* 5 */ "ALTER TABLE caller_ids DROP COLUMN warm_from;",
        /* 6 */ "ALTER TABLE caller_ids DROP COLUMN rest_until;",
        /* 7 */ "DROP TABLE early_releases;",
        /* 8 */ "DROP TABLE deleted_numbers;",
        /* 9 */ "DROP INDEX reservations_at;",
        /* 10 */ "DROP TABLE number_versions;",
        /* 11 */ "DROP TABLE retired_numbers;",
    };
    static_assert(std::size(kUndo) == postgres::kSchemaVersion - 3, "a migration without its undo");
    std::string sql;
    for (int v = postgres::kSchemaVersion; v > version; --v) sql += kUndo[v - 4];
    Exec(sql + "DELETE FROM schema_migrations WHERE version > " + std::to_string(version));
  }

  // Stops the server as a crash would (pg_ctl stop -m immediate) / starts it again.
  void Kill() const { Script("kill"); }
  void Restart() const { Script("restart"); }
  // Stops / continues the server's processes (SIGSTOP/SIGCONT): a server that hangs.
  void Freeze() const { Script("freeze"); }
  void Thaw() const { Script("thaw"); }

 private:
  // The test's own connections (checks, set-up, clean-up) wait longer than the code under test:
  // right after Thaw() a loaded machine (CI, a traced run) may take seconds to accept one.
  postgres::ConnectionSettings HelperSettings() const {
    postgres::ConnectionSettings s = settings();
    s.connect_timeout = std::chrono::seconds(15);
    s.statement_timeout = std::chrono::seconds(30);
    return s;
  }
  void Admin(const std::string& sql) const {
    postgres::ConnectionSettings s = HelperSettings();
    s.search_path.clear();
    auto conn = postgres::Connection::Open(s);
    ASSERT_TRUE(conn.has_value()) << conn.error().ToString();
    auto ok = conn->Exec(sql, "test setup");
    ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  }
  void Script(const std::string& command) const {
    const std::string line =
        std::string(CIDROTOR_PG_SERVER_SCRIPT) + " " + command + " " + state_dir_;
    ASSERT_EQ(std::system(line.c_str()), 0) << line;
  }

  std::string state_dir_;
  std::uint16_t port_ = 0;
  std::string schema_;
};

}  // namespace cidrotor::store::postgres_test
