// A thin RAII layer over libpq for cluster mode's system of record: Connection owns one PGconn in
// non-blocking mode, and every exchange with the server has a deadline, so a dead, stopped or
// black-holed server costs at most `connect_timeout` / `statement_timeout`, never a hang.
//
// Queries go out as a QueryBatch in libpq's pipeline mode: N statements (prepared or ad hoc, text
// parameters) are sent together followed by one Sync, so a batch is one round trip. Without an
// explicit BEGIN, the statements between two Syncs run in ONE implicit transaction: the Sync
// commits them, or rolls all of them back when one fails (PostgreSQL protocol, "Pipelining").
//
// Every failure is a core::Error of code kUnavailable naming what was attempted and the server's
// message ("postgres: commit batch: server closed the connection unexpectedly"). Lost() says
// whether it was the connection (or the server's availability) that failed, as opposed to the
// statement (a constraint, a bad value): the journal queues and retries the former only.
//
// Thread-safety: use a Connection from one thread at a time. Ownership: move-only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace cidrotor::store::postgres {

// Where the server is and how long to wait for it.
struct ConnectionSettings {
  // DATABASE_URL (postgresql://user:pass@host:port/db or a key=value conninfo string); when set
  // it wins over the split fields below. Default empty.
  std::string url;
  // POSTGRES_HOST / _PORT / _USER / _PASSWORD / _DB: the seed's split settings. Defaults: empty
  // (libpq's defaults apply), 5432, empty, empty, empty.
  std::string host;
  std::uint16_t port = 5432;
  std::string user;
  std::string password;
  std::string dbname;
  // Schema searched first (tests give each test a schema of its own). Default empty: "public".
  std::string search_path;
  // Longest wait for a connection to be established (TCP + startup + auth). Default 2,000 ms.
  std::chrono::milliseconds connect_timeout{2'000};
  // Longest a statement may run (server-side statement_timeout) and, plus one second, the longest
  // this process waits for any answer (client-side deadline). Default 5,000 ms.
  std::chrono::milliseconds statement_timeout{5'000};
};

// The current result's rows (text format). Views die with the result.
class Rows {
 public:
  explicit Rows(const PGresult* result) : result_(result) {}
  int size() const;
  bool IsNull(int row, int column) const;
  std::string_view Text(int row, int column) const;  // NULL reads as empty
  std::int64_t Int64(int row, int column) const;     // NULL or not a number reads as 0
  double Double(int row, int column) const;          // NULL or not a number reads as 0

 private:
  const PGresult* result_;
};

// Statements and their text parameters, sent together as one pipeline. Parameters are copied
// into one buffer, so building a batch of hundreds of statements costs no allocation per value
// once the buffers have grown. Not thread-safe.
class QueryBatch {
 public:
  // Starts a statement: a prepared one by name (a string literal), or an ad hoc SQL text.
  void Prepared(const char* name);
  void Sql(std::string sql);
  // Appends a parameter to the statement started last.
  void Int(std::int64_t value);
  void Text(std::string_view value);
  void Double(double value);
  void Null();
  void OptionalInt(std::optional<std::int64_t> value);
  // Empty text is sent as NULL.
  void TextOrNull(std::string_view value);

  std::size_t size() const { return queries_.size(); }
  bool empty() const { return queries_.empty(); }
  void Clear();

 private:
  friend class Connection;
  struct Query {
    const char* name = nullptr;  // prepared statement, or nullptr for `sql`
    std::string sql;
    std::size_t first_param = 0;  // index into offsets_
    int params = 0;
  };
  std::vector<Query> queries_;
  std::string data_;                     // parameter texts, each NUL-terminated
  std::vector<std::ptrdiff_t> offsets_;  // into data_, -1 = NULL
};

class Connection {
 public:
  // Called while a connection attempt waits, about every 50 ms (the journal acknowledges
  // appends meanwhile).
  using WaitHook = std::function<void()>;

  // Connects within settings.connect_timeout. Errors: kUnavailable naming the server ("postgres:
  // connect to 127.0.0.1:5432: Connection refused").
  [[nodiscard]] static core::Result<Connection> Open(const ConnectionSettings& settings,
                                                     const WaitHook& while_waiting = {});

  Connection() = default;
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  bool is_open() const { return conn_ != nullptr; }
  // True when the last failure was the connection's or the server's availability (closed socket,
  // timeout, shutdown, too many connections) or a conflict (Conflicted), not the statement's.
  // Lost and not Conflicted, the connection stays lost: open a new one.
  bool Lost() const { return lost_ || conflict_; }
  // True when the last exchange failed only because the server cancelled its transaction to
  // resolve a conflict with another one (a deadlock's victim, a serialization failure): nothing
  // of it was kept, and the connection can run it again at once.
  bool Conflicted() const;

  // Runs `sql` through the simple protocol (several statements allowed, no parameters); each
  // result with rows goes to `on_rows`. Errors: kUnavailable.
  [[nodiscard]] core::Result<void> Exec(std::string_view sql, std::string_view what,
                                        const std::function<void(Rows)>& on_rows = {});

  // As Exec (without rows), with `timeout` instead of statement_timeout on both sides: the
  // statements of `sql` run as one implicit transaction in which the server's statement_timeout
  // is `timeout` (SET LOCAL), and the answer is waited for that long (plus a second). For what
  // may legitimately run for minutes, such as a migration that rewrites a table.
  // Errors: kUnavailable.
  [[nodiscard]] core::Result<void> ExecLong(std::string_view sql, std::string_view what,
                                            std::chrono::milliseconds timeout);

  // Sends every statement of `batch` as one pipeline ending in a Sync (one implicit transaction)
  // and reads every answer. `on_rows(i, rows)` gets the result of statement i. On a failure the
  // server rolls the whole batch back; the first error is returned. Errors: kUnavailable.
  [[nodiscard]] core::Result<void> Run(const QueryBatch& batch, std::string_view what,
                                       const std::function<void(std::size_t, Rows)>& on_rows = {});

  // Prepares `sql` under `name` on this connection. Errors: kUnavailable.
  [[nodiscard]] core::Result<void> Prepare(const char* name, std::string_view sql);

  // COPY FROM STDIN: runs `copy_sql`, sends `data` (COPY text format), ends the copy.
  // Errors: kUnavailable (the copy is aborted, nothing of it is kept).
  [[nodiscard]] core::Result<void> CopyIn(std::string_view copy_sql, std::string_view data,
                                          std::string_view what);

  // Appends `value` to `out` escaped for COPY's text format (backslash, tab, newline, CR).
  static void AppendCopyText(std::string& out, std::string_view value);

 private:
  explicit Connection(PGconn* conn, std::chrono::milliseconds statement_timeout);
  using Deadline = std::chrono::steady_clock::time_point;
  Deadline NextDeadline() const;
  // Waits until the socket is readable (and writable when `write`), or the deadline passes.
  [[nodiscard]] core::Result<void> Wait(bool write, Deadline deadline, std::string_view what);
  // Sends what libpq has buffered. Errors: kUnavailable.
  [[nodiscard]] core::Result<void> FlushOutput(Deadline deadline, std::string_view what);
  // The next result (nullptr at the end of a statement's results), waiting for input as needed.
  [[nodiscard]] core::Result<PGresult*> NextResult(Deadline deadline, std::string_view what);
  // Reads every result of the statement sent last: rows go to `on_rows`; the first result that
  // is neither rows nor a completed command is the error (the rest are still read).
  [[nodiscard]] core::Result<void> DrainResults(Deadline deadline, std::string_view what,
                                                const std::function<void(Rows)>& on_rows = {});
  // Fails unless the connection is open and not lost; starts an exchange.
  [[nodiscard]] core::Result<void> Usable(std::string_view what);
  // A kUnavailable error for `what` with libpq's message; classifies it for Lost().
  core::Error Failure(std::string_view what, const PGresult* result = nullptr);
  core::Error TimedOut(std::string_view what);
  void Close();

  PGconn* conn_ = nullptr;
  std::chrono::milliseconds statement_timeout_{5'000};
  bool lost_ = false;
  bool conflict_ = false;  // the last exchange's transaction was cancelled for a conflict
};

// "host:port/db" for logs and errors, never the password.
std::string DescribeServer(const ConnectionSettings& settings);

}  // namespace cidrotor::store::postgres
