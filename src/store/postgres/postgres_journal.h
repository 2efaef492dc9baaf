// Cluster mode's system of record: a Journal (store/journal.h) on PostgreSQL, written by group
// commit like the SQLite journal (DESIGN-NOTES §4, §7), and kept going while PostgreSQL is down.
//
// Append() only queues. One writer thread owns a connection: it takes everything queued (up to
// max_batch_entries), sends it as one pipeline that commits as one transaction (batch_writer.h),
// then completes every waiter of the batch at once.
//
// Two states:
// - Connected ("wait for commit"): `on_durable` runs after the commit holding the entries. A batch
//   that PostgreSQL rejects for its content (a constraint, a bad value) is retried one append per
//   transaction, so only the faulty append's waiter gets kUnavailable; Healthy() turns false until
//   a commit succeeds.
// - Degraded: the connection was lost or could not be opened (server stopped, restarting,
//   unreachable, statement timeout, too many connections), or a commit got no answer within
//   commit_wait (a hung server: the writer goes on waiting for that answer up to the statement
//   deadline, but the appends do not). Nothing is lost and nothing waits:
//   every queued append, and every new one, gets `on_durable` with success at once, and its
//   entries stay in the queue, in append order. Healthy() is false, Degraded() true and
//   QueueDepth() is the backlog. The writer reconnects with a backoff from reconnect_min to
//   reconnect_max; once connected it writes the backlog in order, batch by batch, and returns to
//   "wait for commit" when the queue is empty (appends that come meanwhile are acknowledged at
//   once and queued behind, so under traffic faster than PostgreSQL takes it the journal stays
//   degraded). A batch whose commit was cut off is sent again as a replay, which is harmless
//   (batch_writer.h). "At once" is the writer's next round: between two batches it writes, or
//   every 50 ms while it waits for a connection.
// The bound: when max_queue_entries entries already wait (either state), an append that changes
// numbers or reservations is refused, its `on_durable` gets kUnavailable (the store then refuses
// the allocation); api_logs rows are dropped and counted instead (DroppedLogs()).
//
// The backlog's local copy (spill_dir, postgres/backlog_spill.h): while degraded, the appends are
// written to a file of this journal's before they are acknowledged (the api_logs rows with them),
// checkpointed as the backlog is committed and cleared once it is all written. Killed while
// degraded, the process leaves the file; a journal opened on the same directory later claims it,
// starts degraded with its entries queued first (written as a replay: a reservation already
// stored is skipped), and deletes it once they are committed. Without spill_dir, losing the
// process while degraded loses the backlog.
//
// Load() runs on the caller's thread with a connection of its own: connects (fast kUnavailable
// when the server is unreachable), migrates the schema (schema.h; the writer migrates too when
// it connects first), then streams the stored state (queries.h). History queries run on a reader
// thread with a third connection, reopened when lost; the scans of every call of a window on a
// scanner thread with a fourth, whose statements may run for scan_statement_timeout.
//
// Example (app/ wiring, with the Redis store as the caller):
//   auto journal = PostgresJournal::Open({.connection = {.url = config.database_url}});
//   auto summary = (*journal)->Load(clock.Now(), redis_rebuilder);
//   (*journal)->Append({ReservationMade{...}}, [](core::Result<void> r) { /* answer */ });
//   health.degraded = !(*journal)->Healthy();  // or Degraded(), when the type is known
//
// Thread-safety: every method may be called from any thread, except Flush() and the destructor
// from inside a callback. `on_durable` runs on the writer thread (also refusals past the bound),
// or on the commit watchdog's while a commit is overdue, except after shutdown began, when it
// runs at once on the caller's thread; callbacks must not block. Ownership: the journal owns its
// threads and connections; the destructor flushes (waiting at most degraded_flush_wait for a
// server that is down, then logging what it leaves unwritten).
//
// Implemented in postgres_journal.cc (the writer, degraded mode, Flush),
// postgres_journal_backlog.cc (the backlog's copy on disk and one recovered from it) and
// postgres_journal_reads.cc (Load and the history reads).
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
#include <string_view>
#include <thread>
#include <vector>

#include "core/result.h"
#include "store/journal.h"
#include "store/postgres/backlog_spill.h"
#include "store/postgres/batch_writer.h"
#include "store/postgres/pg_connection.h"
#include "store/read_kind.h"
#include "store/serial_worker.h"

namespace cidrotor::store {

struct PostgresOptions {
  // Where the server is and the connect/statement timeouts (pg_connection.h).
  postgres::ConnectionSettings connection;
  // Entries (changes and api_logs rows) that may wait for PostgreSQL, connected or degraded,
  // before appends are refused (changes: kUnavailable) or dropped (log rows). At ~200 bytes an
  // entry the default is ~200 MB of backlog, i.e. minutes of full traffic. Default 1,000,000.
  std::size_t max_queue_entries = 1'000'000;
  // Most entries written in one transaction (a single larger append still goes whole), so one
  // commit never grows unbounded. Default 4,096.
  std::size_t max_batch_entries = 4'096;
  // Most api_logs rows one batch takes (~0.1 s of INSERT here); the rest wait for the next
  // batches. After an outage up to max_queue_entries rows wait, and one INSERT of a million
  // outlasted the statement timeout, was cancelled and sent again, round after round: a review
  // reproduced instances that stayed degraded, refusing allocations, with PostgreSQL back.
  // Default 16,384.
  std::size_t max_batch_log_rows = 16'384;
  // Wait between reconnect attempts while degraded: starts at reconnect_min, doubles up to
  // reconnect_max. Defaults 100 ms and 500 ms.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{500};
  // How long Flush() (and so the destructor) waits while degraded without any commit before
  // returning with the entries still queued. Default 5,000 ms.
  std::chrono::milliseconds degraded_flush_wait{5'000};
  // Under concurrent load (the last commit ended less than gather_window ago, and it wrote or
  // found queued at least kGatherMinAppends appends) the writer waits this long for more appends
  // before it writes, so that each commit carries more of them: PostgreSQL spends most of its
  // time per transaction and per statement, not per row (its own commit_delay and
  // commit_siblings, on our side of the socket). An idle writer, or one serving a single
  // sequential caller, writes at once. 0 turns it off. Default 1 ms.
  std::chrono::microseconds gather_window{1'000};
  // Longest an append waits for a commit that gets no answer. Past it a watchdog thread degrades
  // the journal, as if the server were down: the batch's appends and every later one are
  // acknowledged and stay queued, while the writer goes on waiting for the answer up to the
  // statement deadline (connection.statement_timeout + 1 s). Without it a hung server would hold
  // every allocation for that whole deadline. Checked every quarter of it, so an overdue commit
  // is noticed within 1.25x. 0 turns the watchdog off. Default 1,000 ms.
  std::chrono::milliseconds commit_wait{1'000};
  // History queries that may wait for the reader thread before new ones fail with kUnavailable.
  // Default 64.
  std::size_t max_pending_reads = 64;
  // Longest a scan of a window of every call (the coverage report, the automatic rests' answer
  // rates) may run, in place of connection.statement_timeout: at millions of calls a day they
  // legitimately take seconds. They run on a connection and thread of their own (read_kind.h).
  // Default 60,000 ms.
  std::chrono::milliseconds scan_statement_timeout{60'000};
  // How often a batch ends with a sweep of the releases that reached PostgreSQL before their
  // allocation (batch_writer.h): how long such a release may wait after its allocation arrived.
  // Default 5,000 ms.
  std::chrono::milliseconds early_release_sweep{5'000};
  // While nothing is queued, the writer checks its server this often (SELECT 1 on its
  // connection, or connecting again when it has none), as a write would: an idle instance's
  // Healthy() (its /health) turns degraded while the server is gone and healthy once it is back,
  // not only at its next write. A probe that gets no answer is watched like a commit
  // (commit_wait). 0 turns it off. Default 1,000 ms.
  std::chrono::milliseconds idle_probe{1'000};
  // Directory of the backlog's local copy (above). Empty: none, the backlog lives in memory only.
  std::string spill_dir = {};
  // Size past which the copy goes on in a new file, the full one deleted once the backlog it
  // holds is committed (postgres/backlog_spill.h). Default 64 MiB.
  std::uint64_t spill_segment_bytes = 64u << 20;
  // While the copy's file cannot be made (a full or read-only directory), how often the writer
  // tries again. Default 5,000 ms.
  std::chrono::milliseconds spill_retry{5'000};
};

class PostgresJournal final : public Journal {
 public:
  // Connections the writer still tries once the journal is stopping (after its flush), before
  // it gives the backlog up: a server that takes connections but loses every batch would
  // otherwise hold the stop forever.
  static constexpr int kReconnectsAfterStop = 3;

  static constexpr std::size_t kGatherMinAppends = 4;  // see PostgresOptions::gather_window

  // Starts the writer and reader threads; connects lazily (Load() or the first append). With a
  // spill_dir, first takes the backlogs that journals which died left there (queued, degraded);
  // a spill_dir that cannot be listed or written is logged, never an error.
  // Errors: kInvalidArgument ("max_queue_entries" / "max_batch_entries") for a zero bound.
  [[nodiscard]] static core::Result<std::unique_ptr<PostgresJournal>> Open(PostgresOptions options);

  PostgresJournal(const PostgresJournal&) = delete;
  PostgresJournal& operator=(const PostgresJournal&) = delete;
  // Flushes (see degraded_flush_wait), stops the writer, runs the reads already accepted.
  ~PostgresJournal() override;

  // Connects, migrates the schema to kSchemaVersion, then streams numbers in caller_id order and
  // the live reservations (postgres/queries.h) into `sink`, on the caller's thread.
  // Errors: kUnavailable naming the server (unreachable within connect_timeout, a failed
  // statement, a schema newer than this binary's).
  [[nodiscard]] core::Result<LoadSummary> Load(core::TimePoint now, LoadSink& sink) override;

  // Queues `entries` and returns at once; `on_durable` (may be empty) runs exactly once, on the
  // writer thread (or the commit watchdog's): success after the commit (connected) or at once
  // (degraded); kUnavailable when the bound was reached or PostgreSQL rejected the entries'
  // content.
  void Append(std::vector<JournalEntry> entries, Durable on_durable) override;
  // Buffers the row for the next batch; dropped and counted past max_queue_entries.
  void AppendLog(ApiLogEntry entry) override;

  // `done` runs on the reader thread (the coverage and answer-rate scans': the scanner's);
  // kInvalidArgument for a limit outside 1..1000, kUnavailable when PostgreSQL cannot answer or
  // too many reads wait.
  void ListLogs(LogQuery query, Callback<std::vector<StoredLog>> done) override;
  void QueryCoverage(CoverageQuery query, Callback<CoverageData> done) override;
  void QueryActivity(ActivityQuery query, Callback<ActivityData> done) override;
  void QueryAnswerStats(AnswerStatsQuery query, Callback<AnswerStats> done) override;
  // One statement (postgres::QueryLookup): a recursive walk of the number's previous_id links.
  void QueryLookup(LookupQuery query, core::TimePoint now, Callback<LookupData> done) override;
  void ListReservations(ReservationQuery query, core::TimePoint now,
                        Callback<std::vector<ReservationRecord>> done) override;

  // On the reader thread and its connection (the writer's batches go on meanwhile): one chunk of
  // kPruneChunkRows per table per task, posted again until nothing older is left. Several
  // instances may prune at once: they delete the same old rows, whoever comes first.
  void PruneHistory(PruneCutoffs cutoffs, Callback<PruneResult> done) override;

  // The recovered backlog's allocations, once it is all written.
  RecoveredAllocations TakeRecoveredAllocations() override;
  void OnRecoveredBacklogWritten(std::function<void()> written) override;
  // Deletes the recovered backlog's files, kept until now (unchecked_files_).
  void RecoveredBacklogChecked() override;

  // Entries queued or being written, not yet committed: the backlog while degraded.
  std::size_t QueueDepth() const override;
  // False while degraded and after a rejected batch, until a commit succeeds with nothing left
  // to catch up.
  bool Healthy() const override;
  // A connection to the server opens (it is closed at once); no statement runs.
  bool Reachable() override;
  // True from a lost connection until the backlog is written again.
  bool Degraded() const;
  // Returns once every append made before the call has been committed and its `on_durable` has
  // run; while degraded, also once nothing has been committed for degraded_flush_wait (the
  // entries then stay queued).
  // REQUIRES: not called from a journal callback (such a call returns at once and logs an error).
  bool Flush() override;

  // Counters since Open(), for tests and metrics. A batch is one transaction.
  std::uint64_t BatchesCommitted() const { return batches_committed_.load(); }
  std::uint64_t EntriesCommitted() const { return entries_committed_.load(); }
  std::uint64_t BatchesFailed() const { return batches_failed_.load(); }
  std::uint64_t DroppedLogs() const { return dropped_logs_.load(); }
  // Appends refused past the bound, and entries PostgreSQL rejected after they were
  // acknowledged in degraded mode (logged; they are not in the tables).
  std::uint64_t RefusedAppends() const { return refused_appends_.load(); }
  std::uint64_t LostEntries() const { return lost_entries_.load(); }
  // Writes of the backlog's local copy that failed, or files it could not make (disk full,
  // read-only). What was acknowledged meanwhile is in memory only until a write succeeds, which
  // copies it again (spill_gap_).
  std::uint64_t BacklogCopyFailures() const override { return spill_failures_.load(); }

 private:
  static constexpr std::string_view kWho = "postgres journal";

  struct Pending {
    std::vector<JournalEntry> entries;
    Durable on_durable;     // emptied once called (degraded mode calls it before the commit)
    std::uint64_t seq = 0;  // position in append order, 1-based
  };
  using Completion = std::pair<Durable, core::Result<void>>;

  PostgresJournal(PostgresOptions options, std::unique_ptr<postgres::BacklogSpill> spill,
                  postgres::RecoveredBacklog recovered);
  // Queues a recovered backlog ahead of everything, degraded. Constructor only.
  void QueueRecovered(postgres::RecoveredBacklog recovered);
  // Degraded: writes the appends about to be acknowledged (queue_ from acknowledged_ on; with
  // `appends` false, none) and the log rows not copied yet to spill_, before they are
  // acknowledged; after a gap (spill_gap_), every acknowledged append still queued first.
  // REQUIRES: mu_ held.
  void SpillLocked(bool appends = true);
  // Records the committed progress in spill_, and deletes the files whose backlog is all written
  // (full segments, a recovered backlog's). REQUIRES: mu_ held.
  void CheckpointSpillLocked();
  // Goes on in spill_'s next file once it is spill_segment_bytes. REQUIRES: mu_ held.
  void RotateSpillLocked();

  void WriterLoop();
  // Opens the writer's connection, migrates, prepares. False (and degraded) when it failed.
  bool ConnectWriter();
  // Starts (a time) or ends (nullopt) a wait the commit watchdog watches. REQUIRES: mu_ not held.
  void SetWritingSince(std::optional<std::chrono::steady_clock::time_point> since);
  // Writes the first `count` queued appends plus `logs`, completes them; returns false when the
  // connection was lost (the batch stays queued). REQUIRES: lock held; releases it meanwhile.
  // `committed`: the batch is known to be committed already (ResolveUnconfirmed); it is only
  // completed.
  bool WriteFront(std::unique_lock<std::mutex>& lock, std::size_t count,
                  std::vector<ApiLogEntry>& logs, bool committed = false);
  // For unconfirmed_: looks its reservations up on the new connection. Stored: completes its
  // appends and log rows without writing them again, and returns false (round the loop again).
  // Another reservation's row under one of their ids: the batch could never commit, and is sent
  // again as a new batch (so the append that repeats the id fails alone). None, or the lookup
  // failed: returns true, and the batch is replayed. The lookup losing the connection returns
  // false, to reconnect and look again. Writer thread. REQUIRES: lock held; releases it
  // meanwhile.
  bool ResolveUnconfirmed(std::unique_lock<std::mutex>& lock, std::vector<ApiLogEntry>& logs);
  // After a rejected batch: one transaction per append, so only faulty ones fail.
  // Returns how many of `batch` were handled before the connection was lost (all when not).
  // Each written append's result goes to `results` (the callbacks are taken under the lock, as
  // the commit watchdog may take them meanwhile).
  std::size_t WriteOneByOne(const std::vector<Pending*>& batch, std::vector<ApiLogEntry>& logs,
                            std::vector<core::Result<void>>& results);
  // Drops the writer's connection and degrades. Writer thread.
  void EnterDegradedLocked(const core::Error& why);
  // Degrades without touching the connection (the watchdog's way). REQUIRES: mu_ held.
  void MarkDegradedLocked(const core::Error& why);
  // The commit watchdog (PostgresOptions::commit_wait), on a thread of its own.
  void WatchCommits();
  // Completes the appends at the front that write nothing (empty appends, Flush barriers): they
  // need no connection. REQUIRES: mu_ held and no log rows buffered (a barrier takes them along).
  void CompleteLeadingEmptyLocked(std::vector<Completion>& out);
  // Completes refusals and, when degraded, acknowledges queued appends: from the connect wait.
  void AcknowledgeWhileWaiting();
  // Refused appends' callbacks, with kUnavailable. REQUIRES: mu_ held.
  void TakeRefusalsLocked(std::vector<Completion>& out);
  // Gives up the backlog at shutdown while PostgreSQL is unreachable. REQUIRES: lock held.
  void AbandonBacklog(std::unique_lock<std::mutex>& lock);
  // Degraded: takes the callbacks of every queued append (success). REQUIRES: mu_ held.
  void TakeAcknowledgementsLocked(std::vector<Completion>& out);
  // Runs completions with mu_ released. REQUIRES: lock held.
  void Complete(std::unique_lock<std::mutex>& lock, std::vector<Completion>& completions);
  // Entries and log rows queued or being written. REQUIRES: mu_ held.
  std::size_t QueuedLocked() const;
  void CountDroppedLogs(std::size_t count);
  bool BatchFullLocked() const;
  // Moves the first `rows` waiting in logs_ (at most all) into `logs`. REQUIRES: mu_ held.
  void TakeFrontLogsLocked(std::size_t rows, std::vector<ApiLogEntry>& logs);
  // Log rows waiting in logs_. REQUIRES: mu_ held.
  std::size_t PendingLogsLocked() const { return logs_.size() - logs_head_; }
  // Ends degraded mode once the backlog is written and the connection is up. Writer thread.
  void LeaveDegradedIfDrainedLocked();
  // Nothing was queued for idle_probe: checks the server (PostgresOptions::idle_probe). Writer
  // thread. REQUIRES: lock held; releases it meanwhile.
  void ProbeIdle(std::unique_lock<std::mutex>& lock);
  void GatherLocked(std::unique_lock<std::mutex>& lock);
  // Runs `query` on the reader's (or the scanner's) thread and connection, opening (and
  // migrating) the connection when it is closed or lost, and hands its result to `done`.
  template <class T, class Query>
  void PostRead(Callback<T> done, Query query, ReadKind kind = ReadKind::kPoint);
  // Posts the next chunk of a prune pass that has deleted `so_far`.
  void PruneNext(PruneCutoffs cutoffs, PruneResult so_far,
                 std::shared_ptr<Callback<PruneResult>> done);

  static constexpr std::size_t kPruneChunkRows = 1'000;

  const PostgresOptions options_;
  const std::string server_;  // for logs and errors, without the password

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the writer waits for appends or stop_
  std::condition_variable done_cv_;  // Flush waits for done_seq_
  std::deque<Pending> queue_;        // guarded by mu_; only the writer pops (element addresses
                                     // stay valid across push_back, so it writes them unlocked)
  std::vector<ApiLogEntry> logs_;    // guarded by mu_; api_logs rows for the next batch
  // guarded by mu_; logs_[0, logs_head_) were taken by batches already (moved from): the rows
  // waiting are those from logs_head_ on (TakeFrontLogsLocked).
  std::size_t logs_head_ = 0;
  std::uint64_t logs_appended_ = 0;  // guarded by mu_; log rows taken into logs_, ever
  std::uint64_t logs_done_ = 0;      // guarded by mu_; of those, written (or given up), in order
  // guarded by mu_; when a Flush last gave up waiting (degraded), and done_seq_ + logs_done_ then
  std::chrono::steady_clock::time_point gave_up_at_{};
  std::uint64_t gave_up_at_progress_ = UINT64_MAX;
  std::size_t writing_logs_ = 0;     // guarded by mu_; rows in the batch being written
  std::size_t pending_entries_ = 0;  // guarded by mu_; entries of queue_
  std::uint64_t appended_seq_ = 0;   // guarded by mu_; seq of the last accepted append
  std::uint64_t done_seq_ = 0;       // guarded by mu_; every append up to it is committed
  std::size_t acknowledged_ = 0;     // guarded by mu_; leading queue_ appends already completed
                                     // (degraded), so each is acknowledged once, in O(1)
  std::vector<Durable> refusals_;    // guarded by mu_; appends refused past the bound, for the
                                     // writer to complete
  bool degraded_ = false;            // guarded by mu_
  bool stop_ = false;                // guarded by mu_
  bool gathering_ = false;           // guarded by mu_; the writer waits out gather_window: an
                                     // append wakes it only when a batch is full
  // Guarded by mu_: when the batch being written was sent; unset between batches.
  std::optional<std::chrono::steady_clock::time_point> writing_since_;
  bool overdue_ = false;             // guarded by mu_; the watchdog found that batch overdue
  std::condition_variable watch_cv_;  // the watchdog waits for its next check or stop_

  std::atomic<bool> healthy_{true};
  std::atomic<bool> pruning_{false};        // a PruneHistory pass is under way
  std::atomic<bool> degraded_flag_{false};  // degraded_, readable without mu_
  std::atomic<std::uint64_t> batches_committed_{0};
  std::atomic<std::uint64_t> entries_committed_{0};
  std::atomic<std::uint64_t> batches_failed_{0};
  std::atomic<std::uint64_t> dropped_logs_{0};
  std::atomic<std::uint64_t> refused_appends_{0};
  std::atomic<std::uint64_t> lost_entries_{0};
  std::atomic<std::uint64_t> spill_failures_{0};

  // The backlog's local copy; null without spill_dir. Guarded by mu_, as the rest below.
  std::unique_ptr<postgres::BacklogSpill> spill_;
  std::string spill_buffer_;        // reused: the records of one write
  std::chrono::steady_clock::time_point next_spill_create_{};  // spill_ null: when to try again
  // Appends were acknowledged without a copy (no file, a failed write): the next write that can
  // be made copies the whole queue again, so that nothing acknowledged stays in memory only
  // (recovery reads an append copied twice once).
  bool spill_gap_ = false;
  std::uint64_t logs_spilled_ = 0;  // log rows below this cumulative index are copied
  std::uint64_t spilled_seq_ = 0;   // the last append copied
  // Full files before spill_, oldest first, each with its last append's seq and its rows' end.
  struct FullSpill {
    std::unique_ptr<postgres::BacklogSpill> file;
    std::uint64_t last_seq = 0;
    std::uint64_t logs_end = 0;
  };
  std::deque<FullSpill> full_spills_;
  // A recovered backlog: appends up to this seq and the first recovered_logs_ rows; its files.
  std::uint64_t recovered_through_seq_ = 0;
  std::uint64_t recovered_logs_ = 0;
  std::vector<std::unique_ptr<postgres::BacklogSpill>> recovered_files_;
  RecoveredAllocations recovered_allocations_;  // TakeRecoveredAllocations'
  // Set by CheckpointSpillLocked when the recovered backlog is all written: the writer then
  // calls on_recovered_written_, outside mu_ (WriteFront).
  bool recovered_just_written_ = false;
  // OnRecoveredBacklogWritten's; called holding written_mu_, which unsetting it waits for.
  std::mutex written_mu_;
  std::function<void()> on_recovered_written_;  // guarded by written_mu_
  void AnnounceRecoveredWritten();
  // A recovered backlog's files once it is written, until the store has checked Redis against
  // its allocations (RecoveredBacklogChecked): killed before that, the next start checks.
  std::vector<std::unique_ptr<postgres::BacklogSpill>> unchecked_files_;
  // Keeps `files` in unchecked_files_, or deletes them when recovered_allocations_ is empty.
  void KeepUntilChecked(std::vector<std::unique_ptr<postgres::BacklogSpill>> files);
  // Each recovered series, with where its appends and rows are in this journal's numbering and
  // what its files were last told is committed (CheckpointSpillLocked). Cleared with
  // recovered_files_, which its series point into.
  struct RecoveredSeries {
    postgres::RecoveredBacklog::Series series;
    std::uint64_t seq_begin = 0;  // its appends are seqs seq_begin + 1 ...
    std::uint64_t log_begin = 0;  // its rows are rows log_begin ...
    std::size_t appends_checkpointed = 0;
    std::size_t logs_checkpointed = 0;
  };
  std::vector<RecoveredSeries> recovered_series_;

  postgres::Connection write_conn_;                       // writer thread only
  postgres::BatchWriter writer_;                          // writer thread only
  std::chrono::milliseconds backoff_;                     // writer thread only
  std::chrono::steady_clock::time_point next_connect_{};  // writer thread only
  std::chrono::steady_clock::time_point last_commit_{};   // writer thread only
  std::size_t appends_around_commit_ = 0;  // writer thread only; written + queued at its end
  // Writer thread only: a batch was cut off with its commit unconfirmed, so the next commit is a
  // replay (batch_writer.h), of the appends up to seq replay_through_seq_ (the later ones go in a
  // batch of their own: a replay skips a repeated reservation id instead of failing its append).
  postgres::Replay replay_ = postgres::Replay::kNo;
  std::uint64_t replay_through_seq_ = 0;
  // Writer thread only: such a batch, sent for the first time (a replay may follow an earlier
  // attempt that commits late, so its own lookup would prove nothing), that inserted
  // reservations, which tell whether it was committed: a replay would otherwise write its
  // api_logs rows twice. Its appends are those of queue_ up to seq `last_seq` (empty ones ahead
  // of them may have been completed meanwhile), its log rows the first `logs` of logs_ (put back
  // in front; only the writer takes rows out).
  struct UnconfirmedBatch {
    std::uint64_t last_seq = 0;
    std::size_t logs = 0;
  };
  std::optional<UnconfirmedBatch> unconfirmed_;
  postgres::Connection read_conn_;  // reader thread only
  postgres::Connection scan_conn_;  // scanner thread only
  int reconnects_after_stop_ = 0;   // writer thread only
  std::thread writer_thread_;       // started last in the constructor, with the watchdog
  std::thread watchdog_thread_;     // only when commit_wait > 0
  std::unique_ptr<SerialWorker> reader_;
  std::unique_ptr<SerialWorker> scanner_;
};

}  // namespace cidrotor::store
