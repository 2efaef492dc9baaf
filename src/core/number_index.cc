#include "core/number_index.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <utility>

#include "core/area_code_states.h"
#include "core/probation.h"
#include "core/warm_up.h"

namespace cidrotor::core {
namespace {

CompactTime CeilCompact(TimePoint t) {
  const CompactTime floor = ToCompact(t);
  return FromCompact(floor) < t ? floor + 1 : floor;
}

}  // namespace

bool OnProbationOn(const Windows& windows, const NumberUsage& usage, const IndexOptions& options) {
  // Most numbers never rested: no time conversions for them on the allocation path.
  if (usage.rest_until == 0) return false;
  return OnProbation(usage.rest_until, ToCompact(windows.day_start), ToCompact(windows.next_day),
                     options.probation);
}

CompactTime ProbationUntilOn(const Windows& windows, const NumberUsage& usage,
                             const IndexOptions& options) {
  return OnProbationOn(windows, usage, options) ? ProbationEnd(usage.rest_until, options.probation)
                                                : 0;
}

std::uint16_t DailyCapOn(const Windows& windows, std::uint16_t full_cap, const NumberUsage& usage,
                         const IndexOptions& options) {
  const std::uint16_t warm_cap = WarmDailyCap(
      full_cap, WarmupDay(usage.warm_from, ToCompact(windows.day_start), options.warmup_days),
      options.warmup_days);
  if (!OnProbationOn(windows, usage, options)) return warm_cap;
  return std::min(warm_cap, options.probation_daily_cap);
}

NumberIndex::NumberIndex(const Calendar& calendar, IndexOptions options)
    : calendar_(calendar), options_(options) {
  pools_.Intern(kDefaultPool);
}

// --- windows and caps ----------------------------------------------------------------------------

const Windows& NumberIndex::WindowsAt(TimePoint now) {
  if (!windows_.Contains(now)) windows_ = calendar_.WindowsAt(now);
  return windows_;
}

std::uint16_t NumberIndex::HourlyCap(const Record& r) const {
  return r.hourly_cap != 0 ? r.hourly_cap : options_.default_hourly_cap;
}
std::uint16_t NumberIndex::WarmupDay(const Record& r, const Windows& w) const {
  return core::WarmupDay(r.warm_from, ToCompact(w.day_start), options_.warmup_days);
}
std::uint16_t NumberIndex::FullDailyCap(const Record& r) const {
  return r.daily_cap != 0 ? r.daily_cap : options_.default_daily_cap;
}
std::uint16_t NumberIndex::DailyCap(const Record& r, const Windows& w) const {
  // Most numbers neither warm up nor ever rested: their full cap, with no time conversions on
  // the allocation path (measured: 3 % of an allocate+release in the core otherwise).
  if (r.warm_from == 0 && r.rest_until == 0) return FullDailyCap(r);
  NumberUsage usage;
  usage.warm_from = r.warm_from;
  usage.rest_until = r.rest_until;
  return DailyCapOn(w, FullDailyCap(r), usage, options_);
}
std::uint16_t NumberIndex::HourlyUsedNow(const Record& r, const Windows& w) const {
  return r.hour_start == ToCompact(w.hour_start) ? r.hourly_used : 0;
}
std::uint16_t NumberIndex::DailyUsedNow(const Record& r, const Windows& w) const {
  return r.day_start == ToCompact(w.day_start) ? r.daily_used : 0;
}

// --- placement in the order ----------------------------------------------------------------------

void NumberIndex::Detach(std::uint32_t id) {
  Record& r = records_[id];
  if (r.link.linked) forest_.Unlink(id, r.leaf);
}

void NumberIndex::Settle(std::uint32_t id, TimePoint now) {
  Record& r = records_[id];
  assert(!r.link.linked);
  if (!r.active || !r.in_use) return;  // comes back only through an admin change
  if (r.reservation != 0) return;      // its expiry (queued by Reserve) settles it again
  const Windows& w = WindowsAt(now);
  CompactTime back_at = 0;  // 0: available now
  if (r.rest_until > ToCompact(now)) back_at = std::max(back_at, r.rest_until);
  if (HourlyUsedNow(r, w) >= HourlyCap(r)) back_at = std::max(back_at, ToCompact(w.next_hour));
  if (DailyUsedNow(r, w) >= DailyCap(r, w)) back_at = std::max(back_at, ToCompact(w.next_day));
  if (back_at == 0) {
    forest_.Link(id, r.leaf);
  } else {
    parked_.push(Parked{back_at, id});
  }
}

void NumberIndex::QueueExpiry(const LiveReservation& live, std::uint32_t slot) {
  // Early releases leave their entries behind (Expire skips them): at allocation rate x TTL that
  // is memory (tens of MB under load), so they go once they outnumber the live reservations.
  // Amortized O(1): a compaction follows at least live_count_ + kExpiryCompaction queued ends.
  if (queued_expiries() > 2 * live_count_ + kExpiryCompaction) CompactExpiries();
  const Expiry expiry{live.until_ceil, slot, live.reservation.id};
  if (expiries_.empty() || expiries_.back().at <= expiry.at) {
    expiries_.push_back(expiry);  // the usual case: one TTL, so ends come in allocation order
  } else {
    late_expiries_.push(expiry);
  }
}

void NumberIndex::CompactExpiries() {
  const auto stale = [this](const Expiry& e) {
    return live_[e.slot].reservation.id != e.reservation_id;
  };
  std::erase_if(expiries_, stale);  // keeps the FIFO's order
  std::vector<Expiry> late;
  late.reserve(late_expiries_.size());
  for (; !late_expiries_.empty(); late_expiries_.pop()) {
    if (!stale(late_expiries_.top())) late.push_back(late_expiries_.top());
  }
  late_expiries_ = decltype(late_expiries_)(std::greater<>(), std::move(late));
}

void NumberIndex::Expire(const Expiry& expiry, TimePoint now) {
  // Stale when that reservation was released early (the slot is free or holds a newer one).
  if (live_[expiry.slot].reservation.id != expiry.reservation_id) return;
  const std::uint32_t id = live_[expiry.slot].record;
  EndReservation(id);  // the TTL passed without a release
  Settle(id, now);
}

void NumberIndex::Advance(TimePoint now) {
  const CompactTime now_compact = ToCompact(now);
  while (!expiries_.empty() && expiries_.front().at <= now_compact) {
    const Expiry expiry = expiries_.front();
    expiries_.pop_front();
    Expire(expiry, now);
  }
  while (!late_expiries_.empty() && late_expiries_.top().at <= now_compact) {
    const Expiry expiry = late_expiries_.top();
    late_expiries_.pop();
    Expire(expiry, now);
  }
  ForgetOldLeads(now_compact);
  while (!parked_.empty() && parked_.top().at <= now_compact) {
    const std::uint32_t id = parked_.top().record;
    parked_.pop();
    const Record& r = records_[id];
    // Entries go stale when a number came back early (admin change) or was reserved since.
    if (!r.in_use || r.link.linked || r.reservation != 0) continue;
    Settle(id, now);
  }
}

// --- numbers -------------------------------------------------------------------------------------

std::optional<std::uint32_t> NumberIndex::FindRecord(PhoneNumber caller_id) const {
  return table_.Find(caller_id.digits());
}

std::optional<std::uint32_t> NumberIndex::NewRecord() {
  if (!free_records_.empty()) {
    const std::uint32_t id = free_records_.back();
    free_records_.pop_back();
    // Keep the generation: leaf entries of the slot's previous number may still be queued, and
    // must not look current for the new one.
    const std::uint16_t generation = records_[id].link.generation;
    records_[id] = Record{};
    records_[id].link.generation = generation;
    return id;
  }
  static_assert(NumberTable<DigitsOf>::kMaxIds >= LeafEntry::kMaxRecords);
  if (records_.size() >= std::min(options_.max_numbers, LeafEntry::kMaxRecords)) {
    return std::nullopt;
  }
  records_.emplace_back();
  return static_cast<std::uint32_t>(records_.size() - 1);
}

Result<std::uint16_t> NumberIndex::InternName(Interner& names, std::string_view name,
                                              const char* field) {
  auto id = names.Intern(name);
  if (!id) return Fail(Error::InvalidArgument(field, "too many distinct values (65,536 max)"));
  return *id;
}

// REQUIRES: the record is detached. Names are interned before anything changes, so a failure
// leaves the record as it was.
Result<void> NumberIndex::ApplySpec(std::uint32_t id, const NumberSpec& spec) {
  auto pool = InternName(pools_, spec.pool.empty() ? kDefaultPool : spec.pool, "pool");
  if (!pool) return Fail(pool.error());
  auto carrier = InternName(carriers_, spec.carrier, "carrier");
  if (!carrier) return Fail(carrier.error());
  auto state = InternName(states_, spec.state, "state");
  if (!state) return Fail(state.error());
  Record& r = records_[id];
  r.digits = spec.caller_id.digits();
  r.leaf = forest_.LeafFor(*pool, spec.caller_id.exchange());
  r.carrier = *carrier;
  r.state = *state;
  r.hourly_cap = spec.hourly_cap;
  r.daily_cap = spec.daily_cap;
  r.active = spec.active;
  return {};
}

Result<NumberView> NumberIndex::Add(const NumberSpec& spec, const NumberUsage& usage,
                                    TimePoint now) {
  if (FindRecord(spec.caller_id)) {
    return Fail(
        Error::Conflict("caller_id " + spec.caller_id.ToString() + " already exists", "caller_id"));
  }
  return Put(spec, ArrivingUsage(usage, now), now);
}

NumberUsage NumberIndex::ArrivingUsage(const NumberUsage& usage, TimePoint now) {
  return core::ArrivingUsage(usage, ToCompact(WindowsAt(now).day_start));
}

Result<NumberView> NumberIndex::Put(const NumberSpec& spec, const NumberUsage& usage,
                                    TimePoint now) {
  if (auto loaded = Load(spec, usage, now); !loaded) return Fail(loaded.error());
  return View(*FindRecord(spec.caller_id), now);
}

Result<void> NumberIndex::Load(const NumberSpec& spec, const NumberUsage& usage, TimePoint now) {
  return LoadInto(FindRecord(spec.caller_id), spec, usage, now);
}

Result<void> NumberIndex::LoadNew(const NumberSpec& spec, const NumberUsage& usage, TimePoint now) {
  assert(!FindRecord(spec.caller_id));
  return LoadInto(std::nullopt, spec, usage, now);
}

Result<void> NumberIndex::LoadInto(std::optional<std::uint32_t> existing, const NumberSpec& spec,
                                   const NumberUsage& usage, TimePoint now) {
  const auto slot = existing ? existing : NewRecord();
  if (!slot) {
    return Fail(Error::Conflict(
        "the store is full: it holds at most " + std::to_string(records_.size()) + " numbers",
        "caller_id"));
  }
  const std::uint32_t id = *slot;
  if (existing) Detach(id);
  if (auto applied = ApplySpec(id, spec); !applied) {
    if (existing) {
      Settle(id, now);
    } else {
      records_[id].in_use = false;
      free_records_.push_back(id);
    }
    return Fail(applied.error());
  }
  Record& r = records_[id];
  r.last_used = usage.last_used;
  r.last_used_ms = usage.last_used_ms;
  r.hour_start = usage.hour_start;
  r.hourly_used = usage.hourly_used;
  r.day_start = usage.day_start;
  r.daily_used = usage.daily_used;
  r.warm_from = usage.warm_from;
  r.rest_until = usage.rest_until;
  if (!existing) table_.Insert(id);
  Settle(id, now);
  return {};
}

Result<NumberView> NumberIndex::Update(PhoneNumber caller_id, const NumberPatch& patch,
                                       TimePoint now) {
  const auto id = FindRecord(caller_id);
  if (!id) return Fail(Error::NotFound("no caller_id " + caller_id.ToString(), "caller_id"));
  NumberView current = View(*id, now);
  NumberSpec spec = current.spec;
  if (patch.carrier) spec.carrier = *patch.carrier;
  if (patch.pool) spec.pool = *patch.pool;
  if (patch.state) spec.state = *patch.state;
  if (patch.hourly_cap) spec.hourly_cap = *patch.hourly_cap;
  if (patch.daily_cap) spec.daily_cap = *patch.daily_cap;
  if (patch.active) spec.active = *patch.active;
  if (patch.rest_until) {
    current.usage.rest_until = PatchedRestUntil(current.usage.rest_until, *patch.rest_until,
                                                ToCompact(now), patch.rest_unless_resting);
  }
  return Put(spec, current.usage, now);
}

Result<std::optional<Reservation>> NumberIndex::Remove(PhoneNumber caller_id, TimePoint now) {
  Advance(now);
  const auto id = FindRecord(caller_id);
  if (!id) return Fail(Error::NotFound("no caller_id " + caller_id.ToString(), "caller_id"));
  Detach(*id);
  std::optional<Reservation> ended;
  if (records_[*id].reservation != 0) {
    ended = live_[records_[*id].reservation - 1].reservation;
    EndReservation(*id);
  }
  table_.Erase(*id);
  records_[*id].in_use = false;  // parked entries for it are skipped when they come due
  free_records_.push_back(*id);
  return ended;
}

std::optional<NumberView> NumberIndex::Find(PhoneNumber caller_id, TimePoint now) {
  Advance(now);
  const auto id = FindRecord(caller_id);
  if (!id) return std::nullopt;
  return View(*id, now);
}

// --- allocation ----------------------------------------------------------------------------------

std::optional<std::uint32_t> NumberIndex::PickInTier(MatchTier tier, std::uint16_t pool,
                                                     PhoneNumber destination) const {
  std::optional<std::uint32_t> group;
  switch (tier) {
    case MatchTier::kExchange:
      group = forest_.Find(Level::kExchange, pool, destination.exchange());
      break;
    case MatchTier::kAreaCode:
      group = forest_.Find(Level::kAreaCode, pool, destination.area_code());
      break;
    case MatchTier::kState:
      return OldestInState(pool, destination.area_code());
    case MatchTier::kAny:
      group = forest_.Find(Level::kPool, pool, 0);
      break;
    case MatchTier::kSticky:  // no order of its own: Allocate asks StickyNumber first
      break;
  }
  if (!group) return std::nullopt;
  return forest_.Oldest(*group);
}

// The least recently used number of the other area codes of `npa`'s state (its own has none
// left when this tier runs). A state has a few dozen area codes at most (California 36), so
// comparing their heads, kept in the forest, is a bounded number of O(1) looks.
std::optional<std::uint32_t> NumberIndex::OldestInState(std::uint16_t pool,
                                                        std::uint32_t npa) const {
  std::optional<std::uint32_t> best_group;
  LruKey best;
  for (const std::uint16_t other : AreaCodesOfState(npa)) {
    if (other == npa) continue;
    const auto group = forest_.Find(Level::kAreaCode, pool, other);
    if (!group) continue;
    const auto head = forest_.Head(*group);
    if (head && (!best_group || *head < best)) {
      best_group = group;
      best = *head;
    }
  }
  if (!best_group) return std::nullopt;
  return forest_.Oldest(*best_group);
}

Result<Allocation> NumberIndex::Allocate(const AllocationRequest& request, TimePoint now,
                                         std::uint64_t reservation_id, NumberUsage* usage_before) {
  Advance(now);
  if (reservation_id == 0 || live_by_id_.contains(reservation_id)) {
    return Fail(Error::Internal("reservation id " + std::to_string(reservation_id) + " reused"));
  }
  const std::string& pool_name = request.pool.empty() ? std::string(kDefaultPool) : request.pool;
  const auto pool = pools_.Find(pool_name);
  std::optional<std::uint32_t> picked;
  MatchTier match = MatchTier::kAny;
  if (pool && request.lead_id && StickyOn()) {
    if ((picked = StickyNumber(*pool, request, now))) match = MatchTier::kSticky;
  }
  if (pool && !picked) {
    static constexpr MatchTier kGeographic[] = {MatchTier::kExchange, MatchTier::kAreaCode,
                                                MatchTier::kState};
    if (request.destination.IsGeographic()) {
      for (MatchTier tier : kGeographic) {
        if ((picked = PickInTier(tier, *pool, request.destination))) {
          match = tier;
          break;
        }
      }
    }
    if (!picked && request.any_tier) {
      picked = PickInTier(MatchTier::kAny, *pool, request.destination);
    }
  }
  if (!picked) {
    return Fail(Error::NoCallerIdAvailable("no caller-ID available in pool '" + pool_name +
                                           "' for area code " +
                                           std::to_string(request.destination.area_code())));
  }

  const std::uint32_t id = *picked;
  Record& r = records_[id];
  const Windows& w = WindowsAt(now);
  if (r.reservation != 0 || HourlyUsedNow(r, w) >= HourlyCap(r) ||
      DailyUsedNow(r, w) >= DailyCap(r, w) || !r.active) {
    return Fail(Error::Internal("number " + PhoneNumber::FromValidDigits(r.digits).ToString() +
                                " was in the available order but is not available"));
  }
  if (usage_before != nullptr) *usage_before = UsageOf(r);
  Detach(id);
  // The leaf's next allocation takes its new front. Start loading that record now: in a big pool
  // the picked record is the allocation's one sure cache miss (a million records are 40 MB), and
  // the line is usually still cached when that allocation comes (measured at 1M numbers:
  // 0.42 -> 0.33 us per allocate+release in bench/core).
  if (auto next = forest_.LeafFront(r.leaf)) __builtin_prefetch(&records_[*next]);
  r.hourly_used = static_cast<std::uint16_t>(HourlyUsedNow(r, w) + 1);
  r.hour_start = ToCompact(w.hour_start);
  r.daily_used = static_cast<std::uint16_t>(DailyUsedNow(r, w) + 1);
  r.day_start = ToCompact(w.day_start);
  r.last_used = std::max<CompactTime>(ToCompact(now), 1);
  r.last_used_ms = MillisecondOf(now);

  Reservation reservation;
  reservation.id = reservation_id;
  reservation.caller_id = PhoneNumber::FromValidDigits(r.digits);
  reservation.destination = request.destination;
  reservation.campaign = request.campaign;
  reservation.agent = request.agent;
  reservation.pool = pool_name;
  reservation.lead_id = request.lead_id;
  reservation.match = match;
  reservation.reserved_at = now;
  // Whole seconds, so the parking heap (second resolution) releases it exactly on time.
  reservation.reserved_until =
      FromCompact(CeilCompact(now + request.ttl.value_or(options_.default_ttl)));
  Reserve(id, reservation, now);
  if (request.lead_id && StickyOn()) RememberLead({*request.lead_id, *pool}, r.digits, r.last_used);
  return Allocation{std::move(reservation), carriers_.Name(r.carrier)};
}

// --- the sticky tier -----------------------------------------------------------------------------

std::optional<std::uint32_t> NumberIndex::StickyNumber(std::uint16_t pool,
                                                       const AllocationRequest& request,
                                                       TimePoint now) const {
  const auto it = leads_.find(LeadKey{*request.lead_id, pool});
  if (it == leads_.end()) return std::nullopt;
  // Advance() forgets expired leads, but only to the second: check the window exactly.
  if (FromCompact(it->second.at) + options_.sticky <= now) return std::nullopt;
  const auto id = FindRecord(PhoneNumber::FromValidDigits(it->second.digits));
  if (!id) return std::nullopt;  // deleted since
  const Record& r = records_[*id];
  if (!r.link.linked || forest_.PoolOf(r.leaf) != pool) return std::nullopt;  // not available
  if (!request.any_tier) {
    const auto npa = static_cast<std::uint32_t>(r.digits / 10'000'000);
    const PhoneNumber& to = request.destination;
    const bool local =
        to.IsGeographic() &&
        (npa == to.area_code() || (!StateOfAreaCode(npa).empty() &&
                                   StateOfAreaCode(npa) == StateOfAreaCode(to.area_code())));
    if (!local) return std::nullopt;
  }
  return id;
}

// One FIFO entry per remembered lead, queued when it is first remembered: a lead called again
// only updates its map entry, so memory follows the leads, not the calls.
void NumberIndex::RememberLead(LeadKey key, std::uint64_t digits, CompactTime at) {
  const auto [it, inserted] = leads_.insert_or_assign(key, LeadNumber{digits, at});
  if (inserted) lead_times_.emplace_back(at, key);
}

void NumberIndex::ForgetOldLeads(CompactTime now) {
  const auto window = static_cast<CompactTime>(options_.sticky.count());
  while (!lead_times_.empty() && lead_times_.front().first + window <= now) {
    const LeadKey key = lead_times_.front().second;
    lead_times_.pop_front();
    const auto it = leads_.find(key);
    if (it == leads_.end()) continue;
    if (it->second.at + window <= now) {
      leads_.erase(it);
    } else {
      // Given a number again since: queued anew at that time. The queue may then be out of
      // order, which only delays forgetting (StickyNumber checks the window itself).
      lead_times_.emplace_back(it->second.at, key);
    }
  }
}

void NumberIndex::RestoreLead(std::string_view pool_name, std::uint64_t lead, PhoneNumber caller_id,
                              TimePoint at, TimePoint now) {
  if (!StickyOn() || at + options_.sticky <= now) return;
  const auto pool = pools_.Find(pool_name.empty() ? kDefaultPool : pool_name);
  if (!pool) return;
  const LeadKey key{lead, *pool};
  const auto it = leads_.find(key);
  const CompactTime at_compact = std::max<CompactTime>(ToCompact(at), 1);
  if (it != leads_.end() && it->second.at > at_compact) return;  // a later one is known
  RememberLead(key, caller_id.digits(), at_compact);
}

Result<void> NumberIndex::Restore(const Reservation& reservation, TimePoint now) {
  const auto id = FindRecord(reservation.caller_id);
  if (!id) {
    return Fail(Error::NotFound("no caller_id " + reservation.caller_id.ToString(), "caller_id"));
  }
  if (records_[*id].reservation != 0 || live_by_id_.contains(reservation.id)) {
    return Fail(Error::Conflict("caller_id " + reservation.caller_id.ToString() +
                                " already has a live reservation"));
  }
  Detach(*id);
  Reserve(*id, reservation, now);
  return {};
}

void NumberIndex::Reserve(std::uint32_t id, const Reservation& reservation, TimePoint now) {
  std::uint32_t slot;
  if (!free_live_.empty()) {
    slot = free_live_.back();
    free_live_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(live_.size());
    live_.emplace_back();
  }
  live_[slot] = LiveReservation{reservation, id, CeilCompact(reservation.reserved_until)};
  QueueExpiry(live_[slot], slot);
  live_by_id_.emplace(reservation.id, slot);
  ++live_count_;
  records_[id].reservation = slot + 1;
  Settle(id, now);
}

void NumberIndex::EndReservation(std::uint32_t id) {
  Record& r = records_[id];
  const std::uint32_t slot = r.reservation - 1;
  live_by_id_.erase(live_[slot].reservation.id);
  live_[slot] = LiveReservation{};
  free_live_.push_back(slot);
  --live_count_;
  r.reservation = 0;
}

Result<ReleaseResult> NumberIndex::Release(const ReleaseRequest& request, TimePoint now) {
  if (!request.reservation_id && !request.caller_id) {
    return Fail(Error::InvalidArgument("reservation_id", "give reservation_id or caller_id"));
  }
  Advance(now);  // a reservation whose TTL passed has ended: released=false
  std::optional<std::uint32_t> id;
  if (request.reservation_id) {
    auto it = live_by_id_.find(*request.reservation_id);
    if (it == live_by_id_.end()) return ReleaseResult{};
    id = live_[it->second].record;
    if (request.caller_id && records_[*id].digits != request.caller_id->digits()) {
      return ReleaseResult{};  // the id names another number's reservation: nothing to end
    }
  } else {
    id = FindRecord(*request.caller_id);
    if (!id) {
      return Fail(Error::NotFound("no caller_id " + request.caller_id->ToString(), "caller_id"));
    }
    if (records_[*id].reservation == 0) return ReleaseResult{};
  }
  ReleaseResult result;
  result.released = true;
  result.reservation = live_[records_[*id].reservation - 1].reservation;
  EndReservation(*id);
  Settle(*id, now);
  return result;
}

// --- observation ---------------------------------------------------------------------------------

NumberView NumberIndex::View(std::uint32_t id, TimePoint now) {
  const Record& r = records_[id];
  const Windows& w = WindowsAt(now);
  NumberView view;
  view.spec.caller_id = PhoneNumber::FromValidDigits(r.digits);
  view.spec.carrier = carriers_.Name(r.carrier);
  view.spec.pool = pools_.Name(forest_.PoolOf(r.leaf));
  view.spec.state = states_.Name(r.state);
  view.spec.hourly_cap = r.hourly_cap;
  view.spec.daily_cap = r.daily_cap;
  view.spec.active = r.active;
  view.usage = UsageOf(r);
  view.effective_hourly_cap = HourlyCap(r);
  view.effective_daily_cap = FullDailyCap(r);
  view.daily_cap_today = DailyCap(r, w);
  view.warmup_day = WarmupDay(r, w);
  view.hourly_used_now = HourlyUsedNow(r, w);
  view.daily_used_now = DailyUsedNow(r, w);
  view.reserved = r.reservation != 0;
  view.resting = r.rest_until > ToCompact(now);
  if (!view.resting) view.probation_until = ProbationUntilOn(w, view.usage, options_);
  view.available = r.link.linked;
  return view;
}

std::optional<NumberUsage> NumberIndex::UsageOf(PhoneNumber caller_id) const {
  const auto id = FindRecord(caller_id);
  if (!id) return std::nullopt;
  return UsageOf(records_[*id]);
}

NumberUsage NumberIndex::UsageOf(const Record& r) const {
  return NumberUsage{r.last_used,  r.hour_start, r.day_start,  r.hourly_used,
                     r.daily_used, r.warm_from,  r.rest_until, r.last_used_ms};
}

std::vector<Reservation> NumberIndex::LiveReservations() const {
  std::vector<Reservation> out;
  out.reserve(live_count_);
  for (const LiveReservation& live : live_) {
    if (live.reservation.id != 0) out.push_back(live.reservation);
  }
  return out;
}

}  // namespace cidrotor::core
