// Cluster mode's bulk path for `cidrotor import`: the same shape as the embedded importer
// (store/sqlite/bulk_import.h), on PostgreSQL, with COPY.
//
// BulkImporter: rows are buffered as COPY text (about 70 bytes a row, no per-row objects) into
// batches of `batch_rows`; each batch is ONE transaction: COPY into a temporary table, then (for
// kUpdate) one UPDATE … FROM of the numbers that exist (their spec columns; last_used only when
// the row has one; usage counters, warm-up start and rest_until kept) and one INSERT … SELECT …
// ON CONFLICT DO NOTHING of the new ones (rest_until 0: not resting), in caller_id order. A new
// row without a last_used (absent or 0) warms up from warm_from_today (core::ArrivingUsage), one
// with a last_used is established. A batch whose rows are all new (the first into an empty store;
// tried after a batch that met no stored number) is copied straight into the table instead. An
// import killed half-way leaves whole batches; rerunning the same file completes it with the same
// outcome. kFail is the caller's to check first with Exists(), as with SQLite (cli/import.cc).
// Every committed batch's rows that were written (new or updated; not skipped) go to
// `on_rows_written`, which is how cluster mode hands them on to Redis.
//
// ScanNumbers: every stored number in caller_id order, with its usage (export, Redis fill).
//
// Not thread-safe: one thread drives an importer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "core/clock.h"
#include "core/result.h"
#include "store/journal.h"
#include "store/postgres/pg_connection.h"
#include "store/store.h"

namespace cidrotor::store::postgres {

struct BulkImportOptions {
  ConnectionSettings connection;  // the server; the schema is migrated when needed
  // Replaces connection.statement_timeout: one batch's INSERT of a million rows takes seconds,
  // far beyond what the server's journal allows a statement. Default 600,000 ms (10 min).
  std::chrono::milliseconds statement_timeout{600'000};
  OnDuplicate on_duplicate = OnDuplicate::kUpdate;
  // Rows per transaction. Default 1,000,000: about 70 MB of COPY text (plus ~150 B a row kept
  // for on_rows_written when it is set). Larger batches are much faster, as each batch's rows
  // are inserted in key order: measured here, 1M shuffled rows in one batch took 3.3 s of
  // INSERT, in four batches 8.2 s (every batch splits index pages across the whole key range).
  std::size_t batch_rows = 1'000'000;
  // Rows of the first batch when smaller than batch_rows (0: batch_rows): what follows each
  // committed batch (cluster mode's Redis fill) then starts sooner.
  std::size_t first_batch_rows = 0;
  // Called after each committed batch with the totals so far (progress bars, tests).
  std::function<void(const ImportResult&)> on_batch;
  // Local midnight (compact seconds) of the import's day in TIMEZONE: a new number without a
  // last_used warms up from it (caller_ids.warm_from; core/warm_up.h). Default 0: new numbers
  // are established. An existing number keeps its warm_from whatever the row says.
  core::CompactTime warm_from_today = 0;
  // Called after each committed batch with the rows it wrote (new or updated), in input order.
  // Unset: the rows are not kept.
  std::function<void(std::span<const ImportItem>)> on_rows_written;
};

class BulkImporter {
 public:
  // Connects, migrates the schema, prepares the import's temporary table.
  // Errors: kUnavailable naming the server.
  [[nodiscard]] static core::Result<std::unique_ptr<BulkImporter>> Open(BulkImportOptions options);
  ~BulkImporter();
  BulkImporter(const BulkImporter&) = delete;
  BulkImporter& operator=(const BulkImporter&) = delete;

  // Whether the store holds `number` (committed batches only). Errors: kUnavailable.
  [[nodiscard]] core::Result<bool> Exists(core::PhoneNumber number);
  // Buffers a row; writes the batch when it is full. REQUIRES: no caller_id twice overall.
  // Errors: kUnavailable when a batch failed (it was rolled back; earlier batches stay).
  [[nodiscard]] core::Result<void> Add(ImportItem item);
  // Writes the last, partial batch. Errors as Add().
  [[nodiscard]] core::Result<void> Finish();
  // Totals of the committed batches.
  const ImportResult& result() const { return result_; }

 private:
  struct Impl;
  explicit BulkImporter(std::unique_ptr<Impl> impl);
  core::Result<void> WriteBatch();

  std::unique_ptr<Impl> impl_;
  ImportResult result_;
};

// Streams every number (spec + usage) in caller_id order into `sink` (live reservations are not
// reported). Migrates the schema when needed. Returns the number of numbers. Errors: kUnavailable.
[[nodiscard]] core::Result<std::uint64_t> ScanNumbers(const ConnectionSettings& connection,
                                                      core::TimePoint now, LoadSink& sink);

}  // namespace cidrotor::store::postgres
