// PostgresJournal's reads: the start-up load and the history queries, each on a connection and
// worker of its own kind (ReadKind), so a week's scan never holds up a page of logs.
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <utility>

#include "store/journal_support.h"
#include "store/postgres/postgres_journal.h"
#include "store/postgres/queries.h"
#include "store/postgres/schema.h"

namespace cidrotor::store {
namespace {

// Names the server in an error, once: the operator must learn which database failed.
core::Error WithServer(const core::Error& error, const std::string& server) {
  if (error.code() != core::ErrorCode::kUnavailable ||
      error.detail().find(server) != std::string::npos) {
    return error;
  }
  return core::Error::Unavailable("PostgreSQL " + server + ": " + error.detail());
}

}  // namespace

core::Result<LoadSummary> PostgresJournal::Load(core::TimePoint now, LoadSink& sink) {
  auto conn = postgres::Connection::Open(options_.connection);
  if (!conn) return core::Fail(conn.error());
  auto before = postgres::Migrate(*conn);
  if (!before) return core::Fail(WithServer(before.error(), server_));
  if (*before != postgres::kSchemaVersion) {
    spdlog::info("postgres journal: migrated {} from schema version {} to {}", server_, *before,
                 postgres::kSchemaVersion);
  }
  auto summary = postgres::LoadState(*conn, now, sink);
  if (!summary) return core::Fail(WithServer(summary.error(), server_));
  return summary;
}

bool PostgresJournal::Reachable() {
  return postgres::Connection::Open(options_.connection).has_value();
}

template <class T, class Query>
void PostgresJournal::PostRead(Callback<T> done, Query query, ReadKind kind) {
  // `done` is shared so that it is still ours to call when Post refuses the task.
  auto shared_done = std::make_shared<Callback<T>>(std::move(done));
  SerialWorker& worker = kind == ReadKind::kScan ? *scanner_ : *reader_;
  postgres::Connection& conn = kind == ReadKind::kScan ? scan_conn_ : read_conn_;
  postgres::ConnectionSettings settings = options_.connection;
  if (kind == ReadKind::kScan) settings.statement_timeout = options_.scan_statement_timeout;
  const bool posted = worker.Post(
      [this, &conn, settings = std::move(settings), shared_done, query = std::move(query)] {
        // Opens the connection when there is none or it was lost. Migrated as the writer's: history
        // may be asked for before anything was written.
        const auto ensure_open = [&]() -> core::Result<void> {
          if (conn.is_open() && !conn.Lost()) return {};
          auto opened = postgres::Connection::Open(settings);
          auto migrated =
              opened ? postgres::Migrate(*opened) : core::Result<int>(core::Fail(opened.error()));
          if (!migrated) return core::Fail(migrated.error());
          conn = std::move(*opened);
          return {};
        };
        const bool reused = conn.is_open() && !conn.Lost();
        core::Result<T> result = core::Fail(core::Error::Unavailable("not read"));
        if (auto opened = ensure_open(); !opened) {
          result = core::Fail(opened.error());
        } else {
          result = query(conn);
          // A kept connection the server closed since (a restart) is only found out by using it:
          // once more on a new one, rather than failing the first read after every restart.
          if (!result && reused && conn.Lost()) {
            if (auto reopened = ensure_open(); reopened) {
              result = query(conn);
            }
          }
        }
        if (!result) result = core::Fail(WithServer(result.error(), server_));
        CallSafely(kWho, *shared_done, std::move(result));
      });
  if (!posted) {
    CallSafely(kWho, *shared_done,
               core::Result<T>(core::Fail(core::Error::Unavailable(
                   "postgres journal: too many reads waiting, or shutting down"))));
  }
}

void PostgresJournal::PruneHistory(PruneCutoffs cutoffs, Callback<PruneResult> done) {
  if (pruning_.exchange(true)) {
    CallSafely(kWho, done,
               core::Result<PruneResult>(
                   core::Fail(core::Error::Unavailable("postgres journal: already pruning"))));
    return;
  }
  PruneNext(cutoffs, {}, std::make_shared<Callback<PruneResult>>(std::move(done)));
}

void PostgresJournal::PruneNext(PruneCutoffs cutoffs, PruneResult so_far,
                                std::shared_ptr<Callback<PruneResult>> done) {
  PostRead<PruneResult>(
      [this, cutoffs, so_far, done](core::Result<PruneResult> chunk) mutable {
        if (chunk) {
          so_far.api_logs += chunk->api_logs;
          so_far.reservations += chunk->reservations;
          // api_logs: on while a chunk found any (a younger row among the lowest ids only
          // thins a chunk); reservations come by reserved_until, so a short chunk is the end.
          if (chunk->api_logs > 0 || chunk->reservations == kPruneChunkRows) {
            PruneNext(cutoffs, so_far, done);  // refused (and reported) once the reader stops
            return;
          }
        }
        pruning_.store(false);
        CallSafely(kWho, *done, chunk ? core::Result<PruneResult>(so_far) : std::move(chunk));
      },
      [cutoffs](postgres::Connection& conn) {
        return postgres::PruneChunk(conn, cutoffs, kPruneChunkRows);
      });
}

void PostgresJournal::ListLogs(LogQuery query, Callback<std::vector<StoredLog>> done) {
  PostRead(std::move(done),
           [query](postgres::Connection& conn) { return postgres::QueryLogs(conn, query); });
}

void PostgresJournal::QueryCoverage(CoverageQuery query, Callback<CoverageData> done) {
  PostRead(
      std::move(done),
      [query](postgres::Connection& conn) { return postgres::QueryCoverage(conn, query); },
      ReadKind::kScan);
}

void PostgresJournal::QueryActivity(ActivityQuery query, Callback<ActivityData> done) {
  PostRead(
      std::move(done),
      [query](postgres::Connection& conn) { return postgres::QueryActivity(conn, query); },
      ReadKind::kScan);
}

void PostgresJournal::QueryAnswerStats(AnswerStatsQuery query, Callback<AnswerStats> done) {
  PostRead(
      std::move(done),
      [query](postgres::Connection& conn) { return postgres::QueryAnswerStats(conn, query); },
      ReadKind::kScan);
}

void PostgresJournal::QueryLookup(LookupQuery query, core::TimePoint now,
                                  Callback<LookupData> done) {
  PostRead(std::move(done), [query, now](postgres::Connection& conn) {
    return postgres::QueryLookup(conn, query, now);
  });
}

void PostgresJournal::ListReservations(ReservationQuery query, core::TimePoint now,
                                       Callback<std::vector<ReservationRecord>> done) {
  PostRead(std::move(done), [query, now](postgres::Connection& conn) {
    return postgres::QueryReservations(conn, query, now);
  });
}

}  // namespace cidrotor::store
