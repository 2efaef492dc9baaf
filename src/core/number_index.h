// The in-memory pool: every number, its usage and reservation, and the tiered LRU order of the
// available ones. Pure: no I/O, no threads, no clock of its own (every operation takes `now`).
//
// Eligibility: a number is available when it is active, not reserved, not resting (an admin's
// rest, until rest_until) and under its hourly and daily caps (calendar windows from the injected
// Calendar; a new number's daily cap is its warm-up's share of it, core/warm_up.h). A number that
// stops being available leaves the LRU order at once and is parked in one min-heap keyed by the
// instant it may come back (reservation expiry, next hour, next day, end of rest); Advance() pops
// what is due and re-checks it (DESIGN-NOTES §3). So allocation never scans, however many numbers
// of an area code are reserved or capped: every operation is O(log n) in the pool size.
//
// Sticky tier: the number each (pool, lead) was last given, while that is more recent than
// IndexOptions::sticky, in a hash map forgotten oldest first (a FIFO, one entry per lead). It
// costs memory per distinct lead called in the window (~100 bytes), nothing per number, and
// nothing to an allocation without a lead.
//
// Memory: 56 bytes of record, ~8 of lookup table and 12 of ordering state per number.
// Not thread-safe: the owning store serializes all calls (one mutex held for microseconds).
//
// Implemented in number_index.cc, and number_index_scans.cc for the listing and the counts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/allocation.h"
#include "core/calendar.h"
#include "core/chunked_vector.h"
#include "core/clock.h"
#include "core/interner.h"
#include "core/lru_forest.h"
#include "core/number.h"
#include "core/number_table.h"
#include "core/result.h"

namespace cidrotor::core {

struct IndexOptions {
  std::uint16_t default_hourly_cap = 100;  // DEFAULT_HOURLY_LIMIT: allocations per local hour
  std::uint16_t default_daily_cap = 500;   // DEFAULT_DAILY_LIMIT: allocations per local day
  Seconds default_ttl{300};                // DEFAULT_RESERVATION_TTL
  // STICKY_DAYS: how long a lead keeps the number it was given (the sticky tier); 0 = no tier.
  Seconds sticky{0};
  // WARMUP_DAYS: how many days a new number's daily cap ramps up (core/warm_up.h); 0 = off.
  std::uint16_t warmup_days = 0;
  // PROBATION_HOURS and PROBATION_DAILY_LIMIT: after a rest ends, the number's daily cap is at
  // most `probation_daily_cap` for this long (core/probation.h); 0 = no probation.
  Seconds probation{0};
  std::uint16_t probation_daily_cap = 30;
  // The most numbers the index holds (record slots, freed ones reused): what a leaf entry can
  // name. Lower only in tests, which cannot fill 16.7 million slots.
  std::uint32_t max_numbers = LeafEntry::kMaxRecords;
};

// A number's daily cap on the local day of `windows`: its full cap (its own or the default), the
// warm-up's share of it while it warms up (core/warm_up.h), and at most the probation's budget
// after a rest (core/probation.h). The index and the Redis store's views both read it from here.
std::uint16_t DailyCapOn(const Windows& windows, std::uint16_t full_cap, const NumberUsage& usage,
                         const IndexOptions& options);
// Whether a number is on probation on the local day of `windows` (core::OnProbation).
bool OnProbationOn(const Windows& windows, const NumberUsage& usage, const IndexOptions& options);
// NumberView::probation_until of a number that does not rest: when its probation ends
// (core::ProbationEnd) if it is on probation on the local day of `windows`; else 0.
CompactTime ProbationUntilOn(const Windows& windows, const NumberUsage& usage,
                             const IndexOptions& options);

struct NumberQuery {
  std::optional<std::uint32_t> area_code;
  std::optional<std::string> pool;
  std::optional<bool> active;
  std::size_t offset = 0;
  std::size_t limit = 100;
  std::optional<bool> resting;  // resting now (an admin's or an automatic rest), or not
  std::uint64_t after = 0;      // only numbers above these digits (0: from the first)
};

struct NumberList {
  std::vector<NumberView> numbers;  // ordered by caller_id
  std::size_t total = 0;            // all matches
};

struct AreaCodeCounts {
  std::uint32_t area_code = 0;
  std::uint32_t total = 0;
  std::uint32_t active = 0;
  std::uint32_t available = 0;
};

struct PoolCounts {
  std::string pool;
  std::uint32_t total = 0;
  std::uint32_t active = 0;
  std::uint32_t available = 0;
};

struct IndexCounts {
  std::uint64_t total = 0;
  std::uint64_t active = 0;
  std::uint64_t reserved = 0;              // live reservations, of active numbers or not
  std::uint64_t available = 0;
  std::uint64_t capped = 0;                // active, not reserved, at a cap
  std::uint64_t resting = 0;               // active, not reserved, resting (spam-label guard)
  std::vector<AreaCodeCounts> area_codes;  // ordered by area code
  std::vector<PoolCounts> pools;           // ordered by name
};

// A listing being gathered slice by slice (NumberIndex::ListSlice), so that a caller holding a
// lock for the index can let it go between slices: at a million numbers one pass takes
// milliseconds, which allocations would otherwise wait for.
struct PartialList {
  std::vector<std::pair<std::uint64_t, std::uint32_t>> matches;  // (digits, record slot)
  std::size_t next = 0;                                          // the next record slot to read
  bool no_such_pool = false;  // the query names a pool that holds no number: nothing matches
};

// Counts being gathered slice by slice (NumberIndex::CountSlice).
struct PartialCounts {
  IndexCounts counts;  // the totals; area_codes and pools stay empty until FinishCounts
  std::unordered_map<std::uint32_t, AreaCodeCounts> by_area;
  std::vector<PoolCounts> by_pool;  // by pool id (16 bits): an index, not a hash, per record
  std::size_t next = 0;             // the next record slot to count
};

class NumberIndex {
 public:
  NumberIndex(const Calendar& calendar, IndexOptions options);
  NumberIndex(const NumberIndex&) = delete;
  NumberIndex& operator=(const NumberIndex&) = delete;

  const IndexOptions& options() const { return options_; }

  // --- numbers ---------------------------------------------------------------------------------
  // Adds a new number; without a usage history it starts warming up today (ArrivingUsage).
  // Errors: kConflict if it exists; kInvalidArgument if a name table is full.
  [[nodiscard]] Result<NumberView> Add(const NumberSpec& spec, const NumberUsage& usage,
                                       TimePoint now);
  // Adds or replaces (spec and usage); a live reservation of the number is kept.
  [[nodiscard]] Result<NumberView> Put(const NumberSpec& spec, const NumberUsage& usage,
                                       TimePoint now);
  // Put without building a view: the start-up path for a million numbers.
  [[nodiscard]] Result<void> Load(const NumberSpec& spec, const NumberUsage& usage, TimePoint now);
  // Load of a number known to be absent (a start-up that loads numbers in ascending order into an
  // empty index): no lookup first. REQUIRES: the index does not hold spec.caller_id.
  [[nodiscard]] Result<void> LoadNew(const NumberSpec& spec, const NumberUsage& usage,
                                     TimePoint now);
  // Room for `numbers` in all (at most what the index may hold), before loading them: the lookup
  // table is not grown (and its entries' records read again) on the way.
  void Reserve(std::size_t numbers) {
    table_.Reserve(
        std::min<std::size_t>(numbers, std::min(options_.max_numbers, LeafEntry::kMaxRecords)));
  }
  // Put and Load take the usage as given, warm-up start included: a number entering the pool
  // through them (an import) takes this first (core::ArrivingUsage with today's local midnight).
  NumberUsage ArrivingUsage(const NumberUsage& usage, TimePoint now);
  // Changes the fields set in `patch`. Errors: kNotFound, kInvalidArgument.
  [[nodiscard]] Result<NumberView> Update(PhoneNumber caller_id, const NumberPatch& patch,
                                          TimePoint now);
  // Removes a number; returns its live reservation, which ends with it. Errors: kNotFound.
  [[nodiscard]] Result<std::optional<Reservation>> Remove(PhoneNumber caller_id, TimePoint now);
  std::optional<NumberView> Find(PhoneNumber caller_id, TimePoint now);
  NumberList List(const NumberQuery& query, TimePoint now);  // the slices below, in one go
  // Gathers the matches of up to `max_records` more record slots; true once all are read.
  bool ListSlice(const NumberQuery& query, PartialList& partial, std::size_t max_records,
                 TimePoint now);
  // Orders the matches up to the page's end. Touches no index state: run it without the lock.
  static void SortPage(const NumberQuery& query, PartialList& partial);
  // The page's views. A number deleted since its slice was read is left out; one whose slot
  // moved is found again by its digits.
  NumberList FinishList(const NumberQuery& query, const PartialList& partial, TimePoint now);
  std::size_t size() const { return table_.size(); }
  // Reservation ends queued, live and stale (an early release leaves its entry until the TTL
  // passes); at most about twice the live reservations plus kExpiryCompaction.
  std::size_t queued_expiries() const { return expiries_.size() + late_expiries_.size(); }
  static constexpr std::size_t kExpiryCompaction = 4096;

  // --- allocation ------------------------------------------------------------------------------
  // Reserves a number for the request from the first tier that has one: sticky (the number the
  // request's lead was last given in this pool, when it is available), then the least recently
  // used available number of the exchange, area code, state, any (SPEC's ladder).
  // Errors: kNoCallerIdAvailable; kInternal if an invariant broke (a bug: never over a cap, never
  // two live reservations of one number).
  // `usage_before` (optional) gets the picked number's usage as it was before the allocation,
  // for a store that must take the allocation back.
  [[nodiscard]] Result<Allocation> Allocate(const AllocationRequest& request, TimePoint now,
                                            std::uint64_t reservation_id,
                                            NumberUsage* usage_before = nullptr);
  // Ends a live reservation early. Named by id, or else by caller_id. released=false when it had
  // already ended. Errors: kInvalidArgument when neither is given; kNotFound for an unknown number.
  [[nodiscard]] Result<ReleaseResult> Release(const ReleaseRequest& request, TimePoint now);
  // Re-creates a reservation read back from the store at start-up. Errors: kNotFound (number
  // gone), kConflict (already reserved).
  [[nodiscard]] Result<void> Restore(const Reservation& reservation, TimePoint now);
  // Remembers that `lead` was given `caller_id` in `pool` at `at`: start-up reads the recent
  // allocations of leads back from the store, oldest first. Ignored when the sticky tier is off,
  // `at` is outside its window, or the pool has no number.
  void RestoreLead(std::string_view pool, std::uint64_t lead, PhoneNumber caller_id, TimePoint at,
                   TimePoint now);
  // Makes every number whose park time has come available again (or parks it anew), and forgets
  // leads whose sticky window has passed.
  void Advance(TimePoint now);

  // --- observation -----------------------------------------------------------------------------
  std::optional<NumberUsage> UsageOf(PhoneNumber caller_id) const;
  std::vector<Reservation> LiveReservations() const;
  IndexCounts Counts(TimePoint now);
  // The same in slices of at most `max_records` record slots, so that a caller holding a lock
  // around the index can release it in between: counting a million numbers takes milliseconds,
  // and allocations must not wait that long. Returns true once every slot is counted; then
  // FinishCounts names the pools. Between slices the numbers may change: the counts are those of
  // a moving pool, as any dashboard's are.
  bool CountSlice(PartialCounts& partial, std::size_t max_records, TimePoint now);
  IndexCounts FinishCounts(PartialCounts partial) const;
  // Numbers waiting for a window or a rest to end (not reservations: those wait in expiries).
  std::size_t parked() const { return parked_.size(); }
  // Leads the sticky tier remembers, and the entries of its queue for forgetting them (at most
  // one per lead).
  std::size_t sticky_leads() const { return leads_.size(); }
  std::size_t sticky_queued() const { return lead_times_.size(); }
  // Entries in the available order, stale ones included (for tests: an O(groups) walk).
  std::size_t order_entries() const { return forest_.Entries(); }

 private:
  struct Record {
    std::uint64_t digits = 0;
    CompactTime last_used = 0;
    CompactTime hour_start = 0;
    CompactTime day_start = 0;
    CompactTime rest_until = 0;     // resting (spam-label protection) until; 0 = not resting
    std::uint32_t reservation = 0;  // live reservation slot + 1; 0 = none
    std::uint32_t leaf = 0;         // its (pool, exchange) group in the forest
    std::uint16_t hourly_used = 0;
    std::uint16_t daily_used = 0;
    std::uint16_t hourly_cap = 0;  // 0 = default
    std::uint16_t daily_cap = 0;   // 0 = default
    std::uint16_t carrier = 0;     // interned
    std::uint16_t state = 0;       // interned
    LinkState link;                // linked = in the available order
    bool active = true;
    bool in_use = true;  // false for a freed slot awaiting reuse
    std::uint16_t last_used_ms = 0;  // NumberUsage::last_used_ms (in what was padding)
    CompactTime warm_from = 0;       // NumberUsage::warm_from (in what was padding)
  };
  static_assert(sizeof(Record) == 56, "a record's size is the memory per number (SPEC < 100 B)");

  // The forest's view of records: LRU key and heap position.
  struct RecordAccess {
    ChunkedVector<Record>* records;
    LruKey Key(std::uint32_t id) const {
      const Record& r = (*records)[id];
      return LruKey{r.last_used, r.last_used_ms, r.digits};
    }
    LinkState& Link(std::uint32_t id) { return (*records)[id].link; }
  };
  struct DigitsOf {
    const ChunkedVector<Record>* records;
    std::uint64_t operator()(std::uint32_t id) const { return (*records)[id].digits; }
  };

  struct LiveReservation {
    Reservation reservation;
    std::uint32_t record = 0;
    CompactTime until_ceil = 0;  // reserved_until rounded up to a second, for parking
  };

  // When a reservation ends by its TTL. Stale once it was released (the slot's id differs).
  struct Expiry {
    CompactTime at = 0;  // reserved_until rounded up to a second
    std::uint32_t slot = 0;
    std::uint64_t reservation_id = 0;
    friend bool operator>(const Expiry& a, const Expiry& b) { return a.at > b.at; }
  };

  struct Parked {
    CompactTime at = 0;
    std::uint32_t record = 0;
    friend bool operator>(const Parked& a, const Parked& b) { return a.at > b.at; }
  };

  // The sticky tier's key: a lead keeps one number per pool.
  struct LeadKey {
    std::uint64_t lead = 0;
    std::uint16_t pool = 0;
    friend bool operator==(const LeadKey&, const LeadKey&) = default;
  };
  struct LeadKeyHash {
    std::size_t operator()(const LeadKey& k) const {
      return std::hash<std::uint64_t>{}(k.lead ^ (std::uint64_t{k.pool} << 48));
    }
  };
  struct LeadNumber {
    std::uint64_t digits = 0;  // the number, not its record: a record slot is reused
    CompactTime at = 0;        // when the lead was given it
  };

  const Windows& WindowsAt(TimePoint now);
  std::uint16_t HourlyCap(const Record& r) const;
  std::uint16_t FullDailyCap(const Record& r) const;
  // Today's: the warm-up's share of the full cap while the number warms up.
  std::uint16_t DailyCap(const Record& r, const Windows& w) const;
  std::uint16_t WarmupDay(const Record& r, const Windows& w) const;
  NumberUsage UsageOf(const Record& r) const;
  std::uint16_t HourlyUsedNow(const Record& r, const Windows& w) const;
  std::uint16_t DailyUsedNow(const Record& r, const Windows& w) const;

  std::optional<std::uint32_t> FindRecord(PhoneNumber caller_id) const;
  Result<void> ApplySpec(std::uint32_t id, const NumberSpec& spec);
  Result<std::uint16_t> InternName(Interner& names, std::string_view name, const char* field);
  // A free record slot; none once the index holds LeafEntry::kMaxRecords numbers.
  std::optional<std::uint32_t> NewRecord();
  // Load and LoadNew: into `existing`'s record, or a new one when it is nullopt.
  Result<void> LoadInto(std::optional<std::uint32_t> existing, const NumberSpec& spec,
                        const NumberUsage& usage, TimePoint now);

  // Takes a record out of the available order if it is there. Every mutation of a record is
  // Detach → change → Settle, so the order never holds a stale key.
  void Detach(std::uint32_t id);
  // Puts the record back where its state says: available order, parked until a time, or neither.
  void Settle(std::uint32_t id, TimePoint now);
  // REQUIRES: the record is detached, active and has no live reservation.
  void Reserve(std::uint32_t id, const Reservation& reservation, TimePoint now);
  void EndReservation(std::uint32_t id);
  void QueueExpiry(const LiveReservation& live, std::uint32_t slot);
  // Drops the queued ends of reservations released early.
  void CompactExpiries();
  void Expire(const Expiry& expiry, TimePoint now);
  std::optional<std::uint32_t> PickInTier(MatchTier tier, std::uint16_t pool,
                                          PhoneNumber destination) const;
  std::optional<std::uint32_t> OldestInState(std::uint16_t pool, std::uint32_t npa) const;
  bool StickyOn() const { return options_.sticky.count() > 0; }
  // The request's lead's number in `pool` when it is still sticky, available now, and one the
  // ladder could give this call (with the pool's fallback `none`: of the destination's area
  // code or state).
  std::optional<std::uint32_t> StickyNumber(std::uint16_t pool, const AllocationRequest& request,
                                            TimePoint now) const;
  void RememberLead(LeadKey key, std::uint64_t digits, CompactTime at);
  void ForgetOldLeads(CompactTime now);

  NumberView View(std::uint32_t id, TimePoint now);

  const Calendar& calendar_;
  IndexOptions options_;
  ChunkedVector<Record> records_;  // never moves records; ids are positions
  std::vector<std::uint32_t> free_records_;
  RecordAccess access_{&records_};
  NumberTable<DigitsOf> table_{DigitsOf{&records_}};
  LruForest<RecordAccess> forest_{access_};
  Interner pools_;
  Interner carriers_;
  Interner states_;
  std::priority_queue<Parked, std::vector<Parked>, std::greater<>> parked_;
  // Reservation ends: in allocation order (a FIFO, O(1)), and a heap for the few that arrive out
  // of order (a shorter TTL than the one before, or reservations restored at start-up).
  std::deque<Expiry> expiries_;
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> late_expiries_;
  std::vector<LiveReservation> live_;  // slots; a free slot has reservation.id == 0
  std::vector<std::uint32_t> free_live_;
  std::unordered_map<std::uint64_t, std::uint32_t> live_by_id_;
  std::size_t live_count_ = 0;
  Windows windows_{};  // cache of the windows containing the last `now`
  std::unordered_map<LeadKey, LeadNumber, LeadKeyHash> leads_;
  std::deque<std::pair<CompactTime, LeadKey>> lead_times_;  // when each was remembered, in order
};

}  // namespace cidrotor::core
