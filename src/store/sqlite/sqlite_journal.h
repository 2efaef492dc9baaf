// The embedded mode's system of record: a Journal (store/journal.h) on one SQLite file in WAL
// mode, written by group commit (DESIGN-NOTES §4).
//
// Append() only queues. One writer thread owns the read-write connection: it takes everything
// queued (up to max_batch_entries), applies it in append order inside one BEGIN IMMEDIATE …
// COMMIT, then completes every waiter of the batch at once, so N concurrent allocations cost one
// fsync, not N. If the commit fails, the batch is rolled back, every waiter gets kUnavailable,
// Healthy() turns false until a later commit succeeds, and the writer goes on with the next batch.
// Except releases: the store answers them before their commit, so a release-only append whose
// commit failed is written again, on its own, every retry_releases_every for retry_releases_for.
// History queries run on a second thread with its own read-only connection, which WAL lets read
// while the writer writes. Load() reads on the caller's thread through a connection of its own.
//
// Example (app/ wiring):
//   auto journal = SqliteJournal::Open({.path = data_dir + "/cidrotor.db"});
//   if (!journal) return Exit(journal.error());
//   auto summary = (*journal)->Load(clock.Now(), index_builder);
//   (*journal)->Append({ReservationMade{...}}, [](core::Result<void> r) { /* hop back, answer */
//   });
//
// SQLite's automatic WAL checkpoint (every 1,000 pages, left at its default) runs inside the
// commit that crosses it, so an occasional batch takes longer; the last connection to close
// checkpoints the rest.
//
// Thread-safety: every method may be called from any thread, except Flush() and the destructor
// from inside an `on_durable` or read callback. Callbacks run on the journal's threads and must
// not block. Ownership: the journal owns its threads and connections; the destructor flushes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "store/journal.h"
#include "store/read_kind.h"
#include "store/serial_worker.h"
#include "store/sqlite/batch_writer.h"
#include "store/sqlite/sqlite_db.h"

namespace cidrotor::store {

struct SqliteOptions {
  // File path of the database; created (with its schema) when missing. Its directory must exist.
  // A file, not ":memory:": the writer, the reader and Load() use separate connections.
  std::string path;
  // true: synchronous=FULL, a commit survives power loss (one fsync per batch). false: NORMAL,
  // which in WAL mode survives a process crash (kill -9) but may lose the last commits on power
  // loss. Default true.
  bool synchronous_full = true;
  // Entries that may wait for the writer before log-only appends (ApiLogEntry only) are dropped.
  // Appends that carry durable changes are never dropped. Default 100,000.
  std::size_t max_log_queue = 100'000;
  // Most entries written in one transaction (a single larger append still goes whole), so one
  // commit never grows unbounded. Default 4,096.
  std::size_t max_batch_entries = 4'096;
  // How long a connection waits for a lock another process holds (an admin's sqlite3, a backup
  // tool) before its statement fails with "database is locked". Default 1,500 ms: less than
  // stall_limit, so that the allocations waiting in a commit that waits for a lock are answered
  // before the dialplan's CURL gives up (the commits after it are refused at once: Stalled()).
  std::chrono::milliseconds busy_timeout{1'500};
  // The writer's wait for such a lock after a failed commit, until a commit succeeds: the lock was
  // held a moment ago, and with busy_timeout each append queued behind the failure, each try of
  // the kept releases (every retry_releases_every) and each pruning chunk would hold the writer,
  // and every allocation queued behind it, that long again (an allocation waited ~6 s for its
  // 503). Log rows alone still wait busy_timeout: they are what ends the stall when the lock is
  // let go. Default 100 ms.
  std::chrono::milliseconds busy_timeout_after_failure{100};
  // A commit (or a pruning chunk) running longer than this makes the journal Stalled(): the
  // store refuses allocations at once and reports itself unhealthy until the commit ends.
  // Default 2,000 ms: the dialplan's CURL gives up after 2 s.
  std::chrono::milliseconds stall_limit{2'000};
  // After a failed commit (a lock held elsewhere, a full disk), the journal stays Stalled()
  // until a commit succeeds (api_logs rows and releases keep coming, and probe it), but for no
  // longer than this at a time: then one allocation is let through as the probe.
  std::chrono::milliseconds failed_commit_hold{5'000};
  // History queries that may wait for the reader thread before new ones fail with kUnavailable.
  // Default 64.
  std::size_t max_pending_reads = 64;
  // Releases kept after a failed commit (a lock held elsewhere past busy_timeout, a full disk)
  // are tried again this often, for this long: the caller heard `ok` already, and a release lost
  // leaves its call's outcome unknown (auto-rest judges numbers by it) and the reservation live
  // until its TTL after a restart. Bounded by the reservations there are to release. Defaults
  // 1 s and 10 min.
  std::chrono::milliseconds retry_releases_every{1'000};
  std::chrono::milliseconds retry_releases_for{600'000};
};

class SqliteJournal final : public Journal {
 public:
  // Opens (creating when missing) the database at options.path, applies the pragmas, migrates
  // the schema to the newest version, prepares the writer's statements and starts the writer and
  // reader threads.
  // Errors: kInvalidArgument ("path") for an empty path or ":memory:"; kUnavailable naming the
  // path when the file cannot be opened (e.g. its directory does not exist) or configured;
  // kUnavailable naming both versions when the file's schema is newer than this binary's.
  [[nodiscard]] static core::Result<std::unique_ptr<SqliteJournal>> Open(SqliteOptions options);

  SqliteJournal(const SqliteJournal&) = delete;
  SqliteJournal& operator=(const SqliteJournal&) = delete;
  // Flushes, stops the writer, runs the reads already accepted, closes the connections.
  ~SqliteJournal() override;

  // Checks that the schema is at the version Open() migrated to, then streams numbers in
  // caller_id order and the live reservations (see sqlite/queries.h) into `sink`, on the
  // caller's thread. Errors: kUnavailable.
  [[nodiscard]] core::Result<LoadSummary> Load(core::TimePoint now, LoadSink& sink) override;

  // Queues `entries` and returns at once. `on_durable` (may be empty) runs exactly once on the
  // writer thread: with success after the batch holding them committed, or kUnavailable when it
  // failed (for an append of releases only: when it failed for retry_releases_for, or once more at
  // the stop). A log-only append that finds the queue over max_log_queue is dropped (counted in
  // DroppedLogs()) and its `on_durable` gets kUnavailable at once, on the caller's thread.
  // Buffers the row for the next batch (no allocation per row beyond its strings); dropped and
  // counted past max_log_queue.
  void AppendLog(ApiLogEntry entry) override;
  void Append(std::vector<JournalEntry> entries, Durable on_durable) override;

  // `done` runs on the reader thread; kInvalidArgument for a limit outside 1..1000, kUnavailable
  // when the read failed or too many reads wait.
  void ListLogs(LogQuery query, Callback<std::vector<StoredLog>> done) override;
  void QueryCoverage(CoverageQuery query, Callback<CoverageData> done) override;
  void QueryActivity(ActivityQuery query, Callback<ActivityData> done) override;
  void QueryAnswerStats(AnswerStatsQuery query, Callback<AnswerStats> done) override;
  void QueryLookup(LookupQuery query, core::TimePoint now, Callback<LookupData> done) override;
  void ListReservations(ReservationQuery query, core::TimePoint now,
                        Callback<std::vector<ReservationRecord>> done) override;

  // On the writer thread: chunks of kPruneChunkRows per table, each its own short transaction,
  // back to back while no append waits, else one between two batches at most every kPruneEvery,
  // until nothing older is left; `done` runs there.
  void PruneHistory(PruneCutoffs cutoffs, Callback<PruneResult> done) override;

  // Entries queued or being written, not yet committed.
  std::size_t QueueDepth() const override;
  bool Healthy() const override;
  bool Stalled() const override;
  // Returns once every append made before the call has been committed or has failed, and its
  // `on_durable` has run. REQUIRES: not called from a journal callback (it would wait on itself;
  // such a call returns at once and logs an error).
  bool Flush() override;

  // Counters since Open(), for tests and metrics. A batch is one transaction.
  std::uint64_t BatchesCommitted() const { return batches_committed_.load(); }
  std::uint64_t EntriesCommitted() const { return entries_committed_.load(); }
  std::uint64_t BatchesFailed() const { return batches_failed_.load(); }
  std::uint64_t DroppedLogs() const { return dropped_logs_.load(); }

 private:
  struct Pending {
    std::vector<JournalEntry> entries;
    Durable on_durable;
    std::uint64_t seq = 0;  // position in append order, 1-based
    // A release-only append kept after a failed commit: when its first commit failed.
    std::chrono::steady_clock::time_point failed_since{};
  };

  SqliteJournal(SqliteOptions options, sqlite::Database write_db, sqlite::BatchWriter writer,
                sqlite::Database read_db, sqlite::Database scan_db);

  // Rows of each table deleted per prune transaction: about a millisecond of the writer's time,
  // so a pass slows the batches around it by no more than that.
  static constexpr std::size_t kPruneChunkRows = 1'000;
  // Under load, the least time between two prune chunks.
  static constexpr std::chrono::milliseconds kPruneEvery{100};

  void WriterLoop();
  // Deletes one chunk of the pending prune; completes it when nothing older is left or on an
  // error. REQUIRES: `lock` holds mu_ and prune_ is set; released while writing.
  void PruneStep(std::unique_lock<std::mutex>& lock);
  // Writes one batch, completes its waiters and publishes the outcome. When it fails and `kept`
  // is given, its release-only appends that have not been failing for retry_releases_for move
  // there, not completed.
  // A `retry` (RetryReleases') that fails leaves Healthy() and Stalled() as they were.
  void CommitBatch(std::vector<Pending>& batch, const std::vector<ApiLogEntry>& logs,
                   std::vector<Pending>* kept, bool retry = false);
  // Writes the kept releases (retry_) in a transaction of their own, so that one that cannot be
  // written fails no other append; keeps them again when it fails, unless the journal stops.
  // REQUIRES: `lock` holds mu_; released while writing.
  void RetryReleases(std::unique_lock<std::mutex>& lock);
  // Gives the writer connection its busy timeout for what it writes next (writer_busy_timeout_):
  // busy_timeout_after_failure after a failed commit unless `patient` (log rows alone).
  void SetWriterBusyTimeout(bool patient);
  // Puts `kept` (CommitBatch's) in retry_ for the next try; warns once for releases that failed
  // for the first time (`retried` false), not at each try. REQUIRES: mu_ held.
  void KeepForRetryLocked(std::vector<Pending>& kept, bool retried);
  // kUnavailable while the database file is not at its path (deleted, renamed or replaced while
  // serving): SQLite would go on writing to the unlinked file. Asked before every commit, so that
  // none goes there; commits resume if the file comes back. Writer thread only.
  core::Result<void> FileStillThere();
  // Entries and log rows queued or being written. REQUIRES: mu_ held.
  std::size_t QueuedLocked() const;
  // Logs a warning at the first and every 10,000th dropped log row.
  void CountDroppedLogs(std::size_t count);
  // Runs `query` on the reader's (or the scanner's) thread and connection and hands its result to
  // `done`.
  template <class T, class Query>
  void PostRead(Callback<T> done, Query query, ReadKind kind = ReadKind::kPoint);

  const SqliteOptions options_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the writer waits for appends or stop_
  std::condition_variable done_cv_;  // Flush waits for done_seq_
  std::deque<Pending> queue_;        // guarded by mu_
  std::vector<Pending> retry_;       // guarded by mu_; releases kept after a failed commit
  std::chrono::steady_clock::time_point retry_at_{};  // guarded by mu_; retry_'s next try
  std::vector<ApiLogEntry> logs_;    // guarded by mu_; api_logs rows for the next batch
  std::size_t writing_logs_ = 0;     // guarded by mu_; rows in the batch being written
  std::size_t pending_entries_ = 0;  // guarded by mu_; queued, kept or being written
  std::uint64_t appended_seq_ = 0;   // guarded by mu_; seq of the last accepted append
  std::uint64_t done_seq_ = 0;       // guarded by mu_; every append up to it is completed
  bool stop_ = false;                // guarded by mu_
  std::optional<PruneCutoffs> prune_;  // guarded by mu_; the pass under way
  Callback<PruneResult> prune_done_;   // guarded by mu_
  PruneResult pruned_;                 // guarded by mu_; rows deleted by the pass so far
  std::chrono::steady_clock::time_point next_prune_chunk_{};  // writer thread only

  std::atomic<bool> healthy_{true};
  // steady_clock ticks when the writer's current transaction began; 0 between transactions.
  std::atomic<std::int64_t> writing_since_{0};
  // steady ticks of the last failed commit, 0 after a success (Stalled()).
  std::atomic<std::int64_t> failed_at_{0};
  // The writer connection's busy timeout now: busy_timeout, or busy_timeout_after_failure while
  // failed_at_ is set. Writer thread only.
  std::chrono::milliseconds writer_busy_timeout_{0};
  std::atomic<std::uint64_t> batches_committed_{0};
  std::atomic<std::uint64_t> entries_committed_{0};
  std::atomic<std::uint64_t> batches_failed_{0};
  std::atomic<std::uint64_t> dropped_logs_{0};

  // Declaration order is destruction order reversed: the reader connection closes before the
  // writer's, and the writer's statements are finalized before its connection closes.
  sqlite::Database write_db_;   // writer thread only (after construction)
  sqlite::BatchWriter writer_;  // writer thread only; statements on write_db_
  sqlite::Database read_db_;    // reader thread only
  sqlite::Database scan_db_;    // scanner thread only
  std::thread writer_thread_;   // started last in the constructor
  std::unique_ptr<SerialWorker> reader_;
  std::unique_ptr<SerialWorker> scanner_;
};

}  // namespace cidrotor::store
