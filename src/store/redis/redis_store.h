// Cluster mode's Store: Redis is the single authority for allocation state (numbers, LRU order,
// reservations, counters, agent windows), each change one atomic Lua script on one pool's keys
// (scripts/*.lua, keys in docs/redis-keys.md); the Journal (PostgreSQL in production, memory in
// tests) is the system of record, exactly as for the embedded IndexedStore.
//
// Write path: the script runs on a RedisExecutor worker (never on the caller's thread); then the
// change is appended to the journal and the caller hears of it only once `on_durable` reports
// it committed. If the journal refuses it (its bound is exceeded), the change is undone in Redis
// and the caller gets kUnavailable. Releases answer at once, as in the embedded store.
//
// Redis faults: while Redis is unreachable every call fails with kUnavailable ("store
// unavailable") within about half a second, and connections come back on their own. When Redis
// lost its data (restart without persistence, failover), the scripts find no generation key;
// one instance (SET NX lock) then rebuilds Redis from Journal::Load (numbers, usage counters,
// each number's newest reservation, live reservations) on a background thread before anything
// is allocated again; meanwhile every instance answers kUnavailable.
// A Redis back with older data than it had (a snapshot, a lagging replica) is found by the load
// check (redis_store_check.cc) when it lacks one of the journal's newest live reservations.
// Limits: one Redis server (hiredis 0.14 speaks no Cluster protocol, although every pool's keys
// share one slot).
//
// Thread-safe. Callbacks run on a Redis worker or on the journal's writer thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/calendar.h"
#include "core/clock.h"
#include "core/number_index.h"
#include "store/history_pruner.h"
#include "store/journal.h"
#include "store/name_table.h"
#include "store/redis/lua_scripts.h"
#include "store/redis/number_codec.h"
#include "store/redis/redis_executor.h"
#include "store/redis/redis_pipeline.h"
#include "store/redis/script_args.h"
#include "store/store.h"

namespace cidrotor::store {

struct RedisStoreOptions {
  core::IndexOptions index;                  // DEFAULT_* caps and the reservation TTL
  std::uint32_t rate_limit_per_agent = 100;  // DEFAULT_RATE_LIMIT_PER_AGENT; 0 = unlimited
  redis::ExecutorOptions redis;              // server, timeouts, worker connections
  std::size_t import_chunk = 1000;           // numbers per upsert script call (bulk import)
  HistoryRetention retention;                // the journal's history, pruned from Tick
  // How long an edit lock (of a number, a campaign's pool, a pool's settings) lasts unless
  // released (SubmitEdit): longer than the longest wait
  // for a change's journal append (app/ derives it from PostgreSQL's commit wait), so that only an
  // instance that died holding one makes the next change of that number wait for it.
  std::chrono::milliseconds edit_lease{10'000};
  // Numbers one list.lua call looks at with the active filter (each a hash read: 10,000 take
  // about 30 ms of Redis, between which other calls run).
  std::size_t list_slice = 10'000;
  // How long a rebuild that found live history waits, from its start, for other instances to
  // announce a journal backlog in the emptied Redis (redis/backlog_notices.h) before it publishes:
  // they write it again at their next tick (every second).
  std::chrono::milliseconds rebuild_grace{2'500};
};

class RedisStore final : public Store {
 public:
  // Connects, then makes sure Redis holds the journal's state (rebuilding it when its generation
  // key is missing) and that reservation ids continue above the journal's. Redis being down is
  // not an error: the store starts unable to allocate and loads Redis when it comes back.
  // Errors: whatever Journal::Load reports (kUnavailable).
  [[nodiscard]] static core::Result<std::unique_ptr<RedisStore>> Open(
      const core::Clock& clock, const core::Calendar& calendar, RedisStoreOptions options,
      std::unique_ptr<Journal> journal);

  ~RedisStore() override;

  void Allocate(core::AllocationRequest request, Callback<core::Allocation> done) override;
  void Release(core::ReleaseRequest request, Callback<core::ReleaseResult> done) override;
  // redis_store_numbers.cc: admin changes and reads of numbers; redis_store_import.cc.
  void AddNumber(core::NumberSpec spec, Callback<core::NumberView> done) override;
  // Both read the number, change it and write it back while holding its edit lock (SubmitEdit):
  // one change of a number at a time, through every instance. A change takes milliseconds
  // (Redis, then PostgreSQL's commit); one that finds the lock taken tries again for up to
  // kEditWait, then gives up (kUnavailable).
  static constexpr std::chrono::milliseconds kEditWait{2'000};
  // How long a number's move between pools is marked at most (redis::kMovingKey): a move takes a
  // few Redis calls; the mark of an instance that died moving lapses after this.
  static constexpr std::chrono::milliseconds kMoveMark{2'000};
  void UpdateNumber(core::PhoneNumber caller_id, core::NumberPatch patch,
                    Callback<core::NumberView> done) override;
  void DeleteNumber(core::PhoneNumber caller_id, Callback<void> done) override;
  void GetNumber(core::PhoneNumber caller_id, Callback<core::NumberView> done) override;
  // With the active filter, numbers are looked at options.list_slice per script call (list.lua).
  void ListNumbers(NumberFilter filter, Callback<NumberPage> done) override;
  void ImportNumbers(std::vector<ImportItem> items, OnDuplicate on_duplicate,
                     Callback<ImportResult> done) override;
  // redis_store_settings.cc: campaigns → pools and the pools' fallback, kept in Redis hashes and
  // cached here (see campaign_pools_).
  void ListCampaignPools(Callback<std::vector<CampaignPool>> done) override;
  void SetCampaignPool(CampaignPool mapping, Callback<CampaignPool> done) override;
  void RemoveCampaignPool(std::string campaign, Callback<void> done) override;
  void ListPoolSettings(Callback<std::vector<PoolSettings>> done) override;
  void SetPoolSettings(PoolSettings settings, Callback<PoolSettings> done) override;
  // redis_store_queries.cc: live reservations, stats, health, tick; history from the journal.
  void ListReservations(ReservationQuery query,
                        Callback<std::vector<ReservationRecord>> done) override;
  void ListLogs(LogQuery query, Callback<std::vector<StoredLog>> done) override;
  void GetCoverage(CoverageQuery query, Callback<CoverageData> done) override {
    journal_->QueryCoverage(query, std::move(done));  // the system of record's
  }
  void GetActivity(ActivityQuery query, Callback<ActivityData> done) override {
    journal_->QueryActivity(query, std::move(done));  // the system of record's
  }
  // The system of record's links, which allocate.lua's previous ids keep exact across instances.
  void Lookup(LookupQuery query, Callback<LookupData> done) override {
    journal_->QueryLookup(query, clock_.Now(), std::move(done));
  }
  void GetAnswerStats(AnswerStatsQuery query, Callback<AnswerStats> done) override {
    journal_->QueryAnswerStats(query, std::move(done));  // the system of record's
  }
  // redis_store_leases.cc: SET cid:turn:<job> NX PX <period> (docs/redis-keys.md), on a worker
  // with the store's timeouts; true when this instance set the key. Errors: kUnavailable (Redis
  // down or answering an error).
  void ClaimTurn(std::string job, std::chrono::milliseconds period, Callback<bool> done) override;
  // redis_store_leases.cc: GET / SET PX of cid:shared:<name>, on a worker with the store's
  // timeouts. Errors: kUnavailable.
  void LoadShared(std::string name, Callback<std::optional<std::string>> done) override;
  void SaveShared(std::string name, std::string value, std::chrono::milliseconds ttl,
                  Callback<void> done) override;
  void GetStats(Callback<StoreStats> done) override;
  void AppendLog(ApiLogEntry entry) override;
  // mode "cluster"; can_allocate false while Redis is unreachable; degraded while the journal
  // (PostgreSQL) is not committing.
  StoreHealth Health() const override;
  // Queues (never blocks) the return of due parked numbers of every pool, a liveness probe, and a
  // new read of the campaigns → pools table; starts pruning old history (HistoryPruner).
  void Tick() override;
  bool Flush() override;

 private:
  RedisStore(const core::Clock& clock, const core::Calendar& calendar, RedisStoreOptions options,
             std::unique_ptr<Journal> journal);
  // Open's work once constructed: the generation, a rebuild or the attach to it, the ids, and
  // the check of a recovered backlog already written.
  core::Result<void> Attach();

  // --- running scripts (redis_store.cc) ---------------------------------------------------------
  redis::ScriptContext Context(core::TimePoint now) const;
  std::string Epoch() const;
  // Runs `script` on `pool`. When the pool's generation is not the known one, resolves it
  // (adopts a newer epoch, or rebuilds Redis when it lost its data) and runs it again. A pool
  // that does not exist answers {'NOPOOL'}, unless `create` lets the script create it.
  // Errors: kUnavailable (Redis down, or being rebuilt by another instance), kInternal.
  core::Result<redis::RedisReply> RunPoolScript(redis::RedisConnection& connection,
                                                redis::Script script, const std::string& pool,
                                                core::TimePoint now,
                                                const std::vector<std::string>& args,
                                                redis::CreatePool create = redis::CreatePool::kNo);
  // Called when a script found no pool of generation `seen`. True when `seen` is the published
  // generation (so the pool truly does not exist); false after adopting the published one.
  // Errors: kUnavailable, also when none is published (Redis lost its data): the reload from the
  // journal then starts on a thread of its own, and callers get kUnavailable until it is done,
  // never a request waiting seconds for a million numbers to load.
  core::Result<bool> ResolveGeneration(redis::RedisConnection& connection, const std::string& seen);
  core::Result<std::uint64_t> NextReservationId(redis::RedisConnection& connection);
  // Every pool's name, sorted; the pool of a number (nullopt: no such number). Both check the
  // generation before reporting nothing, so a Redis that lost its data is rebuilt first.
  core::Result<std::vector<std::string>> Pools(redis::RedisConnection& connection);
  core::Result<std::optional<std::string>> PoolOf(redis::RedisConnection& connection,
                                                  core::PhoneNumber caller_id);
  // Runs `run` on a worker with `done`; `done` gets kUnavailable if it cannot run.
  template <class T, class Run>
  void Submit(Callback<T> done, Run run) {
    auto shared = std::make_shared<Callback<T>>(std::move(done));
    SubmitTask(
        [shared, run = std::move(run)](redis::RedisConnection& c) mutable { run(c, *shared); },
        [shared](core::Error error) { (*shared)(core::Fail(std::move(error))); });
  }
  // Runs one command on a worker (redis_store_leases.cc); an error reply or a failure is
  // kUnavailable, any other reply goes through `read` (RedisReply& -> core::Result<T>).
  template <class T, class Read>
  void SubmitCommand(redis::Command command, Callback<T> on_done, Read read);
  // `urgent`: work already begun (redis_executor.h Task::urgent).
  void SubmitTask(std::function<void(redis::RedisConnection&)> run,
                  std::function<void(core::Error)> fail, bool urgent = false);
  // What an edit lock guards: `cid:edit:<key>`, named in errors by `name`.
  struct EditSubject {
    std::string key;   // "2125551001"; "campaign:<name>", "pool:<name>"
    std::string name;  // "caller_id 2125551001"; "campaign <name>", "pool <name>"
  };
  static EditSubject NumberEdit(core::PhoneNumber caller_id);
  static EditSubject CampaignEdit(const std::string& campaign);  // redis_store_settings.cc
  static EditSubject PoolEdit(const std::string& pool);
  // As Submit, holding `subject`'s edit lock (redis_store_leases.cc) from before `run` starts
  // until its `done` was called: after the journal's commit, or the undo of a change it refused.
  // So the changes of one number (or one campaign's pool, one pool's settings), through any
  // instance, read what the one before wrote, and reach the journal in the order they reached
  // Redis. A lock held elsewhere for longer than kEditWait: kUnavailable, nothing changed.
  template <class T, class Run>
  void SubmitEdit(EditSubject subject, Callback<T> on_done, Run run) {
    Submit<T>(std::move(on_done),
              [this, subject = std::move(subject), run = std::move(run)](
                  redis::RedisConnection& connection, Callback<T>& done) mutable {
                auto token = LockEdit(connection, subject);
                if (!token) {
                  done(core::Fail(token.error()));
                  return;
                }
                Callback<T> unlock_then_done = [this, key = subject.key, token = *token,
                                                done = std::move(done)](core::Result<T> result) {
                  UnlockEditThen(key, token, [done, result = std::move(result)]() mutable {
                    done(std::move(result));
                  });
                };
                run(connection, unlock_then_done);
              });
  }
  // Takes `subject`'s edit lock (SET NX PX edit_lease), trying again for up to kEditWait; the
  // token it set. Errors: kUnavailable (Redis, or the lock held elsewhere all that time).
  core::Result<std::string> LockEdit(redis::RedisConnection& connection,
                                     const EditSubject& subject);
  // Deletes the lock `cid:edit:<key>` if it still holds `token` (on a worker, urgent), then runs
  // `then`; `then` runs also when that cannot be done (the lock then expires after edit_lease).
  void UnlockEditThen(std::string key, std::string token, std::function<void()> then);

  // A change the journal refused: runs `undo` on a worker (urgent: a busy queue never skips it),
  // then fails `done` with `error`, so a retry right after the answer already sees the state
  // before the change.
  template <class T>
  void UndoThenFail(std::function<void(redis::RedisConnection&)> undo, core::Error error,
                    Callback<T> done) {
    auto shared = std::make_shared<Callback<T>>(std::move(done));
    SubmitTask(
        [shared, undo = std::move(undo), error](redis::RedisConnection& c) {
          undo(c);
          (*shared)(core::Fail(error));
        },
        [shared, error](core::Error) { (*shared)(core::Fail(error)); }, /*urgent=*/true);
  }
  void NoteRedis(const core::Result<void>& outcome);
  // The hot path (redis_store_calls.cc): the pipeline when it can, else the worker way.
  // allocate.lua's deadline argument: the Redis time (Unix ms) after which the script must change
  // nothing, '' while this instance does not know Redis's clock (MeasureRedisClock). A Redis that
  // stalls runs the calls queued meanwhile when it resumes, after their callers have answered
  // 503: without it each held a number, unjournaled, for its whole TTL and counted against its
  // agent's limit (a review reproduced 60 such reservations from one 120-request stall).
  std::string AllocateDeadline() const;
  // Measures Redis's clock against this host's (TIME, on a round trip under 20 ms) for
  // AllocateDeadline; from Tick.
  void MeasureRedisClock(redis::RedisConnection& connection);
  std::vector<std::string> AllocateArgs(const core::AllocationRequest& request, std::uint64_t id,
                                        core::CompactTime until) const;
  void AllocateViaWorker(core::AllocationRequest request, Callback<core::Allocation> done);
  // Answers from the allocate script's reply; an allocation made is journaled first.
  void FinishAllocation(const redis::RedisReply& reply, const core::AllocationRequest& request,
                        const std::string& pool, std::uint64_t id, core::TimePoint now,
                        core::CompactTime until, Callback<core::Allocation> done);
  // A script's reply from the pipeline as RunPoolScript gives one; Redis's health noted.
  core::Result<redis::RedisReply> CheckPipelined(core::Result<redis::RedisReply> reply);
  static std::vector<std::string> ReleaseArgs(const core::ReleaseRequest& request);
  void ReleaseViaWorker(core::ReleaseRequest request, Callback<core::ReleaseResult> done);
  // Journals a release made (without waiting for the commit) and returns `result`. `now`: the
  // time the release script was given, its released_at (the time of the answer, later, made a
  // number's next reservation, stamped with the time its own script was given, seem to begin
  // before this one ended: a review saw 338 of 1,365 consecutive pairs overlap, by up to 94 ms).
  core::Result<core::ReleaseResult> FinishRelease(core::ReleaseResult result,
                                                  const core::ReleaseRequest& request,
                                                  core::TimePoint now);
  // The next id of the block already fetched in the current generation, if any is left.
  std::optional<std::uint64_t> TakeBlockId();
  // Ends the reservation the request names (no journal entry). Errors: kNotFound, kUnavailable.
  core::Result<core::ReleaseResult> ReleaseOnWorker(redis::RedisConnection& connection,
                                                    const core::ReleaseRequest& request,
                                                    core::TimePoint now);
  // One look for it: the pool cid:pool_of names (by caller_id), or every pool (by id alone).
  core::Result<core::ReleaseResult> SearchRelease(redis::RedisConnection& connection,
                                                  const core::ReleaseRequest& request,
                                                  core::TimePoint now);
  void UndoAllocation(const core::Reservation& reservation, std::uint64_t previous_id,
                      core::Error error, Callback<core::Allocation> done);

  // --- numbers (redis_store_numbers.cc) ---------------------------------------------------------
  core::Result<core::NumberView> ReadNumber(redis::RedisConnection& connection,
                                            const std::string& pool, core::PhoneNumber caller_id,
                                            core::TimePoint now);
  // Writes `spec` (and `usage` when given) into spec.pool, moving the number out of `from_pool`
  // when it differs; a live reservation moves with the number, and so do its usage, warm-up start
  // and rest when `usage` is not given. `rest_until` set: the rest end written instead of the one
  // kept or given (0 ends a rest; a PATCH). Returns the id of a reservation that ended with the
  // move instead (0 if none; only when it could not be carried), and the change's version.
  struct Put {
    std::uint64_t ended = 0;
    ChangeVersion version = 0;
  };
  core::Result<Put> PutNumber(redis::RedisConnection& connection, const core::NumberSpec& spec,
                              const std::optional<core::NumberUsage>& usage,
                              const std::string& from_pool, core::TimePoint now,
                              std::optional<core::CompactTime> rest_until = std::nullopt);
  // True when Redis answers that `pool` does not hold `caller_id` (or the pool is absent, or of
  // another generation); false when it does, or cannot say.
  bool AbsentFrom(redis::RedisConnection& connection, const std::string& pool,
                  core::PhoneNumber caller_id, core::TimePoint now);
  // Puts `left` (a number a move took out of its pool, as it was there) back into that pool,
  // with the live reservation in `carried` (delete.lua's fields of it) and its newest
  // reservation, after the new pool refused it (`why`). Logs either way.
  void PutBack(redis::RedisConnection& connection, const core::NumberView& left,
               const std::vector<std::string>& carried, const std::string& newest,
               core::TimePoint now, const core::Error& why);
  core::Result<void> RemoveNumber(redis::RedisConnection& connection, const std::string& pool,
                                  core::PhoneNumber caller_id, core::TimePoint now);
  // redis_store_import.cc
  // redis_store_settings.cc: a hash's fields and values. Errors: kUnavailable.
  core::Result<std::vector<NameTable::Entry>> ReadHash(redis::RedisConnection& connection,
                                                       const char* key);
  // Reads cid:campaign_pools and cid:pool_settings into campaign_pools_ and pool_fallbacks_, and
  // keeps them only when the generation after the reads is the one known before (never from a
  // Redis that lost its data or is half rebuilt). Errors: kUnavailable.
  core::Result<void> LoadSettings(redis::RedisConnection& connection);
  // The pool that serves `campaign` (PoolName applied).
  std::string PoolOfCampaign(std::string_view campaign) const;
  // Under `subject`'s edit lock: sets (`value`) or deletes `field` of the settings hash `key`, then
  // appends `entry` to the journal; `done` gets the field's previous value (nullopt: none; then
  // nothing was appended when deleting) once durable, and `table` (this instance's copy) has the
  // change. A change the journal refuses is undone in Redis unless the field changed again
  // meanwhile.
  void ChangeSetting(EditSubject subject, const char* key, NameTable& table,
                     const std::string& field, std::optional<std::string> value, JournalEntry entry,
                     Callback<std::optional<std::string>> done);
  void ImportOnWorker(redis::RedisConnection& connection, std::vector<ImportItem>& items,
                      OnDuplicate on_duplicate, Callback<ImportResult>& done);
  void UndoImport(redis::RedisConnection& connection, const redis::ImportUndo& undo);
  // One step of the sweep of deleted numbers' usage past its time (sweep_mu_; Tick).
  void SweepDeleted(redis::RedisConnection& connection, core::TimePoint now);
  // Sets ImportItem::revived of the items in no pool (`pools`, ClaimPools' answer) that were
  // deleted while their usage still matters (redis/deleted_numbers.h). Errors: Redis's.
  core::Result<void> Revive(redis::RedisConnection& connection, std::vector<ImportItem>& items,
                            const std::vector<std::optional<std::string>>& pools,
                            core::TimePoint now);

  // --- rebuild (redis_store_rebuild.cc) ---------------------------------------------------------
  // Loads the journal's state into an empty Redis under the rebuild lock, then publishes a new
  // generation. Errors: kUnavailable (lock held elsewhere, Redis or journal down).
  core::Result<void> Rebuild(redis::RedisConnection& connection);
  // Waits until what this instance's journal had queued is committed, so that a load sees every
  // allocation this instance answered (those answered while PostgreSQL was down included).
  // Errors: kUnavailable while the journal is degraded (the next request's rebuild tries again).
  core::Result<void> AwaitJournalBacklog();
  // kUnavailable naming them while another instance announces a journal backlog in Redis.
  core::Result<void> NoOtherBacklog(redis::RedisConnection& connection);
  // From Tick: announces this instance's journal backlog in Redis while its journal is not
  // healthy, and withdraws it once it is (redis/backlog_notices.h).
  void NoteBacklog(redis::RedisConnection& connection);
  // Runs Rebuild on rebuild_thread_ unless one is running already.
  void StartRebuild();
  // redis_store_check.cc: the scripts use ZADD LT (6.2), and the older-data check relies on a
  // script cache that a restart or failover leaves empty (7.0: SCRIPT LOAD is neither persisted
  // nor replicated). Errors: kInvalidArgument (field REDIS_URL: older than 7), kUnavailable.
  static core::Result<void> RequireRedis7(redis::RedisConnection& connection);
  // redis_store_check.cc: ScriptRunner's load check. Refuses a Redis older than 7 (one started
  // while this instance ran). Looks the journal's newest live reservations up in Redis; when
  // Redis lacks one (older data than it had), drops the generation and starts the rebuild.
  // Otherwise raises the reservation-id counter above the journal's highest id. Skipped (ok)
  // when Redis lost everything (the generation check rebuilds it) or the journal is down
  // (degraded: allocation goes on without it).
  // Errors: kUnavailable (Redis down, rebuilding, or the journal slow to answer: checked again
  // at the next load).
  core::Result<void> CheckAgainstJournal(redis::RedisConnection& connection);
  // redis_store_check.cc, at each tick and when the journal says it wrote the backlog
  // (Journal::OnRecoveredBacklogWritten): once the journal wrote a backlog another process left
  // (Journal::TakeRecoveredAllocations), asks whether Redis was loaded without it (another
  // instance rebuilt it while the allocations were in no journal): when the generation's load
  // began after the oldest allocation and before the backlog was written, or Redis lacks one of
  // the allocations, drops the generation, so that Redis is rebuilt with them. Redis worker
  // thread.
  void CheckRecoveredBacklog(redis::RedisConnection& connection);
  // Looks `reservations` up in Redis: how many it never saw (Lacks).
  core::Result<std::size_t> CountLacking(redis::RedisConnection& connection,
                                         const std::vector<core::Reservation>& reservations);
  // The journal's reservations for `query`, waited for at most 2 s. Errors: kUnavailable.
  core::Result<std::vector<ReservationRecord>> AwaitJournal(ReservationQuery query);
  // Deletes the generation key and every pool's, if the generation is still `checked`.
  // Errors: kUnavailable (Redis down, or the generation changed: a rebuild is under way).
  core::Result<void> DropGeneration(redis::RedisConnection& connection, const std::string& checked);
  // Raises cid:reservation_id to at least `floor`.
  core::Result<void> RaiseReservationIds(redis::RedisConnection& connection, std::uint64_t floor);
  // Raises cid:reservation_id by kUncheckedIdJump: Redis is taken as it is while the journal
  // cannot say how far its ids went (it may be an older snapshot whose counter repeats some).
  core::Result<void> JumpReservationIds(redis::RedisConnection& connection);

  // Above the journal's highest reservation id, the counter starts this much higher after a
  // rebuild or a check: ids other instances may have handed out before committing them, from the
  // blocks of kIdBlock (1,024) each holds (16,384 blocks' worth). Ids stay far below 2^53, which
  // the scripts' numbers hold exactly, for hundreds of millions of such raises.
  static constexpr std::uint64_t kIdMargin = std::uint64_t{1} << 24;
  // A Redis that came back with its data while the journal is down cannot be checked: its
  // counter (maybe an older snapshot's) is raised this much instead, more than any snapshot's
  // age takes at any rate this service allocates.
  static constexpr std::uint64_t kUncheckedIdJump = std::uint64_t{1} << 32;

  const core::Clock& clock_;
  const core::Calendar& calendar_;
  RedisStoreOptions options_;
  std::unique_ptr<Journal> journal_;
  HistoryPruner pruner_;  // after journal_: uses it
  redis::ScriptRunner scripts_;

  mutable std::mutex epoch_mu_;
  std::string epoch_;  // guarded by epoch_mu_; the generation this instance has seen

  std::mutex ids_mu_;
  std::uint64_t next_id_ = 0;  // guarded by ids_mu_; next id of the block
  std::uint64_t end_id_ = 0;   // guarded by ids_mu_; end of the block (exclusive)
  std::string ids_epoch_;      // guarded by ids_mu_; generation the block was taken in

  std::mutex pools_mu_;
  std::vector<std::string> known_pools_;  // guarded by pools_mu_; sorted; refreshed on a miss

  // The sweep of cid:deleted (SweepDeleted): a page a tick while a pass runs, a pass every
  // kDeletedSweepEvery. Taken with try_lock: an overlapping tick skips it.
  std::mutex sweep_mu_;
  std::string sweep_cursor_ = "0";                      // guarded by sweep_mu_
  std::chrono::steady_clock::time_point next_sweep_{};  // guarded by sweep_mu_

  // The settings tables every allocation reads, without a Redis round trip: loaded before the
  // first allocation, read again at every Tick (another instance's change shows within about a
  // second), changed at once by this instance's own changes once durable.
  NameTable campaign_pools_;  // campaign → pool
  NameTable pool_fallbacks_;  // pool → "any"/"none"
  std::atomic<bool> settings_loaded_{false};
  std::mutex setting_changes_mu_;  // from a change's Redis write to its journal append
  // Changes written to Redis whose journal append has not completed: a tick's read meanwhile
  // would put a change into the copy that may yet be undone, so the copy is not replaced then.
  std::atomic<int> setting_changes_pending_{0};

  std::mutex rebuild_mu_;
  std::thread rebuild_thread_;  // guarded by rebuild_mu_; joined by the destructor
  bool closing_ = false;        // guarded by rebuild_mu_; set by the destructor
  std::atomic<bool> rebuilding_{false};
  // When a failed rebuild last logged at warn: every request tries again, and a wait for a
  // journal backlog can last minutes, so the same failure is logged at warn every 10 s at most.
  std::chrono::steady_clock::time_point rebuild_warned_at_{};  // guarded by rebuild_mu_

  // This store in Redis (the process's token and a count: tests open several in one process).
  const std::string instance_id_;
  std::atomic<bool> backlog_announced_{false};
  // A recovered backlog's allocations not yet found in Redis (CheckRecoveredBacklog), and when
  // the journal had written them (this instance's clock). recovered_mu_ is held by each check
  // (a tick's, the one the journal calls for once it wrote them, Open's): two workers may run
  // one each at once.
  std::mutex recovered_mu_;
  RecoveredAllocations recovered_to_check_;  // guarded by recovered_mu_
  core::TimePoint recovered_written_at_{};   // guarded by recovered_mu_

  std::atomic<bool> redis_up_{false};
  // Redis lost its data (or a pool of it is being reloaded) and no script found it back yet:
  // every allocation is refused meanwhile, so Health() says it cannot allocate, whichever
  // instance does the reload.
  std::atomic<bool> reloading_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> redis_clock_known_{false};
  // Redis's Unix ms minus this host's steady-clock ms (MeasureRedisClock).
  std::atomic<std::int64_t> redis_clock_offset_ms_{0};
  std::atomic<int> lock_waiters_{0};   // workers sleeping in LockEdit for a lock another holds
  std::atomic<int> late_in_a_row_{0};  // allocations answered LATE since the last other answer
  static constexpr int kLateBeforeRemeasure = 8;
  std::atomic<std::uint64_t> allocations_{0};
  std::atomic<std::uint64_t> releases_{0};
  std::atomic<std::uint64_t> no_caller_id_{0};

  // Last members: destroyed (threads joined) before everything they use; the pipeline first, as
  // its calls fall back to the executor.
  std::unique_ptr<redis::RedisExecutor> executor_;
  std::unique_ptr<redis::RedisPipeline> pipeline_;
};

}  // namespace cidrotor::store
