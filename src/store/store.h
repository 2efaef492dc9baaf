// The one storage interface: everything the service layer asks of a deployment's state.
//
// Embedded mode implements it with the in-memory core index plus a SQLite journal
// (store/memory/indexed_store.h); cluster mode with Redis scripts plus PostgreSQL. Every call that
// may touch a disk or a network completes through a callback, possibly on another thread (the
// group-commit writer's): callers hop back to their own executor. Allocation and admin changes
// complete only once their change is durable, so an acknowledged allocation survives `kill -9`;
// a release completes at once (losing it only lets the reservation run to its TTL).
// Implementations are thread-safe; callbacks must not block.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/allocation.h"
#include "core/answer_rate.h"
#include "core/clock.h"
#include "core/number.h"
#include "core/result.h"

namespace cidrotor::store {

template <class T>
using Callback = std::function<void(core::Result<T>)>;

// One row of api_logs: one request to the API, written through the group commit.
struct ApiLogEntry {
  core::TimePoint timestamp;
  std::string endpoint;  // path without query, e.g. "/next-cid"
  std::string method;    // "GET"
  std::string agent;
  std::string campaign;
  std::string caller_id_allocated;  // empty when nothing was allocated
  std::uint32_t response_time_us = 0;
  std::uint16_t status_code = 0;
};

struct StoredLog {
  std::uint64_t id = 0;
  ApiLogEntry entry;
};

struct NumberFilter {
  std::optional<std::uint32_t> area_code;
  std::optional<std::string> pool;
  std::optional<bool> active;
  std::size_t offset = 0;
  std::size_t limit = 100;      // REQUIRES: 1..1000
  std::optional<bool> resting;  // resting now, or not (the dashboard's list of rested numbers)
  // Only numbers above this one (a page's last): pages that neither skip nor repeat a number
  // while others are added or deleted, which offsets do. NumberPage::total then counts the
  // matches after it.
  std::optional<core::PhoneNumber> after;
};

struct NumberPage {
  std::vector<core::NumberView> numbers;  // ordered by caller_id
  std::size_t total = 0;                  // matching numbers, all pages
};

// Bulk import (cidrotor import, POST /api/numbers/import): what to do with a number the store
// already holds. kUpdate replaces its spec (usage counters stay), kSkip leaves it as it is, kFail
// rejects the row as a duplicate.
enum class OnDuplicate : std::uint8_t { kUpdate, kSkip, kFail };

// The spec fields an import row gives (ImportItem::given): a CSV row gives those of the columns
// its file has, with a value (the caps: with or without; empty means the default, SPEC).
enum ImportField : std::uint8_t {
  kImportCarrier = 1U << 0,
  kImportHourlyCap = 1U << 1,
  kImportDailyCap = 1U << 2,
  kImportPool = 1U << 3,
  kImportState = 1U << 4,
  kImportActive = 1U << 5,
  kImportAllFields = (1U << 6) - 1,
};

// One validated row to import (service/number_rows.h makes them).
struct ImportItem {
  core::NumberSpec spec;
  std::optional<core::CompactTime> last_used;  // set: restores last use; unset: new = never used,
                                               // existing = kept
  // The local midnight a NEW number without last_used warms up from (core::ArrivingUsage);
  // unset: today's. Cluster import sets the day PostgreSQL stamped, so Redis agrees with it also
  // when the import runs past midnight. An existing number keeps its own.
  std::optional<core::CompactTime> warm_from_day;
  // Set: the number rests until then (an export being restored; a past time still carries the
  // probation and the answer-rate judging's cutoff after it). Unset: new = not resting,
  // existing = kept.
  std::optional<core::CompactTime> rest_until;
  // Set: the number's warm-up started then (an export being restored), new or existing number
  // alike, in place of warm_from_day's rule. Unset: new = warm_from_day's rule, existing = kept.
  std::optional<core::CompactTime> warm_from;
  // The fields of `spec` the row gives (ImportField bits). A new number takes `spec` whole (the
  // defaults where not given); an existing one (kUpdate) keeps its own value of each other field,
  // so a file without an `active` or `pool` column never reactivates or moves a number.
  std::uint8_t given = kImportAllFields;
  // Set by a store, never by a reader: the whole usage a deleted number that this row adds again
  // takes back (store/deleted_usage.h RevivedUsage: the row's last_used, rest_until and
  // warm_from already over it). Unset: as the fields above say.
  std::optional<core::NumberUsage> revived{};
};

// The spec an import writes over an existing number's (`existing`): `item`'s given fields, the
// existing ones for the others.
inline core::NumberSpec MergedSpec(const core::NumberSpec& existing, const ImportItem& item) {
  core::NumberSpec merged = item.spec;
  if ((item.given & kImportCarrier) == 0) merged.carrier = existing.carrier;
  if ((item.given & kImportHourlyCap) == 0) merged.hourly_cap = existing.hourly_cap;
  if ((item.given & kImportDailyCap) == 0) merged.daily_cap = existing.daily_cap;
  if ((item.given & kImportPool) == 0) merged.pool = existing.pool;
  if ((item.given & kImportState) == 0) merged.state = existing.state;
  if ((item.given & kImportActive) == 0) merged.active = existing.active;
  return merged;
}

struct ImportResult {
  std::uint64_t imported = 0;           // new numbers
  std::uint64_t updated = 0;            // existing numbers changed (kUpdate)
  std::uint64_t skipped = 0;            // existing numbers left alone (kSkip)
  std::vector<std::size_t> duplicates;  // kFail: positions in the input of existing numbers
  // Rows the store could not take, by position in the input, and why (the embedded index's
  // limits: 65,536 distinct carriers, pools or states; its most numbers). The other rows are
  // imported, as a bad row's neighbours are.
  std::vector<std::pair<std::size_t, core::Error>> refused;
};

// A reservation as the history keeps it: live ones have no released_at yet.
struct ReservationRecord {
  core::Reservation reservation;
  std::optional<core::TimePoint> released_at;  // early release; expiry leaves it empty
  core::CallOutcome outcome = core::CallOutcome::kUnknown;
  std::optional<std::uint32_t> duration_seconds;
  bool live = false;  // held right now (not released, not expired)
};

// Newest first. All reservations: by reserved_at, then id (embedded: by id, which grows with time
// there; in cluster mode ids are not in time order across instances, each taking a block of them
// at a time). Live only: by reserved_until (when they end: the newest when TTLs are equal), then
// id; the Redis store's check for a Redis back with older data needs the newest in time.
// reserved_until, not reserved_at: its index bounds the scan to `limit` rows.
struct ReservationQuery {
  bool live_only = true;
  std::size_t limit = 100;  // REQUIRES: 1..1000
  // The history (live_only false) after this reservation, in the listing's order (newest
  // first): the next page after one that ended with it. A reservation not stored (pruned since,
  // or never made) is kNotFound. REQUIRES: unset when live_only.
  std::optional<std::uint64_t> before_id{};
};

struct LogQuery {
  std::size_t limit = 100;  // newest first; REQUIRES: 1..1000
  std::optional<std::uint64_t> before_id;
};

struct AreaCodeAvailability {
  std::uint32_t area_code = 0;
  std::uint32_t total = 0;      // numbers of the area code
  std::uint32_t active = 0;     // of those, active
  std::uint32_t available = 0;  // of those, eligible right now
};

struct PoolAvailability {
  std::string pool;
  std::uint32_t total = 0;
  std::uint32_t active = 0;
  std::uint32_t available = 0;  // eligible right now
};

struct StoreStats {
  std::uint64_t total_numbers = 0;
  std::uint64_t active_numbers = 0;
  std::uint64_t reserved_numbers = 0;   // live reservations
  std::uint64_t available_numbers = 0;  // eligible right now
  std::uint64_t capped_numbers = 0;     // active, not reserved, at a cap
  std::uint64_t resting_numbers = 0;    // active, not reserved, not capped, resting
  std::uint64_t allocations_total = 0;  // since this process started
  std::uint64_t releases_total = 0;
  std::uint64_t no_caller_id_total = 0;
  std::vector<AreaCodeAvailability> area_codes;  // fewest available first
  std::vector<PoolAvailability> pools;           // by name
  std::size_t journal_queue_depth = 0;           // entries waiting for the group commit
  // Writes of the journal's backlog copy that failed since start (cluster: a full or read-only
  // CIDROTOR_DATA_DIR while PostgreSQL is down; Journal::BacklogCopyFailures).
  std::uint64_t journal_backlog_copy_failures = 0;
};

// Which pool serves a campaign (SPEC: campaigns map to pools; an unmapped campaign allocates from
// pool "default").
struct CampaignPool {
  std::string campaign;
  std::string pool;
  friend bool operator==(const CampaignPool&, const CampaignPool&) = default;
};

// (campaign, pool) pairs, as a NameTable lists them, as CampaignPool values.
inline std::vector<CampaignPool> ToCampaignPools(
    const std::vector<std::pair<std::string, std::string>>& entries) {
  std::vector<CampaignPool> list;
  list.reserve(entries.size());
  for (const auto& [campaign, pool] : entries) list.push_back({campaign, pool});
  return list;
}

// A pool's own settings. fallback_any false is SPEC's fallback `none`: the pool has no `any`
// tier, so a destination with no number of its exchange or area code gets 503, not a far number.
struct PoolSettings {
  std::string pool;
  bool fallback_any = true;
  friend bool operator==(const PoolSettings&, const PoolSettings&) = default;
};

// The fallback as stored and shown: "any" or "none"; and back (anything but "none", an absent
// setting included, is any).
inline const char* FallbackName(bool fallback_any) { return fallback_any ? "any" : "none"; }
inline bool FallbackIsAny(std::string_view name) { return name != "none"; }

// The coverage report's inputs (GET /api/coverage), read from the system of record: each area
// code's numbers with the sum of their caps, and the calls made to each area code, by hour.
struct AreaCodeCapacity {
  std::uint32_t area_code = 0;
  std::uint64_t numbers = 0;          // every number of the area code
  std::uint64_t active = 0;           // of those, active
  std::uint64_t hourly_capacity = 0;  // the active ones' hourly caps added up (defaults included)
  std::uint64_t daily_capacity = 0;   // likewise, daily
};

// Active numbers whose caps today may be below their full caps (warm-up, rest, probation): those
// warming up since, or rested until, CoverageQuery::recent_since or later, grouped. The service
// works out what each group can take today (core::DailyCapOn), so the store applies no rule.
struct RecentNumbers {
  std::uint32_t area_code = 0;
  std::uint16_t hourly_cap = 0;  // full caps, the defaults applied
  std::uint16_t daily_cap = 0;
  core::CompactTime warm_from = 0;   // 0 when before recent_since (warmed up long ago) or none
  core::CompactTime rest_until = 0;  // likewise
  std::uint64_t numbers = 0;
};

struct AreaCodeCalls {
  std::uint32_t area_code = 0;  // the destination's
  std::int64_t quarter = 0;     // Unix quarter hours of the allocations (15 minutes: every time
                                // zone's local hours start on one)
  std::uint64_t calls = 0;      // allocations to it in that quarter hour
};

struct CoverageQuery {
  core::TimePoint since;  // the calls made at or after this
  // Numbers warming up since, or rested until, this time or later are RecentNumbers; never 0 (a
  // warm_from or rest_until of 0 means none).
  core::CompactTime recent_since = 1;
  std::uint16_t default_hourly_cap = 100;
  std::uint16_t default_daily_cap = 500;
};

struct CoverageData {
  std::vector<AreaCodeCapacity> capacity;  // by area code, every number at its full caps
  std::vector<RecentNumbers> recent;       // by area code
  std::vector<AreaCodeCalls> calls;        // by area code, then quarter hour
};

// The dashboard's activity (service/activity_history.h), read from the system of record so that it
// covers every instance of a cluster and outlives the process: the allocations made before
// `until`, per minute since `minutes_since` and per campaign and agent since `pairs_since`. Both
// reads take the reservations_until index's range, as the coverage's calls do.
struct ActivityQuery {
  core::TimePoint pairs_since;
  core::TimePoint minutes_since;
  core::TimePoint until;  // exclusive
};

struct MinuteCount {
  std::int64_t minute = 0;  // Unix minutes
  std::uint64_t allocations = 0;
};

struct CampaignAgentCount {
  std::string campaign;  // "" when the allocation named none
  std::string agent;
  std::uint64_t allocations = 0;
  core::TimePoint last{};  // the latest allocation's time
};

// At most this many (campaign, agent) pairs, the busiest; the rest count in `unlisted`, so that a
// flood of made-up agent names cannot blow up a dashboard's answer.
inline constexpr std::size_t kActivityMaxPairs = 5'000;

struct ActivityData {
  std::vector<MinuteCount> minutes;       // by minute; minutes without allocations left out
  std::vector<CampaignAgentCount> pairs;  // the busiest first
  std::uint64_t unlisted = 0;             // allocations of the pairs beyond kActivityMaxPairs
};

// GET /api/lookup: who used a number last and, given the party calling it back, which of its
// allocations called that party, so an inbound callback reaches the campaign or agent behind it.
// A number's reservations are linked newest to oldest (ReservationMade::previous_id), so the
// search reads the number's own reservations only, never the table: one primary-key read per
// reservation passed, which bounds it by count and by age (a search that finds nothing walks the
// whole bound: 10,000 steps measured 30-60 ms warm, over a second from a cold cache).
inline constexpr std::size_t kLookupMaxDepth = 10'000;
inline constexpr std::chrono::seconds kLookupDefaultWindow = std::chrono::hours(24 * 30);

struct LookupQuery {
  core::PhoneNumber caller_id = core::PhoneNumber::FromValidDigits(2'015'550'100);
  std::optional<core::PhoneNumber> from;  // the party calling back
  // How many of the number's reservations, newest first, are searched for `from`, and how far
  // back (made at or after `now - window`); `last` is the newest whatever its age.
  std::size_t max_depth = kLookupMaxDepth;
  std::chrono::seconds window = kLookupDefaultWindow;
};

struct LookupData {
  bool known = false;    // the number is in the pool, or was (deleted); kNotFound otherwise
  bool deleted = false;  // known from its deletion only: no longer in the pool, its calls kept
  std::optional<ReservationRecord> last;    // its newest reservation; none: never used (or pruned)
  std::optional<ReservationRecord> called;  // its newest reservation to `from`
};

// Automatic resting's inputs (service/auto_rest.h), read from the system of record. A number's
// calls are judged by their outcome: answered, or not picked up (no_answer, busy, voicemail);
// failed, other and unknown outcomes (no person was asked) are left out. Each number's calls are
// counted from `since` or from the end of its last rest (caller_ids.rest_until), whichever is
// later, so the calls that got it rested never count against it again (from the second after the
// end: core::FirstJudgedSecondAfterRest).
struct AnswerStatsQuery {
  core::TimePoint since;  // the rolling window's start
  core::TimePoint now;    // for the pools' resting counts
};

// A number's judged calls and a pool's rest counts, as core/answer_rate.h judges them.
using NumberAnswers = core::NumberAnswers;
using PoolRestCounts = core::PoolRestCounts;

struct AnswerStats {
  std::vector<NumberAnswers> numbers;  // numbers with at least one judged call, by caller_id
  std::vector<PoolRestCounts> pools;   // every pool that holds numbers, by name
};

struct StoreHealth {
  bool can_allocate = false;  // false: /health answers 503 "unhealthy"
  bool degraded = false;      // allocating without the system of record (cluster mode)
  std::string database;       // "healthy" / "unavailable: ..."
  std::string mode;           // "embedded" / "cluster"
};

class Store {
 public:
  virtual ~Store() = default;

  // Reserves the least recently used eligible caller-ID for the request (SPEC's tier ladder).
  // Errors: kRateLimited (with retry-after), kNoCallerIdAvailable, kUnavailable when the change
  // could not be made durable (nothing stays reserved then), kInternal.
  virtual void Allocate(core::AllocationRequest request, Callback<core::Allocation> done) = 0;

  // Ends a reservation early (idempotent: released=false when it had already ended). Completes
  // without waiting for the commit: a release lost in a crash only means the TTL ends it.
  // Errors: kInvalidArgument when neither id nor caller_id is given, kUnavailable.
  virtual void Release(core::ReleaseRequest request, Callback<core::ReleaseResult> done) = 0;

  // Creates a number. Errors: kConflict when it exists, kInvalidArgument, kUnavailable.
  virtual void AddNumber(core::NumberSpec spec, Callback<core::NumberView> done) = 0;
  // Changes a number. Errors: kNotFound, kInvalidArgument, kUnavailable.
  virtual void UpdateNumber(core::PhoneNumber caller_id, core::NumberPatch patch,
                            Callback<core::NumberView> done) = 0;
  // Removes a number (its live reservation ends). Errors: kNotFound, kUnavailable.
  virtual void DeleteNumber(core::PhoneNumber caller_id, Callback<void> done) = 0;
  virtual void GetNumber(core::PhoneNumber caller_id, Callback<core::NumberView> done) = 0;
  virtual void ListNumbers(NumberFilter filter, Callback<NumberPage> done) = 0;
  // Adds or changes many numbers at once; they are allocatable as soon as `done` runs.
  // REQUIRES: no caller_id twice in `items`. Completes once every change is durable.
  // Errors: kInvalidArgument (a name table is full), kUnavailable (nothing is kept then).
  virtual void ImportNumbers(std::vector<ImportItem> items, OnDuplicate on_duplicate,
                             Callback<ImportResult> done) = 0;

  // Campaigns → pools: Allocate serves a request from its campaign's pool. Every mapping, by
  // campaign name; unmapped campaigns are not listed.
  virtual void ListCampaignPools(Callback<std::vector<CampaignPool>> done) = 0;
  // Maps a campaign to a pool (replacing its mapping); allocations of the campaign use the pool
  // once `done` ran (cluster mode: on every other instance within about a second, at its next
  // tick). The pool need not hold numbers yet. Errors: kUnavailable (nothing changed then).
  virtual void SetCampaignPool(CampaignPool mapping, Callback<CampaignPool> done) = 0;
  // Unmaps a campaign: it allocates from pool "default" again. Errors: kNotFound when it was not
  // mapped, kUnavailable.
  virtual void RemoveCampaignPool(std::string campaign, Callback<void> done) = 0;

  // Pools' own settings: every pool that has some, by name (any other pool: the defaults).
  virtual void ListPoolSettings(Callback<std::vector<PoolSettings>> done) = 0;
  // Sets a pool's settings (the pool need not hold numbers yet); allocations use them once `done`
  // ran (cluster mode: on the other instances within about a second). Errors: kUnavailable.
  virtual void SetPoolSettings(PoolSettings settings, Callback<PoolSettings> done) = 0;

  virtual void ListReservations(ReservationQuery query,
                                Callback<std::vector<ReservationRecord>> done) = 0;
  virtual void ListLogs(LogQuery query, Callback<std::vector<StoredLog>> done) = 0;
  virtual void GetStats(Callback<StoreStats> done) = 0;
  // The coverage report's inputs, from the system of record (a scan of the numbers and of the
  // reservations since `query.since`: seconds at a million of each, off the caller's thread).
  // Errors: kUnavailable.
  virtual void GetCoverage(CoverageQuery query, Callback<CoverageData> done) {
    (void)query;
    done(core::Fail(core::Error::Unavailable("this store keeps no coverage data")));
  }

  // The dashboard's activity (ActivityQuery) from the system of record (a range of the
  // reservations: about a second at a million a day, off the caller's thread). Errors:
  // kUnavailable.
  virtual void GetActivity(ActivityQuery query, Callback<ActivityData> done) {
    (void)query;
    done(core::Fail(core::Error::Unavailable("this store keeps no activity history")));
  }

  // Who used a number last, and which of its allocations called `query.from` (LookupQuery), from
  // the system of record. Errors: kNotFound (the number is not in the pool), kUnavailable.
  virtual void Lookup(LookupQuery query, Callback<LookupData> done) {
    (void)query;
    done(core::Fail(core::Error::Unavailable("this store keeps no history to look up")));
  }

  // Automatic resting's inputs (AnswerStatsQuery), from the system of record (a scan of the
  // reservations since `query.since`; `done` may run on another thread). Errors: kUnavailable.
  virtual void GetAnswerStats(AnswerStatsQuery query, Callback<AnswerStats> done) {
    (void)query;
    done(core::Fail(core::Error::Unavailable("this store keeps no answer statistics")));
  }

  // Cluster mode: whether this instance takes this turn of a periodic job that one instance at a
  // time should run (`job` names it): true for the first ask within `period`, false for every
  // other ask within it (the holder's own included). A store serving one process (embedded)
  // always answers true.
  // Errors: kUnavailable.
  virtual void ClaimTurn(std::string job, std::chrono::milliseconds period, Callback<bool> done) {
    (void)job;
    (void)period;
    done(true);
  }

  // Cluster mode: a small text the instances share, by name, kept for `ttl` after each save (the
  // webhooks' alert levels, so that one instance goes on from where another left them). Load
  // answers nullopt when there is none (never saved, expired, or Redis came back empty). A store
  // serving one process shares nothing: Load answers nullopt and Save does nothing (the caller's
  // own memory is all there is).
  // Errors: kUnavailable.
  virtual void LoadShared(std::string name, Callback<std::optional<std::string>> done) {
    (void)name;
    done(std::optional<std::string>());
  }
  virtual void SaveShared(std::string name, std::string value, std::chrono::milliseconds ttl,
                          Callback<void> done) {
    (void)name;
    (void)value;
    (void)ttl;
    done({});
  }

  // Queues one api_logs row for the next group commit; never waits. Under overload rows are
  // dropped (and counted) rather than slowing allocation.
  virtual void AppendLog(ApiLogEntry entry) = 0;

  // Cheap, non-blocking snapshot of the store's state.
  virtual StoreHealth Health() const = 0;

  // Housekeeping driven by a timer in app/: returns numbers whose reservation expired or whose
  // window rolled over to the available order, so no request pays for a whole hour's worth, and
  // starts deleting history past its retention (store/history_pruner.h).
  virtual void Tick() = 0;

  // Blocks until everything queued so far is durable. Called at shutdown, off the I/O threads.
  // False when some of it could not be written (a failed commit, a system of record still away
  // when the journal gave up waiting): the stop then exits non-zero.
  virtual bool Flush() = 0;
};

}  // namespace cidrotor::store
