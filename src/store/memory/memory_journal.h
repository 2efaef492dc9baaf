// A Journal (store/journal.h) that keeps everything in RAM: the stand-in for the SQLite journal
// in unit tests of the embedded store, and a reference for what a journal must do. Nothing
// survives the object; Load() returns what was appended to this same object.
//
// Append applies the entries at once, in call order. Where `on_durable` runs is chosen at
// construction:
//   Completion::kInline     on the caller's thread before Append returns, after the journal's
//                           lock is released. A callback may call back into the journal; but a
//                           caller that appends while holding its own lock, and whose callback
//                           takes that lock, deadlocks itself: use kOwnThread for such callers.
//   Completion::kOwnThread  on the journal's completion thread, in append order, as the SQLite
//                           journal's writer thread does; Flush() waits for them.
// Reads always complete synchronously on the caller's thread. SetFailure() makes appends fail,
// to test how the caller undoes a change that could not be made durable.
//
// Thread-safety: every method may be called from any thread (one mutex), except Flush() and the
// destructor from inside an `on_durable` callback. Ownership: plain values; the completion thread
// (kOwnThread only) is joined by the destructor after it has run every queued callback.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/number.h"
#include "core/result.h"
#include "store/journal.h"
#include "store/store.h"

namespace cidrotor::store {

class MemoryJournal final : public Journal {
 public:
  enum class Completion {
    kInline,     // on_durable runs on the caller's thread before Append returns
    kOwnThread,  // on_durable runs on the journal's completion thread, like SqliteJournal's
  };

  explicit MemoryJournal(Completion completion = Completion::kInline);
  MemoryJournal(const MemoryJournal&) = delete;
  MemoryJournal& operator=(const MemoryJournal&) = delete;
  // Runs the callbacks still queued (kOwnThread), then joins the completion thread.
  ~MemoryJournal() override;

  // Streams the numbers in caller_id order (each with its newest reservation when the sink
  // WantsNewest and it has one), then the reservations live at `now` (not released,
  // reserved_until > now, of a number that still exists) in id order. Never fails (unless a
  // failure is set with SetFailure, which it returns).
  [[nodiscard]] core::Result<LoadSummary> Load(core::TimePoint now, LoadSink& sink) override;

  // Applies `entries` in order, then runs `on_durable` with success. Nothing is applied, and
  // `on_durable` gets the error, while SetFailure is set or when a ReservationMade repeats an id
  // (kUnavailable, as the SQLite journal's primary key would refuse the batch).
  void Append(std::vector<JournalEntry> entries, Durable on_durable) override;

  // Same results as the SQLite journal: newest first by id, kInvalidArgument ("limit") unless
  // 1 <= limit <= 1000. `done` runs before the call returns.
  void ListLogs(LogQuery query, Callback<std::vector<StoredLog>> done) override;
  void QueryCoverage(CoverageQuery query, Callback<CoverageData> done) override;
  void QueryActivity(ActivityQuery query, Callback<ActivityData> done) override;
  // Counts over every reservation kept (a scan: this journal serves tests), with the per-number
  // cutoff of store.h's AnswerStatsQuery, as the SQL journals do.
  void QueryAnswerStats(AnswerStatsQuery query, Callback<AnswerStats> done) override;
  // Follows the links as the SQLite journal does (a number's newest, its previous ones).
  void QueryLookup(LookupQuery query, core::TimePoint now, Callback<LookupData> done) override;
  void ListReservations(ReservationQuery query, core::TimePoint now,
                        Callback<std::vector<ReservationRecord>> done) override;

  // Entries whose `on_durable` has not run yet (always 0 with kInline).
  std::size_t QueueDepth() const override;
  // False while a failure is set.
  bool Healthy() const override;
  // Returns once the `on_durable` of every earlier append has run (at once with kInline).
  // REQUIRES: not called from an `on_durable` callback.
  bool Flush() override;

  // While `error` is set, Append and Load fail with it and change nothing; nullopt heals.
  void SetFailure(std::optional<core::Error> error);
  // kOwnThread: while paused, commits are decided (applied or failed) but their callbacks wait,
  // as a SQLite batch that waits for a lock does (tests order a failure's report after later
  // changes with it). Stopping the journal runs them all the same.
  void PauseCompletions(bool paused);
  // Stalled() answers `stalled` (as the SQLite journal's does while a commit hangs).
  void SetStalled(bool stalled) { stalled_.store(stalled); }
  bool Stalled() const override { return stalled_.load(); }

  // Inline, in one go (no chunks): every api_logs row and every reservation older than the
  // cutoffs, but the highest id of each.
  void PruneHistory(PruneCutoffs cutoffs, Callback<PruneResult> done) override;

  // Entries applied since construction.
  std::uint64_t EntriesCommitted() const;

 private:
  struct Completed {
    Durable on_durable;
    core::Result<void> result;
    std::size_t entries = 0;
  };

  // The first reservation id that `entries` would insert twice (or that exists), if any.
  // REQUIRES: mu_ held.
  std::optional<std::uint64_t> FindDuplicateReservation(
      const std::vector<JournalEntry>& entries) const;
  void Apply(const NumberUpserted& e);
  void Apply(const NumberDeleted& e);
  void Apply(const ReservationMade& e);
  void Apply(const ReservationReleased& e);
  void Apply(const ApiLogEntry& e);
  void Apply(const CampaignPoolChanged& e);
  void Apply(const PoolSettingsChanged& e);
  void CompletionLoop();
  // QueryAnswerStats's two halves: the judged calls of the numbers that exist, by caller_id, and
  // every pool's active and resting numbers, by name. REQUIRES: mu_ held.
  std::vector<NumberAnswers> AnswersLocked(const AnswerStatsQuery& query) const;
  std::vector<PoolRestCounts> PoolRestsLocked(core::TimePoint now) const;

  const Completion completion_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the completion thread waits for completions_ or stop_
  std::condition_variable done_cv_;  // Flush waits for done_seq_

  // caller_id digits → the number's state; ordered, as Load streams it.
  std::map<std::uint64_t, std::pair<core::NumberSpec, core::NumberUsage>>
      numbers_;                                              // guarded by mu_
  std::map<std::uint64_t, ReservationRecord> reservations_;  // guarded by mu_; by id
  // The lookup's links (store/journal.h ReservationMade::previous_id): a number's newest
  // reservation (caller_id digits → id), and a reservation's previous one (id → id).
  std::map<std::uint64_t, std::uint64_t> newest_reservation_;  // guarded by mu_
  // A deleted number's newest reservation (the SQLite journal's retired_numbers).
  std::map<std::uint64_t, std::uint64_t> retired_;             // guarded by mu_; digits → id
  std::map<std::uint64_t, DeletedUsage> deleted_;              // guarded by mu_; by digits
  std::map<std::uint64_t, std::uint64_t> previous_ids_;        // guarded by mu_
  std::vector<StoredLog> logs_;                              // guarded by mu_; ids ascending
  std::map<std::string, std::string> campaign_pools_;        // guarded by mu_
  std::map<std::string, PoolSettings> pool_settings_;        // guarded by mu_
  std::uint64_t next_log_id_ = 1;                            // guarded by mu_
  std::uint64_t entries_committed_ = 0;                      // guarded by mu_
  std::optional<core::Error> failure_;                       // guarded by mu_

  std::deque<Completed> completions_;  // guarded by mu_; kOwnThread only, in append order
  std::size_t pending_entries_ = 0;    // guarded by mu_; entries of completions not yet run
  std::uint64_t queued_seq_ = 0;       // guarded by mu_; completions queued so far
  std::uint64_t done_seq_ = 0;         // guarded by mu_; completions run so far
  bool stop_ = false;                  // guarded by mu_
  std::atomic<bool> stalled_{false};
  bool paused_ = false;                // guarded by mu_; PauseCompletions
  std::thread completion_thread_;      // kOwnThread only; started last in the constructor
};

}  // namespace cidrotor::store
