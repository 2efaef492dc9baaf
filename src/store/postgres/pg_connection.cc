#include "store/postgres/pg_connection.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string>
#include <utility>

namespace cidrotor::store::postgres {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// A connection attempt checks the hook at least this often.
constexpr milliseconds kWaitSlice{50};
// Slack on top of statement_timeout before the client gives up on an answer: the server's own
// timeout normally fires first and reports a proper error.
constexpr milliseconds kAnswerSlack{1'000};
// COPY data goes out in pieces of this size.
constexpr std::size_t kCopyChunk = 1 << 20;

// SQLSTATE classes and codes that say "the server is not available right now" rather than "this
// statement is wrong": retrying the same batch later can succeed.
bool IsAvailabilityState(std::string_view state) {
  if (state.size() != 5) return false;
  const std::string_view cls = state.substr(0, 2);
  return cls == "08"                  // connection exception
         || cls == "53"               // insufficient resources (too many connections, disk full)
         || cls == "58"               // system error (I/O)
         || state == "57014"          // query_canceled: statement_timeout fired
         || state.starts_with("57P")  // admin/crash shutdown, cannot connect now
         || state == "25006";         // read-only transaction: a standby after a failover
}

// The server cancelled the transaction to resolve a conflict with another one: a retry can
// succeed at once, on the same connection.
bool IsConflictState(std::string_view state) {
  return state == "40001" || state == "40P01";  // serialization failure, deadlock detected
}

std::string Trimmed(const char* message) {
  std::string text = message == nullptr ? "" : message;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const auto newline = text.find('\n');  // libpq adds DETAIL/HINT lines: keep the first
  if (newline != std::string::npos) text.resize(newline);
  return text.empty() ? "unknown error" : text;
}

}  // namespace

std::string DescribeServer(const ConnectionSettings& settings) {
  if (!settings.url.empty()) {
    // Parsed by libpq itself (a URL, or key=value pairs in any of the spellings it accepts, such
    // as `password = x`), then written back with the server's address alone: no user, password
    // or other option can reach a log line.
    PQconninfoOption* options = PQconninfoParse(settings.url.c_str(), nullptr);
    if (options == nullptr) return "postgresql (a DATABASE_URL libpq cannot parse)";
    std::string host;
    std::string port;
    std::string dbname;
    for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (o->val == nullptr) continue;
      const std::string_view keyword = o->keyword;
      if (keyword == "host" || (keyword == "hostaddr" && host.empty())) host = o->val;
      if (keyword == "port") port = o->val;
      if (keyword == "dbname") dbname = o->val;
    }
    PQconninfoFree(options);
    return fmt::format("postgresql://{}{}{}/{}", host.empty() ? "localhost" : host,
                       port.empty() ? "" : ":", port, dbname);
  }
  return (settings.host.empty() ? std::string("localhost") : settings.host) + ":" +
         std::to_string(settings.port) + "/" + settings.dbname;
}

// ---- Rows --------------------------------------------------------------------------------------

int Rows::size() const { return PQntuples(result_); }

bool Rows::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

std::string_view Rows::Text(int row, int column) const {
  return {PQgetvalue(result_, row, column),
          static_cast<std::size_t>(PQgetlength(result_, row, column))};
}

std::int64_t Rows::Int64(int row, int column) const {
  const std::string_view text = Text(row, column);
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

double Rows::Double(int row, int column) const {
  if (IsNull(row, column)) return 0;
  return std::strtod(PQgetvalue(result_, row, column), nullptr);
}

// ---- QueryBatch --------------------------------------------------------------------------------

void QueryBatch::Prepared(const char* name) {
  queries_.push_back(Query{name, {}, offsets_.size(), 0});
}

void QueryBatch::Sql(std::string sql) {
  queries_.push_back(Query{nullptr, std::move(sql), offsets_.size(), 0});
}

void QueryBatch::Text(std::string_view value) {
  offsets_.push_back(static_cast<std::ptrdiff_t>(data_.size()));
  data_.append(value);
  data_.push_back('\0');
  ++queries_.back().params;
}

void QueryBatch::Int(std::int64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  Text(std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

void QueryBatch::Double(double value) {
  char digits[40];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  Text(std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

void QueryBatch::Null() {
  offsets_.push_back(-1);
  ++queries_.back().params;
}

void QueryBatch::OptionalInt(std::optional<std::int64_t> value) {
  if (value.has_value()) {
    Int(*value);
  } else {
    Null();
  }
}

void QueryBatch::TextOrNull(std::string_view value) {
  if (value.empty()) {
    Null();
  } else {
    Text(value);
  }
}

void QueryBatch::Clear() {
  queries_.clear();
  data_.clear();
  offsets_.clear();
}

// ---- Connection --------------------------------------------------------------------------------

Connection::Connection(PGconn* conn, milliseconds statement_timeout)
    : conn_(conn), statement_timeout_(statement_timeout) {}

Connection::Connection(Connection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)),
      statement_timeout_(other.statement_timeout_),
      lost_(other.lost_),
      conflict_(other.conflict_) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    Close();
    conn_ = std::exchange(other.conn_, nullptr);
    statement_timeout_ = other.statement_timeout_;
    lost_ = other.lost_;
    conflict_ = other.conflict_;
  }
  return *this;
}

Connection::~Connection() { Close(); }

void Connection::Close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

core::Result<Connection> Connection::Open(const ConnectionSettings& settings,
                                          const WaitHook& while_waiting) {
  const std::string server = DescribeServer(settings);
  std::vector<std::pair<const char*, std::string>> params;
  if (!settings.url.empty()) {
    params.emplace_back("dbname", settings.url);  // expanded: the URL's own fields come first
  } else {
    if (!settings.host.empty()) params.emplace_back("host", settings.host);
    params.emplace_back("port", std::to_string(settings.port));
    if (!settings.user.empty()) params.emplace_back("user", settings.user);
    if (!settings.password.empty()) params.emplace_back("password", settings.password);
    if (!settings.dbname.empty()) params.emplace_back("dbname", settings.dbname);
  }
  std::string options =
      "-c statement_timeout=" + std::to_string(settings.statement_timeout.count());
  if (!settings.search_path.empty()) options += " -c search_path=" + settings.search_path;
  params.emplace_back("options", options);
  params.emplace_back("application_name", "cidrotor");
  // A peer that vanishes without a FIN/RST (power loss, partition) is noticed by keepalives
  // while idle and by tcp_user_timeout while data is unacknowledged.
  params.emplace_back("keepalives", "1");
  params.emplace_back("keepalives_idle", "5");
  params.emplace_back("keepalives_interval", "2");
  params.emplace_back("keepalives_count", "3");
  params.emplace_back("tcp_user_timeout", std::to_string(settings.statement_timeout.count()));
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [key, value] : params) {
    keys.push_back(key);
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  PGconn* conn = PQconnectStartParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) {
    return core::Fail(core::Error::Unavailable("postgres: connect to " + server + ": no memory"));
  }
  auto fail = [&](const std::string& why) {
    PQfinish(conn);
    return core::Fail(core::Error::Unavailable("postgres: connect to " + server + ": " + why));
  };
  const auto deadline = SteadyClock::now() + settings.connect_timeout;
  // PQconnectPoll's contract: start as if it had asked to write, then wait for what it asks.
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  while (status != PGRES_POLLING_OK) {
    if (status == PGRES_POLLING_FAILED || PQstatus(conn) == CONNECTION_BAD) {
      return fail(Trimmed(PQerrorMessage(conn)));
    }
    const auto now = SteadyClock::now();
    if (now >= deadline) {
      return fail("no answer within " + std::to_string(settings.connect_timeout.count()) + " ms");
    }
    pollfd fd{PQsocket(conn), status == PGRES_POLLING_READING ? short{POLLIN} : short{POLLOUT}, 0};
    const auto slice =
        std::min(kWaitSlice, std::chrono::duration_cast<milliseconds>(deadline - now));
    const int ready = ::poll(&fd, 1, static_cast<int>(slice.count()) + 1);
    if (ready < 0 && errno != EINTR) return fail("poll failed");
    if (ready > 0) {
      status = PQconnectPoll(conn);
    } else if (while_waiting) {
      while_waiting();
    }
  }
  if (PQsetnonblocking(conn, 1) != 0) return fail(Trimmed(PQerrorMessage(conn)));
  return Connection(conn, settings.statement_timeout);
}

bool Connection::Conflicted() const {
  // Idle: no transaction left open (aborted) by the exchange, as after a pipeline's Sync.
  return conflict_ && !lost_ && conn_ != nullptr && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

core::Result<void> Connection::Usable(std::string_view what) {
  if (conn_ == nullptr || lost_) {
    return core::Fail(
        core::Error::Unavailable("postgres: " + std::string(what) + ": not connected"));
  }
  conflict_ = false;  // a new exchange: the last one's conflict is over
  return {};
}

Connection::Deadline Connection::NextDeadline() const {
  return SteadyClock::now() + statement_timeout_ + kAnswerSlack;
}

core::Error Connection::Failure(std::string_view what, const PGresult* result) {
  std::string message;
  if (result != nullptr) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (state != nullptr && IsAvailabilityState(state)) lost_ = true;
    if (state != nullptr && IsConflictState(state)) conflict_ = true;
    message = Trimmed(PQresultErrorMessage(result));
  } else {
    // No answer from the server to blame: the exchange broke half-way (a send that failed, a
    // pipeline left open), so the connection cannot be trusted again.
    lost_ = true;
    message = Trimmed(conn_ == nullptr ? nullptr : PQerrorMessage(conn_));
  }
  if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) lost_ = true;
  return core::Error::Unavailable("postgres: " + std::string(what) + ": " + message);
}

core::Error Connection::TimedOut(std::string_view what) {
  lost_ = true;  // the state of the exchange is unknown: the connection cannot be reused
  return core::Error::Unavailable("postgres: " + std::string(what) + ": no answer within " +
                                  std::to_string((statement_timeout_ + kAnswerSlack).count()) +
                                  " ms");
}

core::Result<void> Connection::Wait(bool write, Deadline deadline, std::string_view what) {
  while (true) {
    const auto now = SteadyClock::now();
    if (now >= deadline) return core::Fail(TimedOut(what));
    pollfd fd{PQsocket(conn_), static_cast<short>(POLLIN | (write ? POLLOUT : 0)), 0};
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - now);
    const int ready = ::poll(&fd, 1, static_cast<int>(left.count()) + 1);
    if (ready > 0) return {};
    if (ready < 0 && errno != EINTR) return core::Fail(Failure(what));
  }
}

core::Result<void> Connection::FlushOutput(Deadline deadline, std::string_view what) {
  while (true) {
    const int flushed = PQflush(conn_);
    if (flushed == 0) return {};
    if (flushed < 0) return core::Fail(Failure(what));
    // The server may be waiting for us to read before it reads more: read while we wait.
    if (auto ok = Wait(true, deadline, what); !ok) return ok;
    if (PQconsumeInput(conn_) == 0) return core::Fail(Failure(what));
  }
}

core::Result<PGresult*> Connection::NextResult(Deadline deadline, std::string_view what) {
  while (PQisBusy(conn_) != 0) {
    if (auto ok = Wait(false, deadline, what); !ok) return core::Fail(ok.error());
    if (PQconsumeInput(conn_) == 0) return core::Fail(Failure(what));
  }
  return PQgetResult(conn_);
}

core::Result<void> Connection::Exec(std::string_view sql, std::string_view what,
                                    const std::function<void(Rows)>& on_rows) {
  if (auto usable = Usable(what); !usable) return usable;
  const auto deadline = NextDeadline();
  if (PQsendQuery(conn_, std::string(sql).c_str()) == 0) return core::Fail(Failure(what));
  if (auto ok = FlushOutput(deadline, what); !ok) return ok;
  return DrainResults(deadline, what, on_rows);
}

core::Result<void> Connection::ExecLong(std::string_view sql, std::string_view what,
                                        milliseconds timeout) {
  if (auto usable = Usable(what); !usable) return usable;
  // SET LOCAL lasts as long as the message's implicit transaction: the session's own timeout is
  // back for the next statement.
  const std::string text =
      "SET LOCAL statement_timeout = " + std::to_string(timeout.count()) + ";\n" + std::string(sql);
  const auto deadline = SteadyClock::now() + timeout + kAnswerSlack;
  if (PQsendQuery(conn_, text.c_str()) == 0) return core::Fail(Failure(what));
  if (auto ok = FlushOutput(deadline, what); !ok) return ok;
  return DrainResults(deadline, what);
}

core::Result<void> Connection::DrainResults(Deadline deadline, std::string_view what,
                                            const std::function<void(Rows)>& on_rows) {
  std::optional<core::Error> first_error;
  while (true) {
    auto result = NextResult(deadline, what);
    if (!result) return core::Fail(result.error());
    if (*result == nullptr) break;
    const ExecStatusType status = PQresultStatus(*result);
    if (status == PGRES_TUPLES_OK && on_rows) on_rows(Rows(*result));
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK && !first_error) {
      first_error = Failure(what, *result);
    }
    PQclear(*result);
  }
  if (first_error) return core::Fail(*first_error);
  return {};
}

core::Result<void> Connection::Prepare(const char* name, std::string_view sql) {
  const std::string what = std::string("prepare ") + name;
  if (auto usable = Usable(what); !usable) return usable;
  const auto deadline = NextDeadline();
  if (PQsendPrepare(conn_, name, std::string(sql).c_str(), 0, nullptr) == 0) {
    return core::Fail(Failure(what));
  }
  if (auto ok = FlushOutput(deadline, what); !ok) return ok;
  return DrainResults(deadline, what);
}

core::Result<void> Connection::Run(const QueryBatch& batch, std::string_view what,
                                   const std::function<void(std::size_t, Rows)>& on_rows) {
  if (auto usable = Usable(what); !usable) return usable;
  if (batch.empty()) return {};
  const auto deadline = NextDeadline();
  if (PQenterPipelineMode(conn_) == 0) return core::Fail(Failure(what));
  std::vector<const char*> values;
  for (const QueryBatch::Query& q : batch.queries_) {
    values.clear();
    for (int p = 0; p < q.params; ++p) {
      const std::ptrdiff_t offset = batch.offsets_[q.first_param + static_cast<std::size_t>(p)];
      values.push_back(offset < 0 ? nullptr : batch.data_.data() + offset);
    }
    const int sent = q.name != nullptr ? PQsendQueryPrepared(conn_, q.name, q.params, values.data(),
                                                             nullptr, nullptr, 0)
                                       : PQsendQueryParams(conn_, q.sql.c_str(), q.params, nullptr,
                                                           values.data(), nullptr, nullptr, 0);
    if (sent == 0) return core::Fail(Failure(what));
  }
  if (PQpipelineSync(conn_) == 0) return core::Fail(Failure(what));
  if (auto ok = FlushOutput(deadline, what); !ok) return ok;

  std::optional<core::Error> first_error;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    while (true) {  // a statement's results end with a null result
      auto result = NextResult(deadline, what);
      if (!result) return core::Fail(result.error());
      if (*result == nullptr) break;
      const ExecStatusType status = PQresultStatus(*result);
      if (status == PGRES_TUPLES_OK && on_rows) on_rows(i, Rows(*result));
      if (status == PGRES_FATAL_ERROR && !first_error) first_error = Failure(what, *result);
      PQclear(*result);
    }
  }
  // Then the Sync's own result: the implicit transaction has been committed (or rolled back).
  for (int nulls = 0;;) {
    auto result = NextResult(deadline, what);
    if (!result) return core::Fail(result.error());
    if (*result == nullptr) {
      if (++nulls > 2) return core::Fail(Failure(what));
      continue;
    }
    const ExecStatusType status = PQresultStatus(*result);
    PQclear(*result);
    if (status == PGRES_PIPELINE_SYNC) break;
  }
  if (PQexitPipelineMode(conn_) == 0) return core::Fail(Failure(what));
  if (first_error) return core::Fail(*first_error);
  return {};
}

core::Result<void> Connection::CopyIn(std::string_view copy_sql, std::string_view data,
                                      std::string_view what) {
  if (auto usable = Usable(what); !usable) return usable;
  const auto deadline = NextDeadline();
  if (PQsendQuery(conn_, std::string(copy_sql).c_str()) == 0) return core::Fail(Failure(what));
  if (auto ok = FlushOutput(deadline, what); !ok) return ok;
  auto started = NextResult(deadline, what);
  if (!started) return core::Fail(started.error());
  if (*started == nullptr || PQresultStatus(*started) != PGRES_COPY_IN) {
    core::Error error = Failure(what, *started);
    PQclear(*started);
    while (true) {  // drain to the end of the command
      auto rest = NextResult(deadline, what);
      if (!rest || *rest == nullptr) break;
      PQclear(*rest);
    }
    return core::Fail(error);
  }
  PQclear(*started);
  for (std::size_t sent = 0; sent < data.size();) {
    const std::size_t n = std::min(kCopyChunk, data.size() - sent);
    const int put = PQputCopyData(conn_, data.data() + sent, static_cast<int>(n));
    if (put < 0) return core::Fail(Failure(what));
    if (put == 0) {  // libpq's buffer is full: wait until the socket takes more
      if (auto ok = FlushOutput(deadline, what); !ok) return ok;
      continue;
    }
    sent += n;
  }
  while (true) {
    const int ended = PQputCopyEnd(conn_, nullptr);
    if (ended < 0) return core::Fail(Failure(what));
    if (ended == 1) break;
    if (auto ok = FlushOutput(deadline, what); !ok) return ok;
  }
  if (auto ok = FlushOutput(deadline, what); !ok) return ok;
  return DrainResults(deadline, what);
}

void Connection::AppendCopyText(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out.push_back(c);
    }
  }
}

}  // namespace cidrotor::store::postgres
