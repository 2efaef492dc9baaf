// Applies journal entries to the PostgreSQL schema (schema.h) as ONE pipeline per batch: every
// entry becomes one or two executions of a statement prepared on the connection, and all api_logs
// rows of the batch become one multi-row INSERT (unnest of arrays), then a single Sync commits
// the lot (one implicit transaction, one round trip, one WAL flush):
//   NumberUpserted      → INSERT … ON CONFLICT(caller_id) DO UPDATE of every column
//   NumberDeleted       → DELETE FROM caller_ids
//   ReservationMade     → INSERT INTO reservations + UPDATE of the number's usage columns
//   ReservationReleased → UPDATE reservations (only while released_at IS NULL)
//   ApiLogEntry         → rows of the one INSERT INTO api_logs … SELECT FROM unnest(…)
// A repeated reservation id fails the batch, as in SQLite (the journal contract). But when a
// connection was lost after the batch was sent, its commit may have happened: that batch is
// written again as a Replay::kYes, where a reservation already stored is skipped (ON CONFLICT
// DO NOTHING). Every other statement is idempotent already, so a replay leaves the same rows
// (api_logs rows may then appear twice).
//
// Thread-safety: none; owned and used by the journal's writer thread only.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"
#include "store/journal.h"
#include "store/postgres/pg_connection.h"

namespace cidrotor::store::postgres {

enum class Replay : std::uint8_t {
  kNo,   // a repeated reservation id is an error
  kYes,  // the batch may have been committed before: skip reservations already stored
};

class BatchWriter {
 public:
  // Prepares the writer's statements on a newly opened connection. Errors: kUnavailable (e.g.
  // the schema is missing).
  [[nodiscard]] static core::Result<void> PrepareStatements(Connection& conn);

  // Writes `entries` in order, then `logs`, in one transaction. On any failure the server rolls
  // all of it back and the first error is returned (kUnavailable; conn.Lost() tells whether the
  // connection or the statement failed). REQUIRES: PrepareStatements(conn) succeeded.
  [[nodiscard]] core::Result<void> WriteBatch(Connection& conn,
                                              std::span<const JournalEntry* const> entries,
                                              std::span<const ApiLogEntry> logs = {},
                                              Replay replay = Replay::kNo);

 private:
  void Add(const NumberUpserted& e);
  void Add(const NumberDeleted& e);
  void Add(const ReservationMade& e, Replay replay);
  void Add(const ReservationReleased& e);
  void Add(const ApiLogEntry& e);
  void AddLogs(std::span<const ApiLogEntry> logs);

  QueryBatch batch_;       // reused between batches: no allocation once grown
  std::string arrays_[8];  // the api_logs columns as array literals
};

}  // namespace cidrotor::store::postgres
