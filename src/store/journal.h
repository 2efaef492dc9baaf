// The embedded mode's system of record, as seen by the in-memory index: an ordered log of
// changes (numbers, reservations, api_logs) that one writer makes durable in batches (group
// commit), plus the queries that read history back. The SQLite implementation lives in
// store/sqlite/; MemoryJournal (store/memory/) keeps everything in RAM for tests.
//
// Ordering: entries are applied in the order Append is called, so a release is never written
// before the allocation it ends. Thread-safe: Append may be called from any thread; `on_durable`
// runs on the writer's thread after the batch holding the entries committed (or failed).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/allocation.h"
#include "core/calendar.h"
#include "core/number.h"
#include "core/result.h"
#include "store/store.h"

namespace cidrotor::store {

// The order of a number's admin changes where several writers journal them (cluster mode: each
// instance's writer commits its own backlog, in either order after an outage): Redis's clock in
// microseconds when the change ran there (lib.lua change_version). A journal that receives a
// change older than the one it holds for the number (a row, or a deleted number's tombstone)
// ignores it. 0: unversioned, applied as it comes (embedded mode, whose one writer commits in
// the order of the changes).
using ChangeVersion = std::uint64_t;

// A number was created or changed (spec and usage are its complete new state).
struct NumberUpserted {
  core::NumberSpec spec;
  core::NumberUsage usage;
  ChangeVersion version = 0;
};

// A deleted number's usage, kept until `keep_until` (compact seconds) so that the number added
// again takes it back (store/deleted_usage.h). keep_until 0: nothing kept.
struct DeletedUsage {
  core::NumberUsage usage;
  core::CompactTime keep_until = 0;
};

// A number was deleted at `at`. `kept`: its usage, kept while it matters (DeletedUsage); one kept
// from an earlier delete of the number is replaced, or dropped when this one keeps nothing. A
// journal also drops a few rows kept of other numbers until before `at` (each delete clears up
// after earlier ones: no sweep of its own).
struct NumberDeleted {
  core::PhoneNumber caller_id;
  DeletedUsage kept{};
  core::TimePoint at{};
  ChangeVersion version = 0;
};

// A reservation was made; `usage` is the number's usage after it (last_used, counters).
// `previous_id` is the number's reservation before this one, which the history links to (the
// lookup walks a number's reservations through these links): 0 lets the journal take it from
// the number's row, exact where one writer sees every reservation in order (embedded); the
// cluster passes Redis's, since two instances' batches may commit in either order.
struct ReservationMade {
  core::Reservation reservation;
  core::NumberUsage usage;
  std::uint64_t previous_id = 0;
};

// A reservation was released: its release time, outcome and duration are recorded, unless an
// earlier release was (the first one stays). `late`: the release ended nothing, the reservation
// had ended by its TTL while the call went on (ReleaseRecord); recorded only where the stored
// reservation had ended by `released_at` (reserved_until <= released_at), so a late outcome never
// ends a reservation that is live, and never waits for its reservation (PostgreSQL's
// early_releases): one that is not stored is not recorded.
struct ReservationReleased {
  std::uint64_t reservation_id = 0;
  core::TimePoint released_at;
  core::CallOutcome outcome = core::CallOutcome::kUnknown;
  std::optional<std::uint32_t> duration_seconds;
  bool late = false;
};

// What a release records, in both modes: the release of the reservation it ended; or, when it
// ended none but named a reservation by its id alone and reported an outcome or a duration, a
// late outcome for that reservation. That is the hang-up of a call that outlived the TTL (an
// answered call longer than DEFAULT_RESERVATION_TTL): without it the history would lose exactly
// the answered calls' outcomes, which the answer rates judge numbers by. A release by caller_id
// records no late outcome: the number may have been given to another call since, and its
// reservations cannot tell which one this was. Nothing otherwise.
inline std::optional<ReservationReleased> ReleaseRecord(const core::ReleaseResult& result,
                                                        const core::ReleaseRequest& request,
                                                        core::TimePoint now) {
  if (result.released && result.reservation) {
    return ReservationReleased{result.reservation->id, now, request.outcome,
                               request.duration_seconds};
  }
  if (result.released || !request.reservation_id || request.caller_id ||
      (request.outcome == core::CallOutcome::kUnknown && !request.duration_seconds)) {
    return std::nullopt;
  }
  return ReservationReleased{*request.reservation_id, now, request.outcome,
                             request.duration_seconds, /*late=*/true};
}

// A campaign was mapped to a pool (`pool` set) or unmapped (`pool` empty: pool "default" again).
struct CampaignPoolChanged {
  std::string campaign;
  std::optional<std::string> pool;
};

// A pool's settings were set (the whole row).
struct PoolSettingsChanged {
  PoolSettings settings;
};

using JournalEntry =
    std::variant<NumberUpserted, NumberDeleted, ReservationMade, ReservationReleased, ApiLogEntry,
                 CampaignPoolChanged, PoolSettingsChanged>;

// An allocation made for a lead (the sticky tier's memory): the lead was given `caller_id` in
// `pool` at `at`.
struct LeadAllocation {
  std::string pool;
  std::uint64_t lead_id = 0;
  core::PhoneNumber caller_id = core::PhoneNumber::FromValidDigits(2'015'550'100);
  core::TimePoint at;
};

// The allocations of a recovered backlog (Journal::TakeRecoveredAllocations).
struct RecoveredAllocations {
  // The newest allocation of each number, newest first, at most
  // Journal::kMaxRecoveredReservations.
  std::vector<core::Reservation> newest;
  // When the oldest allocation of the backlog was made (reserved_at), and how many it holds.
  core::TimePoint oldest{};
  std::size_t allocations = 0;
  // When the journal had written the whole backlog, on the steady clock (the store dates it on
  // its own clock by the time elapsed since).
  std::chrono::steady_clock::time_point written{};

  bool empty() const { return newest.empty(); }
};

// An allocation that named an agent (LoadSink::OnAgentAllocation): the agent rate limit's memory.
// The views live for the call only.
struct AgentAllocation {
  std::string_view agent;
  core::TimePoint at;
  std::string_view pool;  // the pool it was made in; "" reads as the default pool
  std::uint64_t reservation_id = 0;
};

// Receives the stored state at start-up, numbers in caller_id order.
class LoadSink {
 public:
  virtual ~LoadSink() = default;
  virtual void OnNumber(const core::NumberSpec& spec, const core::NumberUsage& usage) = 0;
  // How many numbers are about to come, before the first OnNumber, where the journal can tell
  // cheaply (SQLite); a hint to make room, not a promise.
  virtual void ExpectNumbers(std::size_t /*count*/) {}
  // Whether the sink wants each number's newest reservation (OnNumberNewest). Asked once per
  // Load, before the numbers; a journal may read one column more for it (PostgreSQL: about 6 %
  // more start-up scan), so sinks that do not use it (the embedded index) leave it false.
  virtual bool WantsNewest() const { return false; }
  // Only when WantsNewest(): the number's newest reservation id (the lookup's link: the one its
  // next reservation's previous_id names; caller_ids.last_reservation_id), right after that
  // number's OnNumber and before the next number's, for numbers that have one (a number never
  // allocated, or whose newest is unknown, gets no call). The reservation itself may be pruned.
  virtual void OnNumberNewest(core::PhoneNumber /*caller_id*/, std::uint64_t /*reservation_id*/) {}
  // The current windows (core::Windows at Load's `now`) when the sink wants each number's usage
  // raised to the allocations its history counts in them (core::RaiseToCounted), before OnNumber:
  // a Redis reload in cluster mode, whose stored counters can fall behind the history when a
  // backlog reaches PostgreSQL late (core/counted_usage.h). Asked once per Load. A journal whose
  // counters are written in one transaction with their reservations (SQLite) may ignore it.
  virtual std::optional<core::Windows> CountedWindows() const { return std::nullopt; }
  // Only reservations that were neither released nor expired at `now` of Load(), newest first
  // (by reserved_at, then id): of two a number has, the older one's release is the one that was
  // lost (a commit that failed after the release was answered), and the newer was answered later,
  // so a sink that keeps the first per number keeps the call on the line.
  virtual void OnLiveReservation(const core::Reservation& reservation) = 0;
  // How far back the sink wants the allocations made for leads (STICKY_DAYS); 0: none.
  virtual core::Seconds LeadWindow() const { return core::Seconds(0); }
  // Every allocation with a lead made after `now - LeadWindow()`, oldest first, after the live
  // reservations (also of numbers deleted since: the sink checks).
  virtual void OnLeadAllocation(const LeadAllocation& /*allocation*/) {}
  // How far back the sink wants the allocations that named an agent (the agent rate limit's
  // window); 0: none.
  virtual core::Seconds AgentWindow() const { return core::Seconds(0); }
  // Every allocation naming an agent made at or after `now - AgentWindow()`, oldest first, after
  // the lead allocations: a restart then keeps each agent's last minute of allocations.
  virtual void OnAgentAllocation(const AgentAllocation& /*allocation*/) {}
  // Every deleted number whose usage is kept past `now` (DeletedUsage) and which is not in the
  // store again, after the agent allocations.
  virtual void OnDeletedNumber(core::PhoneNumber /*caller_id*/, const DeletedUsage& /*kept*/) {}
  // Every campaign → pool mapping, after the numbers and reservations (sinks that only want the
  // numbers ignore them).
  virtual void OnCampaignPool(const CampaignPool& /*mapping*/) {}
  // Every pool's settings row, last.
  virtual void OnPoolSettings(const PoolSettings& /*settings*/) {}
};

// What PruneHistory deletes: api_logs rows with a timestamp before `api_logs_before`,
// reservations that ended (reserved_until) before `reservations_before`, and the versions of
// numbers deleted before `tombstones_before` (PostgreSQL's number_versions; journals without
// them ignore it). Unset: kept.
struct PruneCutoffs {
  std::optional<core::TimePoint> api_logs_before;
  std::optional<core::TimePoint> reservations_before;
  std::optional<core::TimePoint> tombstones_before;
};

struct PruneResult {
  std::uint64_t api_logs = 0;      // rows deleted
  std::uint64_t reservations = 0;  // rows deleted
};

struct LoadSummary {
  std::uint64_t numbers = 0;
  std::uint64_t campaign_pools = 0;
  std::uint64_t live_reservations = 0;
  std::uint64_t max_reservation_id = 0;  // ids continue above it after a restart
};

class Journal {
 public:
  using Durable = std::function<void(core::Result<void>)>;

  virtual ~Journal() = default;

  // Creates or migrates the schema, then streams the stored state into `sink`.
  // Errors: kUnavailable when the store cannot be opened or read.
  [[nodiscard]] virtual core::Result<LoadSummary> Load(core::TimePoint now, LoadSink& sink) = 0;
  // Whether the journal's server can be reached at all (a connection opens), asked after a Load
  // failed: a server that is down (false) lets a cluster instance start on Redis alone
  // (RedisStore::Attach); one that answers but fails the Load (a schema newer than this binary, a
  // failing statement) stops the start. May block for a connection attempt. The default: true
  // (a journal on a local file has no server to be down).
  virtual bool Reachable() { return true; }

  // Queues entries; `on_durable` (may be empty) runs once they are committed or have failed.
  // Never blocks on I/O. ApiLogEntry-only appends beyond the queue bound are dropped.
  virtual void Append(std::vector<JournalEntry> entries, Durable on_durable) = 0;

  // Queues one api_logs row for a coming commit; never waits, never fails the caller (rows past
  // the queue bound are dropped and counted). Rows are independent of every other entry, so a
  // journal may keep them apart and write them with whatever batch commits next: the default
  // appends them like any entry; the SQLite journal buffers them without a per-row allocation.
  virtual void AppendLog(ApiLogEntry entry) {
    std::vector<JournalEntry> entries;
    entries.push_back(std::move(entry));
    Append(std::move(entries), {});
  }

  // Reads run off the caller's thread; `done` runs on the journal's reader thread.
  virtual void ListLogs(LogQuery query, Callback<std::vector<StoredLog>> done) = 0;
  virtual void ListReservations(ReservationQuery query, core::TimePoint now,
                                Callback<std::vector<ReservationRecord>> done) = 0;
  // Store::GetCoverage's data. The default: kUnavailable (journals that keep no history).
  virtual void QueryCoverage(CoverageQuery query, Callback<CoverageData> done) {
    (void)query;
    done(core::Fail(core::Error::Unavailable("this journal keeps no coverage data")));
  }

  // Store::GetActivity's data. The default: kUnavailable (journals that keep no history).
  virtual void QueryActivity(ActivityQuery query, Callback<ActivityData> done) {
    (void)query;
    done(core::Fail(core::Error::Unavailable("this journal keeps no activity history")));
  }

  // Store::GetAnswerStats's data. The default: kUnavailable (journals that keep no history).
  virtual void QueryAnswerStats(AnswerStatsQuery query, Callback<AnswerStats> done) {
    (void)query;
    done(core::Fail(core::Error::Unavailable("this journal keeps no answer statistics")));
  }

  // Store::Lookup's data. The default: kUnavailable (journals that keep no history).
  virtual void QueryLookup(LookupQuery query, core::TimePoint now, Callback<LookupData> done) {
    (void)query;
    (void)now;
    done(core::Fail(core::Error::Unavailable("this journal keeps no history to look up")));
  }

  // Deletes the history older than `cutoffs` (retention), in small transactions off the caller's
  // thread with appends going on between them: api_logs from the lowest id up, for as long as
  // the lowest ids hold older rows (a row a clock running behind stamped later stays until its
  // neighbours are old too), and reservations by reserved_until. The highest id of each table
  // stays (it carries the id sequence over a restart). `done` gets the rows deleted once nothing
  // older is left, or the first error (kUnavailable). A call made while a pass runs is refused
  // with kUnavailable ("already pruning").
  virtual void PruneHistory(PruneCutoffs cutoffs, Callback<PruneResult> done) = 0;

  // Entries queued and not yet committed.
  virtual std::size_t QueueDepth() const = 0;
  // False after a failed commit until one succeeds again.
  virtual bool Healthy() const = 0;
  // Whether the commit under way has run longer than the journal's stall limit (a disk that
  // hangs, a lock another process holds), or a journal keeps itself stalled after a failed
  // commit until one succeeds (SqliteJournal: a full disk, a lock held past its busy timeout):
  // allocations should fail fast rather than queue behind it. The default: never (journals that
  // cannot stall).
  virtual bool Stalled() const { return false; }

  // The allocations of a backlog that another process left and this journal wrote at start-up
  // (PostgreSQL's spill files): a store whose allocation state was loaded while they were in no
  // journal lacks them (a Redis rebuilt meanwhile by another instance), and checks. Empty until
  // that backlog is written; then given once. The default: none (journals no other process
  // writes).
  virtual RecoveredAllocations TakeRecoveredAllocations() { return {}; }
  // Calls `written` once that backlog is written (on the journal's own thread, or at once when it
  // is already written and not taken), so that the store checks then rather than at its next
  // tick: meanwhile it allocates through a Redis that may lack the backlog. `written` must not
  // block. Replaces the previous one; nullptr stops the calls, and returns once a call under way
  // is over. The default: never (journals no other process writes).
  virtual void OnRecoveredBacklogWritten(std::function<void()> written) { (void)written; }
  // The store has checked them (found them in its state, or had it reloaded): the journal may
  // forget the backlog. Until then its files stay, so that a process killed before it checked
  // leaves the check to the next start on the directory.
  virtual void RecoveredBacklogChecked() {}
  // Writes of a local copy of the backlog (PostgreSQL's spill files) that failed since start:
  // appends acknowledged with the backlog in memory only. The default: none (no such copy).
  virtual std::uint64_t BacklogCopyFailures() const { return 0; }
  static constexpr std::size_t kMaxRecoveredReservations = 1'000;

  // Blocks until every entry appended before the call is committed, or failed to be: false when
  // the journal is unhealthy at the end (its last commit failed) or gave up waiting for its
  // server (the entries stay queued).
  virtual bool Flush() = 0;
};

}  // namespace cidrotor::store
