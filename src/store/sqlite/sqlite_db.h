// A thin RAII layer over the SQLite C API for the embedded store: Database owns one sqlite3*
// connection, Statement one prepared sqlite3_stmt*. Every SQLite failure becomes a
// core::Error of code kUnavailable whose detail names what was attempted and SQLite's message,
// e.g. "sqlite: begin batch: database is locked (code 5)".
//
// Thread-safety: a connection and its statements are opened in SQLite's multi-thread mode
// (SQLITE_OPEN_NOMUTEX): use each Database, with its Statements, from one thread at a time.
// Handing one to another thread is fine when the hand-over itself synchronizes (e.g. thread start).
//
// Ownership: a Statement must be destroyed before the Database it was prepared on (declare the
// Database first). Both are move-only; moving a Database keeps its statements valid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cidrotor::store::sqlite {

// kUnavailable error for the SQLite result `rc` of `what`, with the connection's message.
core::Error SqliteError(sqlite3* db, int rc, std::string_view what);

class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  ~Statement();

  // Binding: `index` is 1-based as in SQL's `?1`. A failed bind (an index out of range, an
  // oversized string) is remembered and reported by the next Step().
  void BindInt64(int index, std::int64_t value);
  void BindDouble(int index, double value);
  void BindNull(int index);
  // Copies the text (SQLITE_TRANSIENT), so `value` may die right after the call.
  void BindText(int index, std::string_view value);
  // Binds without a copy (SQLITE_STATIC). REQUIRES: `value` outlives the next Step/Reset.
  void BindTextNoCopy(int index, std::string_view value);
  void BindOptionalInt64(int index, std::optional<std::int64_t> value);
  // Empty text binds NULL.
  void BindTextOrNull(int index, std::string_view value);

  // Runs the statement one step. Returns true when a row is ready to read, false when done.
  // Errors: kUnavailable (with SQLite's message) on any failure, including a failed bind.
  [[nodiscard]] core::Result<bool> Step();
  // Steps to completion, ignoring rows, then resets. Errors as Step().
  [[nodiscard]] core::Result<void> Run();
  // Makes the statement reusable and clears its bindings. Never fails.
  void Reset();

  // Column accessors for the current row; `index` is 0-based. Text views die at the next
  // Step/Reset; NULL reads as 0 / empty.
  std::int64_t ColumnInt64(int index) const;
  double ColumnDouble(int index) const;
  std::string_view ColumnText(int index) const;
  bool ColumnIsNull(int index) const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* stmt, std::string_view what) : stmt_(stmt), what_(what) {}
  void NoteBind(int rc);

  sqlite3_stmt* stmt_ = nullptr;
  std::string_view what_;  // names the statement in errors; a string literal
  int bind_rc_ = 0;        // first failed bind since the last Reset (0 = SQLITE_OK)
};

class Database {
 public:
  enum class Access { kReadWrite, kReadOnly };

  // Opens (kReadWrite also creates) the database file at `path`.
  // Errors: kUnavailable naming the path, e.g. when its directory does not exist, or (kReadWrite)
  // when the file may only be read.
  [[nodiscard]] static core::Result<Database> Open(const std::string& path, Access access);

  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  ~Database();

  // Runs one or more statements that return no rows the caller needs. `what` names them in errors.
  [[nodiscard]] core::Result<void> Exec(const std::string& sql, std::string_view what);
  // `what` must outlive the statement (a string literal): it names the statement in errors.
  [[nodiscard]] core::Result<Statement> Prepare(std::string_view sql, std::string_view what);
  // The first column of the first row of `sql` as an integer; nullopt when there is no row or
  // the value is NULL.
  [[nodiscard]] core::Result<std::optional<std::int64_t>> QueryInt64(std::string_view sql,
                                                                     std::string_view what);
  // The first column of the first row as text (empty when no row).
  [[nodiscard]] core::Result<std::string> QueryText(std::string_view sql, std::string_view what);

  // Closes the connection now (finalize this connection's statements first). Idempotent.
  void Close();
  bool is_open() const { return db_ != nullptr; }
  sqlite3* handle() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// Runs `read()` (statements on `db`) inside one read transaction, so that they all see one
// snapshot. `what` names the reads in errors. Returns read's result, else BEGIN's or COMMIT's
// error (a read has nothing to lose either way).
template <class Read>
auto InReadTransaction(Database& db, std::string_view what, Read read) -> decltype(read()) {
  auto begun = db.Exec("BEGIN", what);
  if (!begun) return core::Fail(begun.error());
  auto result = read();
  auto ended = db.Exec("COMMIT", what);
  if (!result) return result;
  if (!ended) return core::Fail(ended.error());
  return result;
}

}  // namespace cidrotor::store::sqlite
