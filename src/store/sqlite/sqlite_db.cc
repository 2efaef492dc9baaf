#include "store/sqlite/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

namespace cidrotor::store::sqlite {

core::Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string detail = "sqlite: ";
  detail += what;
  detail += ": ";
  // The connection's message describes the last failure on it; the code's generic text covers
  // failures without a connection (open) or whose message was already replaced.
  const char* message = db != nullptr ? sqlite3_errmsg(db) : nullptr;
  detail += message != nullptr ? message : sqlite3_errstr(rc);
  detail += " (code " + std::to_string(rc) + ")";
  return core::Error::Unavailable(std::move(detail));
}

// --- Statement ---------------------------------------------------------------------------------

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), what_(other.what_), bind_rc_(other.bind_rc_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    what_ = other.what_;
    bind_rc_ = other.bind_rc_;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::NoteBind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindInt64(int index, std::int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_, index, value));
}

void Statement::BindDouble(int index, double value) {
  NoteBind(sqlite3_bind_double(stmt_, index, value));
}

void Statement::BindNull(int index) { NoteBind(sqlite3_bind_null(stmt_, index)); }

void Statement::BindText(int index, std::string_view value) {
  NoteBind(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

void Statement::BindTextNoCopy(int index, std::string_view value) {
  NoteBind(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8));
}

void Statement::BindOptionalInt64(int index, std::optional<std::int64_t> value) {
  if (value.has_value()) {
    BindInt64(index, *value);
  } else {
    BindNull(index);
  }
}

void Statement::BindTextOrNull(int index, std::string_view value) {
  if (value.empty()) {
    BindNull(index);
  } else {
    BindText(index, value);
  }
}

core::Result<bool> Statement::Step() {
  sqlite3* db = sqlite3_db_handle(stmt_);
  if (bind_rc_ != SQLITE_OK) return core::Fail(SqliteError(db, bind_rc_, what_));
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return core::Fail(SqliteError(db, rc, what_));
}

core::Result<void> Statement::Run() {
  core::Result<bool> row;
  do {
    row = Step();
  } while (row.has_value() && *row);
  Reset();
  if (!row.has_value()) return core::Fail(row.error());
  return {};
}

void Statement::Reset() {
  // sqlite3_reset repeats the last step's error code; Step() already reported it.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

std::int64_t Statement::ColumnInt64(int index) const { return sqlite3_column_int64(stmt_, index); }

double Statement::ColumnDouble(int index) const { return sqlite3_column_double(stmt_, index); }

std::string_view Statement::ColumnText(int index) const {
  const auto* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return {};
  const int size = sqlite3_column_bytes(stmt_, index);  // after _text, as SQLite requires
  return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

// --- Database ----------------------------------------------------------------------------------

namespace {

// Library-wide settings, applied before the first connection opens (sqlite3_config refuses them
// once SQLite is initialized). Memory statistics off: with them on, every SQLite allocation takes
// a process-wide mutex to keep counts nobody here reads (no soft heap limit is set). A/B of
// allocate+release, where the group-commit writer allocates per row: +11 % req/s and half the p99
// (README, performance).
void ConfigureLibraryOnce() {
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
}

}  // namespace

core::Result<Database> Database::Open(const std::string& path, Access access) {
  ConfigureLibraryOnce();
  const int flags = (access == Access::kReadWrite ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                                  : SQLITE_OPEN_READONLY) |
                    SQLITE_OPEN_NOMUTEX;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string what = "open " + path;
    core::Error error = SqliteError(db, rc, what);
    sqlite3_close(db);  // a handle is returned even on failure; closing nullptr is a no-op
    return core::Fail(std::move(error));
  }
  sqlite3_extended_result_codes(db, 1);
  // SQLite quietly opens a file it may not write read-only; say so now, not at the first commit.
  if (access == Access::kReadWrite && sqlite3_db_readonly(db, "main") == 1) {
    sqlite3_close(db);
    return core::Fail(
        core::Error::Unavailable("sqlite: open " + path + ": the database file is not writable"));
  }
  return Database(db);
}

Database::Database(Database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    Close();
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Database::~Database() { Close(); }

void Database::Close() {
  // sqlite3_close_v2 defers the close if a statement is still alive rather than failing.
  if (db_ != nullptr) sqlite3_close_v2(std::exchange(db_, nullptr));
}

core::Result<void> Database::Exec(const std::string& sql, std::string_view what) {
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return core::Fail(SqliteError(db_, rc, what));
  return {};
}

core::Result<Statement> Database::Prepare(std::string_view sql, std::string_view what) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return core::Fail(SqliteError(db_, rc, what));
  }
  return Statement(stmt, what);
}

core::Result<std::optional<std::int64_t>> Database::QueryInt64(std::string_view sql,
                                                               std::string_view what) {
  auto stmt = Prepare(sql, what);
  if (!stmt) return core::Fail(stmt.error());
  auto row = stmt->Step();
  if (!row) return core::Fail(row.error());
  if (!*row || stmt->ColumnIsNull(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(stmt->ColumnInt64(0));
}

core::Result<std::string> Database::QueryText(std::string_view sql, std::string_view what) {
  auto stmt = Prepare(sql, what);
  if (!stmt) return core::Fail(stmt.error());
  auto row = stmt->Step();
  if (!row) return core::Fail(row.error());
  if (!*row) return std::string();
  return std::string(stmt->ColumnText(0));
}

}  // namespace cidrotor::store::sqlite
