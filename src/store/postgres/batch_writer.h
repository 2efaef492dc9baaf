// Applies journal entries to the PostgreSQL schema (schema.h) as ONE pipeline per batch, which a
// single Sync commits (one implicit transaction, one round trip, one WAL flush). The hot path's
// entries are written as multi-row statements (unnest of array parameters), a few per batch
// whatever its size:
//   ReservationMade     → rows of one INSERT INTO reservations (with its previous_id link), and
//                         of one UPDATE … FROM of the numbers' usage columns and newest
//                         reservation (the last of each number in the group; only forward, see
//                         below)
//   ReservationReleased → rows of one UPDATE reservations … FROM (only while released_at IS
//                         NULL; the first release of each id in the group; a late outcome only
//                         where the reservation had ended by then), and the releases of
//                         reservations not stored yet (but no late outcome) into early_releases
//   ApiLogEntry         → rows of one INSERT INTO api_logs
//   NumberUpserted      → INSERT … ON CONFLICT(caller_id) DO UPDATE of every column, when not
//                         older than the number's newest change (number_versions; schema.cc)
//   NumberDeleted       → DELETE FROM caller_ids, likewise, leaving a tombstone
//   CampaignPoolChanged → INSERT … ON CONFLICT(campaign) DO UPDATE, or DELETE, of campaign_pools
//   PoolSettingsChanged → INSERT … ON CONFLICT(pool) DO UPDATE of pool_settings
// Order: the result equals applying the entries one by one in append order. Allocations and
// releases between two number changes form a group; within it all reservations are inserted
// before any is released (a release always follows its allocation in append order), the usage
// written is each number's last, and a second release of an id changes nothing, as it would
// sequentially. A NumberUpserted/NumberDeleted ends the group, so a number change and the usage
// updates around it keep their order. api_logs rows are independent of everything else.
//
// The lookup's links (schema.cc): a reservation's previous_id is ReservationMade::previous_id
// when given (the cluster gives Redis's, which orders a number's reservations across instances),
// else the number's reservation before it in the group, else the number's newest
// (caller_ids.last_reservation_id) as the transaction finds it. Several instances write one
// database, each in its own order, so the usage UPDATE moves a number's row (counters and newest
// reservation) forward only: a batch committed after another instance's with a later allocation
// of the number leaves the row as that one wrote it (kUpdateUsages says how "later" is decided;
// one instance's later allocation of a number always carries a later usage, so within one
// journal the effect is still that of append order).
//
// Early releases (schema.cc): with one journal a release always follows its allocation, but a
// release made through another instance may be written first, while the allocating instance's
// backlog waits for PostgreSQL. It waits in early_releases; at most every `sweep_every`, a batch
// ends with a sweep that moves those whose reservation has arrived onto it (in the same
// transaction as the batch's own reservations). Until then the reservation reads as unreleased,
// but never as live to a load (queries.cc).
//
// A repeated reservation id fails the batch, as in SQLite (the journal contract). But when a
// connection was lost after the batch was sent, its commit may have happened: that batch is
// written again as a Replay::kYes, where a reservation already stored is skipped (ON CONFLICT
// DO NOTHING). Every other statement is idempotent already, so a replay leaves the same rows
// (api_logs rows may then appear twice; the journal avoids most replays: it first looks the
// batch's reservations up, postgres_journal.h).
//
// Thread-safety: none; owned and used by the journal's writer thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/journal.h"
#include "store/postgres/pg_connection.h"

namespace cidrotor::store::postgres {

enum class Replay : std::uint8_t {
  kNo,   // a repeated reservation id is an error
  kYes,  // the batch may have been committed before: skip reservations already stored
};

// One array parameter ({1,2,NULL} / {"a","b"}) built element by element. Reused: no allocation
// once grown.
class ArrayLiteral {
 public:
  void Clear();
  void Int(std::int64_t value);
  void Double(double value);
  void Text(std::string_view value);
  void Bool(bool value);
  void Null();
  // The literal, closed with '}'. Call once per use.
  const std::string& Close();

 private:
  void Separate();
  std::string text_ = "{";
};

class BatchWriter {
 public:
  explicit BatchWriter(std::chrono::milliseconds sweep_every = std::chrono::seconds(5))
      : sweep_every_(sweep_every) {}

  // Prepares the writer's statements on a newly opened connection. Errors: kUnavailable (e.g.
  // the schema is missing).
  [[nodiscard]] static core::Result<void> PrepareStatements(Connection& conn);

  // Writes `entries` (with the same effect as in append order), then `logs`, in one transaction.
  // On any failure the server rolls all of it back and the first error is returned (kUnavailable;
  // conn.Lost() tells whether the connection or the statement failed).
  // REQUIRES: PrepareStatements(conn) succeeded.
  [[nodiscard]] core::Result<void> WriteBatch(Connection& conn,
                                              std::span<const JournalEntry* const> entries,
                                              std::span<const ApiLogEntry> logs = {},
                                              Replay replay = Replay::kNo);

 private:
  // Locks the number_versions rows of the numbers `entries` change with a version, first and in
  // caller_id order (kLockVersions in batch_writer.cc says why).
  void LockVersions(std::span<const JournalEntry* const> entries);
  void Add(const NumberUpserted& e);
  void Add(const NumberDeleted& e);
  void Add(const CampaignPoolChanged& e);
  void Add(const PoolSettingsChanged& e);
  // Writes the group of allocations and releases gathered so far.
  void AddGroup(Replay replay);
  void AddReservations(Replay replay);
  void AddUsages();
  void AddReleases();
  void AddLogs();

  const std::chrono::milliseconds sweep_every_;
  std::chrono::steady_clock::time_point next_sweep_{};  // the first batch sweeps
  QueryBatch batch_;  // reused between batches: no allocation once grown
  ArrayLiteral columns_[14];
  std::vector<const ReservationMade*> made_;          // the current group
  std::vector<const ReservationReleased*> released_;  // the current group
  std::vector<const ApiLogEntry*> logs_;              // the whole batch's rows
  std::vector<std::size_t> order_;                    // scratch: made_ by number, de-duplication
  std::vector<std::uint64_t> links_;                  // scratch: made_'s previous ids, 0: unknown
  std::vector<std::int64_t> versioned_;               // scratch: the numbers LockVersions locks
};

}  // namespace cidrotor::store::postgres
