// Applies journal entries to the SQLite schema (schema.h) with prepared statements, one
// transaction per batch. The group-commit loop (sqlite_journal.cc) decides what goes into a batch;
// this unit only knows how each entry kind becomes rows:
//   NumberUpserted      → INSERT … ON CONFLICT(caller_id) DO UPDATE of every column
//   NumberDeleted       → DELETE FROM caller_ids; INSERT OR REPLACE (or DELETE) of its
//                         deleted_numbers row, and a few rows past their time deleted
//   ReservationMade     → INSERT INTO reservations + UPDATE of the number's usage columns
//   ReservationReleased → UPDATE reservations (only while released_at IS NULL: idempotent; a
//                         late one only where reserved_until <= released_at)
//   ApiLogEntry         → INSERT INTO api_logs
//   CampaignPoolChanged → INSERT … ON CONFLICT(campaign) DO UPDATE, or DELETE, of campaign_pools
//   PoolSettingsChanged → INSERT … ON CONFLICT(pool) DO UPDATE of pool_settings
// and, apart from the batches, deletes one chunk of old history (PruneChunk).
//
// Thread-safety: none; owned and used by the writer thread only. Ownership: keeps statements
// prepared on `db`, which must outlive the BatchWriter.
#pragma once

#include <span>

#include "core/result.h"
#include "store/journal.h"
#include "store/sqlite/sqlite_db.h"

namespace cidrotor::store::sqlite {

class BatchWriter {
 public:
  // Prepares every statement. Errors: kUnavailable (e.g. the schema is missing).
  // REQUIRES: `db` is a read-write connection whose schema is at kSchemaVersion.
  [[nodiscard]] static core::Result<BatchWriter> Create(Database& db);

  // Writes `entries` in order inside one BEGIN IMMEDIATE … COMMIT. On any failure rolls the
  // whole transaction back and returns the first error (kUnavailable); nothing of it is kept.
  [[nodiscard]] core::Result<void> WriteBatch(std::span<const JournalEntry* const> entries,
                                              std::span<const ApiLogEntry> logs = {});

  // In one transaction, deletes up to `limit` api_logs rows and up to `limit` reservations older
  // than `cutoffs` (Journal::PruneHistory says which). Returns how many of each went: fewer than
  // `limit` means nothing older is left. Errors: kUnavailable (rolled back).
  [[nodiscard]] core::Result<PruneResult> PruneChunk(const PruneCutoffs& cutoffs,
                                                     std::size_t limit);

 private:
  BatchWriter() = default;

  [[nodiscard]] core::Result<void> Apply(const NumberUpserted& e);
  [[nodiscard]] core::Result<void> Apply(const NumberDeleted& e);
  [[nodiscard]] core::Result<void> Apply(const ReservationMade& e);
  [[nodiscard]] core::Result<void> Apply(const ReservationReleased& e);
  [[nodiscard]] core::Result<void> Apply(const ApiLogEntry& e);
  [[nodiscard]] core::Result<void> Apply(const CampaignPoolChanged& e);
  [[nodiscard]] core::Result<void> Apply(const PoolSettingsChanged& e);

  Statement begin_;
  Statement commit_;
  Statement rollback_;
  Statement upsert_number_;
  Statement retire_number_;
  Statement delete_number_;
  Statement keep_deleted_;
  Statement forget_deleted_;
  Statement sweep_deleted_;
  Statement insert_reservation_;
  Statement update_usage_;
  Statement release_reservation_;
  Statement insert_log_;
  Statement upsert_campaign_pool_;
  Statement delete_campaign_pool_;
  Statement upsert_pool_settings_;
  Statement prune_logs_;
  Statement prune_reservations_;
  sqlite3* connection_ = nullptr;  // the statements' (survives moves of its Database): changes
};

}  // namespace cidrotor::store::sqlite
