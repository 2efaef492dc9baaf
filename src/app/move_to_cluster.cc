#include "app/move_to_cluster.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "app/store_factory.h"
#include "cli/data_dir_lock.h"
#include "cli/init_db.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/schema.h"
#include "store/redis/redis_connection.h"
#include "store/redis/script_args.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_db.h"

namespace cidrotor::app {
namespace {

namespace pg = store::postgres;
namespace sqlite = store::sqlite;

// Both modes have these tables with the same columns (docs/cluster.md); parents first.
constexpr const char* kTables[] = {"caller_ids",     "reservations",  "api_logs",
                                   "campaign_pools", "pool_settings", "deleted_numbers",
                                   "retired_numbers"};
// COPY data is sent in pieces of about this size, each one COPY of the same transaction.
constexpr std::size_t kCopyChunkBytes = 32u << 20;
// One statement of the move (a COPY piece, the commit) may run this long.
constexpr std::chrono::minutes kStatementTimeout{10};

// The table's column names, in the embedded schema's order.
core::Result<std::vector<std::string>> ColumnsOf(sqlite::Database& db, const std::string& table) {
  auto st = db.Prepare("SELECT name FROM pragma_table_info(?1)", "read the columns");
  if (!st) return core::Fail(st.error());
  st->BindText(1, table);
  std::vector<std::string> columns;
  while (true) {
    auto row = st->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    columns.emplace_back(st->ColumnText(0));
  }
  return columns;
}

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// Copies every row of `table` from SQLite into PostgreSQL (inside the caller's transaction);
// returns how many.
core::Result<std::uint64_t> CopyTable(sqlite::Database& db, pg::Connection& conn,
                                      const std::string& table) {
  auto columns = ColumnsOf(db, table);
  if (!columns) return core::Fail(columns.error());
  const std::string list = Joined(*columns);
  const std::string select = "SELECT " + list + " FROM " + table;
  auto st = db.Prepare(select, "read a table");
  if (!st) return core::Fail(st.error());
  const std::string copy = "COPY " + table + "(" + list + ") FROM STDIN";
  const std::string what = "copy " + table;
  const int width = static_cast<int>(columns->size());
  std::string data;
  std::uint64_t rows = 0;
  while (true) {
    auto row = st->Step();
    if (!row) return core::Fail(row.error());
    if (*row) {
      for (int i = 0; i < width; ++i) {
        if (i > 0) data.push_back('\t');
        if (st->ColumnIsNull(i)) {
          data += "\\N";
        } else {
          // Text as SQLite renders each value: integers and reals as PostgreSQL reads them, and
          // 0/1 for booleans, which PostgreSQL's boolean input takes too.
          pg::Connection::AppendCopyText(data, st->ColumnText(i));
        }
      }
      data.push_back('\n');
      ++rows;
    }
    if ((!*row && !data.empty()) || data.size() >= kCopyChunkBytes) {
      if (auto sent = conn.CopyIn(copy, data, what); !sent) return core::Fail(sent.error());
      data.clear();
    }
    if (!*row) return rows;
  }
}

// Rows in the cluster's tables already: the move fills an empty database only.
core::Result<std::int64_t> RowsIn(pg::Connection& conn) {
  std::string sql = "SELECT 0";
  for (const char* table : kTables) sql += fmt::format(" + (SELECT count(*) FROM {})", table);
  std::int64_t count = 0;
  auto ok = conn.Exec(sql, "count rows", [&](pg::Rows rows) {
    if (rows.size() > 0) count = rows.Int64(0, 0);
  });
  if (!ok) return core::Fail(ok.error());
  return count;
}

}  // namespace

int RunMoveToCluster(const Config& config, std::ostream& out, std::ostream& err) {
  const auto started = std::chrono::steady_clock::now();
  const std::filesystem::path data_dir = config.data_dir;
  const std::filesystem::path path = data_dir / cli::kDatabaseFileName;
  if (!std::filesystem::exists(path)) {
    err << "cidrotor move-to-cluster: no embedded store at " << path.string()
        << " (CIDROTOR_DATA_DIR)\n";
    return 2;
  }
  auto lock = cli::DataDirLock::Acquire(data_dir, "move-to-cluster");
  if (!lock) {
    err << "cidrotor move-to-cluster: " << lock.error().detail()
        << ": stop `cidrotor serve` first, so that nothing changes during the move\n";
    return 2;
  }
  auto redis = RedisSettings(config);
  if (!redis) {
    err << "cidrotor move-to-cluster: " << redis.error().detail() << "\n";
    return 2;
  }

  auto db = sqlite::Database::Open(path.string(), sqlite::Database::Access::kReadWrite);
  auto migrated = db ? sqlite::Migrate(*db) : core::Result<int>(core::Fail(db.error()));
  if (!migrated) {
    err << "cidrotor move-to-cluster: " << path.string() << ": " << migrated.error().detail()
        << "\n";
    return 1;
  }
  pg::ConnectionSettings settings = PostgresSettings(config);
  settings.statement_timeout = kStatementTimeout;
  auto conn = pg::Connection::Open(settings);
  auto pg_migrated = conn ? pg::Migrate(*conn) : core::Result<int>(core::Fail(conn.error()));
  if (!pg_migrated) {
    err << "cidrotor move-to-cluster: " << pg_migrated.error().detail() << "\n";
    return 1;
  }
  const std::string server = pg::DescribeServer(settings);
  auto held = RowsIn(*conn);
  if (!held) {
    err << "cidrotor move-to-cluster: " << held.error().detail() << "\n";
    return 1;
  }
  if (*held > 0) {
    err << "cidrotor move-to-cluster: " << server << " already holds " << *held
        << " rows of cidrotor's tables: the move fills an empty database, it never merges\n";
    return 1;
  }

  std::vector<std::pair<std::string, std::uint64_t>> moved;
  auto ok = conn->Exec("BEGIN", "begin the move");
  for (const char* table : kTables) {
    if (!ok) break;
    auto rows = CopyTable(*db, *conn, table);
    if (!rows) {
      ok = core::Fail(rows.error());
      break;
    }
    moved.emplace_back(table, *rows);
  }
  // api_logs ids came along: the cluster's next ones continue after them.
  if (ok) {
    ok = conn->Exec(
        "SELECT setval(pg_get_serial_sequence('api_logs', 'id'),"
        " COALESCE((SELECT max(id) FROM api_logs), 0) + 1, false)",
        "continue api_logs ids");
  }
  if (ok) ok = conn->Exec("COMMIT", "commit the move");
  if (!ok) {
    (void)conn->Exec("ROLLBACK", "roll the move back");
    err << "cidrotor move-to-cluster: " << ok.error().detail() << " (nothing was kept)\n";
    return 1;
  }
  // Plans for the new row counts. Only the moved tables: a database-wide ANALYZE by an owner who
  // is no superuser warns about each system table it may not analyze (some 50 lines).
  (void)conn->Exec(fmt::format("ANALYZE {}", fmt::join(kTables, ", ")), "analyze the moved tables");

  for (const auto& [table, rows] : moved) out << fmt::format("{:>14} {:>10} rows\n", table, rows);
  out << fmt::format(
      "moved {} to {} in {:.2f} s\n", path.string(), server,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  // Redis is rebuilt from PostgreSQL when its generation key is missing (docs/redis-keys.md).
  store::redis::RedisConnection connection(*redis);
  auto dropped = connection.Run({"DEL", store::redis::kGenerationKey});
  if (!dropped || dropped->is_error()) {
    err << "cidrotor move-to-cluster: Redis could not be told to rebuild ("
        << (dropped ? dropped->str : dropped.error().detail()) << "): run `redis-cli DEL "
        << store::redis::kGenerationKey << "` before starting the instances\n";
    return 1;
  }
  out << "Redis will be rebuilt from PostgreSQL by the first instance that starts\n";
  return 0;
}

}  // namespace cidrotor::app
