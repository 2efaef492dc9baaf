// The embedded mode's Store: allocation state lives in the in-memory core::NumberIndex, and every
// change goes to a Journal (SQLite in production, memory in tests) that is the system of record.
//
// Write path (DESIGN-NOTES §4): under one mutex, held for microseconds, the index changes and the
// change is appended to the journal queue (so the journal's order is the index's order); the
// caller's callback runs only after the group commit holding the change, on the journal's writer
// thread. If that commit fails the change is undone in memory and the caller gets kUnavailable:
// an answer never claims what the store did not keep. Reads of current state are served from
// memory; history (logs, past reservations) from the journal. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/calendar.h"
#include "core/clock.h"
#include "core/number_index.h"
#include "core/rate_limiter.h"
#include "store/history_pruner.h"
#include "store/journal.h"
#include "store/name_table.h"
#include "store/serial_worker.h"
#include "store/store.h"

namespace cidrotor::store {

struct IndexedStoreOptions {
  core::IndexOptions index;
  std::uint32_t rate_limit_per_agent = 100;  // DEFAULT_RATE_LIMIT_PER_AGENT; 0 = unlimited
  HistoryRetention retention;                // pruned from Tick
  // An allocation whose commit took longer than this is released and answered kUnavailable:
  // its caller has most likely given up (the dialplan's CURL after 2 s; FastAGI has a deadline
  // of its own), and the number would otherwise stay reserved, unused, until its TTL.
  std::chrono::milliseconds commit_deadline{2'000};
};

struct ImportRun;  // indexed_store_import.cc: one import's chunks

class IndexedStore final : public Store {
 public:
  // Loads the journal's state (numbers, usage, live reservations) into memory.
  // Errors: whatever Journal::Load reports (kUnavailable).
  [[nodiscard]] static core::Result<std::unique_ptr<IndexedStore>> Open(
      const core::Clock& clock, const core::Calendar& calendar, IndexedStoreOptions options,
      std::unique_ptr<Journal> journal);

  ~IndexedStore() override;

  void Allocate(core::AllocationRequest request, Callback<core::Allocation> done) override;
  void Release(core::ReleaseRequest request, Callback<core::ReleaseResult> done) override;
  void AddNumber(core::NumberSpec spec, Callback<core::NumberView> done) override;
  void UpdateNumber(core::PhoneNumber caller_id, core::NumberPatch patch,
                    Callback<core::NumberView> done) override;
  void DeleteNumber(core::PhoneNumber caller_id, Callback<void> done) override;
  void GetNumber(core::PhoneNumber caller_id, Callback<core::NumberView> done) override;
  void ListNumbers(NumberFilter filter, Callback<NumberPage> done) override;
  // indexed_store_import.cc: index upserts in chunks, each chunk one journal append made under
  // mu_ (so the journal's order stays the index's), completed when the last chunk is durable.
  void ImportNumbers(std::vector<ImportItem> items, OnDuplicate on_duplicate,
                     Callback<ImportResult> done) override;
  // indexed_store_settings.cc: the settings tables in memory, each change applied once durable.
  void ListCampaignPools(Callback<std::vector<CampaignPool>> done) override;
  void SetCampaignPool(CampaignPool mapping, Callback<CampaignPool> done) override;
  void RemoveCampaignPool(std::string campaign, Callback<void> done) override;
  void ListPoolSettings(Callback<std::vector<PoolSettings>> done) override;
  void SetPoolSettings(PoolSettings settings, Callback<PoolSettings> done) override;
  void ListReservations(ReservationQuery query,
                        Callback<std::vector<ReservationRecord>> done) override;
  void ListLogs(LogQuery query, Callback<std::vector<StoredLog>> done) override;
  void GetCoverage(CoverageQuery query, Callback<CoverageData> done) override {
    journal_->QueryCoverage(query, std::move(done));  // the system of record's
  }
  void GetActivity(ActivityQuery query, Callback<ActivityData> done) override {
    journal_->QueryActivity(query, std::move(done));  // the system of record's
  }
  void Lookup(LookupQuery query, Callback<LookupData> done) override {
    journal_->QueryLookup(query, clock_.Now(), std::move(done));  // the system of record's
  }
  void GetAnswerStats(AnswerStatsQuery query, Callback<AnswerStats> done) override {
    journal_->QueryAnswerStats(query, std::move(done));  // the system of record's
  }
  void GetStats(Callback<StoreStats> done) override;
  void AppendLog(ApiLogEntry entry) override;
  StoreHealth Health() const override;
  void Tick() override;
  bool Flush() override;
  // Deleted numbers whose usage is kept (store/deleted_usage.h), for tests.
  std::size_t KeptDeletedNumbers() const;

 private:
  IndexedStore(const core::Clock& clock, const core::Calendar& calendar,
               IndexedStoreOptions options, std::unique_ptr<Journal> journal);

  // Applies the next chunk of an import and appends it; its completion applies the one after
  // (indexed_store_import.cc). Ends the import with `done` after the last or a failed one.
  void ImportNextChunk(std::shared_ptr<ImportRun> run);

  // Deleted numbers' usage (store/deleted_usage.h), loaded at start-up and kept by each delete.
  // REQUIRES: mu_ held (all four).
  // Keeps what `deleted` leaves (or forgets an older one); returns what it kept, for the journal.
  DeletedUsage KeepDeleted(const core::NumberView& deleted, core::TimePoint now);
  // What is kept of `caller_id`, taken out (the number is being added again); nullopt: nothing.
  std::optional<DeletedUsage> TakeDeleted(core::PhoneNumber caller_id, core::TimePoint now);
  // Keeps `kept` of the number with `digits` (replacing what was kept of it).
  void RememberDeleted(std::uint64_t digits, const DeletedUsage& kept);
  // Drops what is no longer kept.
  void SweepDeleted(core::TimePoint now);

  // The time the index is given: the clock, but never earlier than it was last given. Caps count
  // one hour's and one day's window per number, so a clock stepped back (NTP, a VM resumed) would
  // otherwise reopen a window that was already overwritten by the next one, and let numbers past
  // their caps. While the clock is behind, time stands still for the index. REQUIRES: mu_ held.
  core::TimePoint NowLocked();

  // Appends `entry` (REQUIRES: mu_ held, so the journal's order is the index's) and completes
  // `done` with `value` once durable, or runs `undo` and reports kUnavailable if the commit failed.
  template <class T>
  void CommitThen(JournalEntry entry, T value, Callback<T> done, std::function<void()> undo);

  // Undoes a change of a number whose commit failed: puts back its spec and its rest as they were
  // before (`previous`), and keeps the usage it has now, which later allocations, acknowledged
  // from later batches, may have changed. REQUIRES: mu_ held.
  void RestoreSpec(const core::NumberView& previous, core::TimePoint now);
  // Takes back from `number` what an allocation that was never committed added (`before` its
  // usage then, `after` what the allocation made of it). REQUIRES: mu_ held.
  void TakeBackUsage(core::PhoneNumber number, const core::NumberUsage& before,
                     const core::NumberUsage& after, core::TimePoint now);

  // Runs `scan` (a read of the whole pool: a listing, the counts) on scans_ and gives `done` its
  // result there, not on the caller's thread: an HTTP I/O thread spent up to a few hundred ms on
  // a deep page of a million numbers, holding every request of its connections, allocations
  // included (a review). When too many scans wait already, `done` gets kUnavailable at once.
  template <class T>
  void OffCallersThread(Callback<T> done, std::function<T()> scan);

  // Appends the change of `campaign` to `pool` (nullopt: unmapped) and applies it to
  // campaign_pools_ once durable, then runs `done`.
  void CommitCampaignChange(std::string campaign, std::optional<std::string> pool,
                            std::function<void(core::Result<void>)> done);

  const core::Clock& clock_;
  const std::chrono::milliseconds commit_deadline_;
  std::unique_ptr<Journal> journal_;
  mutable std::mutex mu_;
  core::NumberIndex index_;                // guarded by mu_
  core::AgentRateLimiter limiter_;         // guarded by mu_
  NameTable campaign_pools_;               // thread-safe; changed by the journal's completions
  NameTable pool_fallbacks_;               // pool → "any"/"none"; as campaign_pools_
  std::uint64_t next_reservation_id_ = 1;  // guarded by mu_
  core::TimePoint latest_now_{};           // guarded by mu_; NowLocked()'s high-water mark
  std::unordered_map<std::uint64_t, DeletedUsage> deleted_;  // guarded by mu_; by digits
  // guarded by mu_; (keep_until, digits) of what deleted_ keeps, soonest first: the sweep takes
  // what is over from the top, never scanning the map (a wiped pool leaves a million entries for
  // a day). Entries replaced or taken back since stay here until their time, then are skipped.
  std::priority_queue<std::pair<core::CompactTime, std::uint64_t>,
                      std::vector<std::pair<core::CompactTime, std::uint64_t>>, std::greater<>>
      deleted_by_time_;
  HistoryPruner pruner_;                   // after journal_: uses it
  std::atomic<std::uint64_t> allocations_{0};
  std::atomic<std::uint64_t> releases_{0};
  std::atomic<std::uint64_t> no_caller_id_{0};
  // Whole-pool reads waiting for scans_ before more are refused.
  static constexpr std::size_t kMaxWaitingScans = 64;
  SerialWorker scans_{kMaxWaitingScans};  // OffCallersThread's; last: joined before the rest goes
};

}  // namespace cidrotor::store
