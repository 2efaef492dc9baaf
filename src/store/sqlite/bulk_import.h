// The embedded store's bulk paths, used by `cidrotor import` and `cidrotor export` directly on the
// SQLite file (never through a running server: see cli/data_dir_lock.h).
//
// BulkImporter (DESIGN-NOTES §5): a connection of its own with a large page cache (closed, with
// its cache, when the importer is destroyed), prepared statements, rows buffered into batches of
// `batch_rows` (24-byte records, strings interned), each batch sorted by caller_id (the INTEGER
// PRIMARY KEY, so the B-tree is filled in order) and written in ONE transaction. An import killed
// half-way leaves whole batches and no half-written row; rerunning the same file completes it (rows
// already written are updated or skipped by the on_duplicate rule, with the same outcome). Per row:
// INSERT OR IGNORE; when the number existed, kUpdate runs an UPDATE of its spec columns (carrier,
// area_code, caps, active, pool, state; last_used only when the row has one; usage counters are
// kept), kSkip leaves it, kFail is the caller's to check first with Exists() (the data-dir lock
// guarantees no other writer between the check and the batch).
//
// ScanNumbers: every stored number in caller_id order, with its usage, for export.
//
// Not thread-safe: one thread drives an importer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/journal.h"
#include "store/store.h"

namespace cidrotor::store::sqlite {

struct BulkImportOptions {
  std::string path;  // the database file; created and migrated when needed
  OnDuplicate on_duplicate = OnDuplicate::kUpdate;
  // Rows per transaction. Buffered rows cost 24 bytes each (names interned), so the default of a
  // million is 24 MB; larger batches are faster, as each batch rewrites the B-tree pages it
  // touches (measured: 1M shuffled rows in 10 batches took 1.5x as long as in one).
  std::size_t batch_rows = 1'000'000;
  std::int64_t cache_kib = 256 * 1024;  // page cache of the import connection (KiB)
  bool synchronous_full = true;         // synchronous=FULL (as the server's journal) or NORMAL
  std::chrono::milliseconds busy_timeout{5'000};  // wait for another connection's lock
  // Called after each committed batch with the totals so far (progress bars, tests).
  std::function<void(const ImportResult&)> on_batch;
  // Local midnight (compact) of the import's day: a new number without last_used warms up from
  // it (core/warm_up.h); 0 leaves new numbers established.
  core::CompactTime warm_from_today = 0;
};

class BulkImporter {
 public:
  // Opens the file, configures the connection, migrates the schema, prepares the statements.
  // Errors: kUnavailable naming the path.
  [[nodiscard]] static core::Result<std::unique_ptr<BulkImporter>> Open(BulkImportOptions options);
  ~BulkImporter();
  BulkImporter(const BulkImporter&) = delete;
  BulkImporter& operator=(const BulkImporter&) = delete;

  // Whether the store holds `number` (committed batches only). Errors: kUnavailable.
  [[nodiscard]] core::Result<bool> Exists(core::PhoneNumber number);
  // Buffers a row; writes the batch when it is full. REQUIRES: no caller_id twice overall.
  // Errors: kInvalidArgument naming the column when the row would be one carrier, pool or state
  // too many for the embedded index (the row is refused, nothing changes: go on with the next);
  // kUnavailable when a batch failed (it was rolled back; earlier batches stay).
  [[nodiscard]] core::Result<void> Add(ImportItem item);
  // Writes the last, partial batch. Errors as Add().
  [[nodiscard]] core::Result<void> Finish();
  // Totals of the committed batches (duplicates stay empty: see kFail above).
  const ImportResult& result() const { return result_; }

 private:
  struct Impl;
  explicit BulkImporter(std::unique_ptr<Impl> impl);
  core::Result<void> WriteBatch();

  std::unique_ptr<Impl> impl_;
  ImportResult result_;
};

// Which numbers the store at `path` holds, read-only: for a dry run, which takes no data-dir lock
// (it runs beside `serve`: WAL lets it read) and must create or migrate nothing. A missing file
// holds none.
class StoredNumbers {
 public:
  // Errors: kUnavailable naming the path (a file that is not a readable store).
  [[nodiscard]] static core::Result<std::unique_ptr<StoredNumbers>> Open(const std::string& path);
  ~StoredNumbers();
  StoredNumbers(const StoredNumbers&) = delete;
  StoredNumbers& operator=(const StoredNumbers&) = delete;

  bool file_exists() const;
  // Errors: kUnavailable.
  [[nodiscard]] core::Result<bool> Contains(core::PhoneNumber number);

 private:
  struct Impl;
  explicit StoredNumbers(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Streams every number (spec + usage) in caller_id order into `sink` (live reservations are not
// reported). Creates and migrates the file when needed. Errors: kUnavailable.
[[nodiscard]] core::Result<std::uint64_t> ScanNumbers(const std::string& path, core::TimePoint now,
                                                      LoadSink& sink);

}  // namespace cidrotor::store::sqlite
