#include "store/memory/indexed_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "store/deleted_usage.h"
#include "store/live_reservations.h"

namespace cidrotor::store {
namespace {

constexpr char kStalledDetail[] =
    "commits stall or fail (a stuck or full disk, or a lock another process holds)";

// Record slots read per hold of the lock by GetStats and ListNumbers (~0.1 ms each here).
constexpr std::size_t kScanSlice = 16'384;

// Numbers that fail to load are named in the log up to this many; all are counted.
constexpr std::size_t kNamedSkips = 20;

// Streams the journal's state into the index at start-up.
class IndexLoader final : public LoadSink {
 public:
  IndexLoader(core::NumberIndex& index, core::AgentRateLimiter& limiter,
              std::unordered_map<std::uint64_t, DeletedUsage>& deleted, NameTable& campaign_pools,
              NameTable& pool_fallbacks, core::TimePoint now)
      : index_(index),
        limiter_(limiter),
        deleted_(deleted),
        campaign_pools_(campaign_pools),
        pool_fallbacks_(pool_fallbacks),
        now_(now) {}

  void ExpectNumbers(std::size_t count) override { index_.Reserve(count); }
  void OnNumber(const core::NumberSpec& spec, const core::NumberUsage& usage) override {
    // The index starts empty and the numbers come in ascending order (LoadSink): each one above
    // the last is new, and needs no lookup first. Anything else is looked up as an import would.
    const bool new_one = spec.caller_id.digits() > last_digits_;
    auto loaded = new_one ? index_.LoadNew(spec, usage, now_) : index_.Load(spec, usage, now_);
    if (new_one) last_digits_ = spec.caller_id.digits();
    if (!loaded) {
      // The first few by name; all of them in the count Open() reports.
      if (++skipped_numbers_ <= kNamedSkips) {
        spdlog::warn("load: skipped number {}: {}", spec.caller_id.ToString(),
                     loaded.error().ToString());
      }
    }
  }
  std::size_t skipped_numbers() const { return skipped_numbers_; }
  void OnLiveReservation(const core::Reservation& reservation) override {
    if (auto restored = index_.Restore(reservation, now_); !restored) {
      spdlog::warn("load: skipped reservation {}: {}", reservation.id, restored.error().ToString());
    }
  }
  core::Seconds LeadWindow() const override { return index_.options().sticky; }
  void OnLeadAllocation(const LeadAllocation& lead) override {
    index_.RestoreLead(lead.pool, lead.lead_id, lead.caller_id, lead.at, now_);
  }
  // A restart keeps each agent's last minute of allocations: the limit holds across it.
  core::Seconds AgentWindow() const override { return core::AgentRateLimiter::kWindow; }
  void OnAgentAllocation(const AgentAllocation& allocation) override {
    limiter_.Record(allocation.agent, allocation.at);
  }
  void OnDeletedNumber(core::PhoneNumber caller_id, const DeletedUsage& kept) override {
    deleted_[caller_id.digits()] = kept;
  }
  void OnCampaignPool(const CampaignPool& mapping) override {
    campaign_pools_.Set(mapping.campaign, mapping.pool);
  }
  void OnPoolSettings(const PoolSettings& settings) override {
    pool_fallbacks_.Set(settings.pool, FallbackName(settings.fallback_any));
  }

 private:
  core::NumberIndex& index_;
  core::AgentRateLimiter& limiter_;
  std::unordered_map<std::uint64_t, DeletedUsage>& deleted_;
  NameTable& campaign_pools_;
  NameTable& pool_fallbacks_;
  core::TimePoint now_;
  std::uint64_t last_digits_ = 0;
  std::size_t skipped_numbers_ = 0;
};

}  // namespace

core::Result<std::unique_ptr<IndexedStore>> IndexedStore::Open(const core::Clock& clock,
                                                               const core::Calendar& calendar,
                                                               IndexedStoreOptions options,
                                                               std::unique_ptr<Journal> journal) {
  std::unique_ptr<IndexedStore> store(
      new IndexedStore(clock, calendar, options, std::move(journal)));
  std::lock_guard lock(store->mu_);
  IndexLoader loader(store->index_, store->limiter_, store->deleted_, store->campaign_pools_,
                     store->pool_fallbacks_, clock.Now());
  auto summary = store->journal_->Load(clock.Now(), loader);
  if (!summary) return core::Fail(summary.error());
  store->next_reservation_id_ = summary->max_reservation_id + 1;
  for (const auto& [digits, kept] : store->deleted_) {
    store->deleted_by_time_.emplace(kept.keep_until, digits);
  }
  if (const std::size_t skipped = loader.skipped_numbers(); skipped > 0) {
    // Stored but not allocatable: say so loudly, not once per number in a scroll of warnings.
    spdlog::error(
        "load: {} of the {} stored numbers could not be loaded and are not in rotation (see the "
        "warnings above for the first {}); they stay in the store untouched",
        skipped, summary->numbers, std::min(skipped, kNamedSkips));
  }
  spdlog::info("store loaded: numbers={} live_reservations={} campaign_pools={}",
               summary->numbers - loader.skipped_numbers(), summary->live_reservations,
               summary->campaign_pools);
  return store;
}

IndexedStore::IndexedStore(const core::Clock& clock, const core::Calendar& calendar,
                           IndexedStoreOptions options, std::unique_ptr<Journal> journal)
    : clock_(clock),
      commit_deadline_(options.commit_deadline),
      journal_(std::move(journal)),
      index_(calendar, options.index),
      limiter_(options.rate_limit_per_agent),
      pruner_(*journal_, options.retention) {}

IndexedStore::~IndexedStore() {
  scans_.Stop();  // the scans accepted run to their end first: they read the index
  journal_->Flush();
}

template <class T>
void IndexedStore::OffCallersThread(Callback<T> done, std::function<T()> scan) {
  auto shared_done = std::make_shared<Callback<T>>(std::move(done));
  if (!scans_.Post([shared_done, scan = std::move(scan)] { (*shared_done)(scan()); })) {
    (*shared_done)(core::Fail(core::Error::Unavailable(
        "store: " + std::to_string(kMaxWaitingScans) +
        " listings and counts of the whole pool are waiting already; try again")));
  }
}

template <class T>
void IndexedStore::CommitThen(JournalEntry entry, T value, Callback<T> done,
                              std::function<void()> undo) {
  std::vector<JournalEntry> entries;
  entries.push_back(std::move(entry));
  journal_->Append(std::move(entries), [value = std::move(value), done = std::move(done),
                                        undo = std::move(undo)](core::Result<void> durable) {
    if (durable) {
      done(value);
      return;
    }
    spdlog::error("store: change not durable, undone: {}", durable.error().ToString());
    if (undo) undo();
    done(core::Fail(durable.error()));
  });
}

void IndexedStore::Allocate(core::AllocationRequest request, Callback<core::Allocation> done) {
  // A commit that hangs (a stuck disk, a lock another process holds) would hold this allocation
  // and every one after it: fail fast instead, until it ends.
  if (journal_->Stalled()) {
    done(core::Fail(core::Error::Unavailable(kStalledDetail)));
    return;
  }
  const auto asked = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  // Read under mu_: the index sees time in the order it is changed (two requests at an hour's
  // end otherwise reach it out of order, and the later window's count is overwritten).
  const core::TimePoint now = NowLocked();
  request.pool = campaign_pools_.Lookup(request.campaign);
  request.any_tier = FallbackIsAny(
      pool_fallbacks_.Lookup(request.pool.empty() ? core::kDefaultPool : request.pool));
  if (auto allowed = limiter_.Check(request.agent, now); !allowed) {
    lock.unlock();
    done(core::Fail(allowed.error()));
    return;
  }
  core::NumberUsage before;
  auto allocation = index_.Allocate(request, now, next_reservation_id_, &before);
  if (!allocation) {
    lock.unlock();
    if (allocation.error().code() == core::ErrorCode::kNoCallerIdAvailable) ++no_caller_id_;
    if (allocation.error().code() == core::ErrorCode::kInternal) {
      spdlog::error("allocate: {}", allocation.error().ToString());
    }
    done(core::Fail(allocation.error()));
    return;
  }
  ++next_reservation_id_;
  limiter_.Record(request.agent, now);
  ++allocations_;
  const core::Reservation& reservation = allocation->reservation;
  ReservationMade made{reservation, *index_.UsageOf(reservation.caller_id)};
  const std::uint64_t id = reservation.id;
  // Committed too late for its caller: released, and answered as the failure it is to them.
  Callback<core::Allocation> answer = [this, asked, id,
                                       done = std::move(done)](core::Result<core::Allocation> r) {
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - asked);
    if (r && took > commit_deadline_) {
      spdlog::warn("allocate: reservation {} committed after {} ms: released", id, took.count());
      core::ReleaseRequest release;
      release.reservation_id = id;
      Release(release, [](const core::Result<core::ReleaseResult>&) {});
      done(core::Fail(core::Error::Unavailable("the store took " + std::to_string(took.count()) +
                                               " ms to commit the allocation; it was released")));
      return;
    }
    done(std::move(r));
  };
  // Undo: nothing of the allocation stays (a disk full for a minute at dialer rates would
  // otherwise leave the whole pool capped until the day ends, and agents limited).
  // Copied before the call: its arguments move `made` and the allocation, in no set order.
  const core::NumberUsage after = made.usage;
  const core::PhoneNumber number = reservation.caller_id;
  CommitThen<core::Allocation>(std::move(made), std::move(*allocation), std::move(answer),
                               [this, id, number, before, after, agent = request.agent, now] {
                                 std::lock_guard undo_lock(mu_);
                                 const core::TimePoint undone_at = NowLocked();
                                 core::ReleaseRequest release;
                                 release.reservation_id = id;
                                 (void)index_.Release(release, undone_at);
                                 TakeBackUsage(number, before, after, undone_at);
                                 limiter_.Forget(agent, now);
                               });
}

void IndexedStore::TakeBackUsage(core::PhoneNumber number, const core::NumberUsage& before,
                                 const core::NumberUsage& after, core::TimePoint now) {
  auto view = index_.Find(number, now);
  if (!view) return;  // deleted since
  // What the allocation added, off what the number holds now: later allocations of it (which
  // did commit) keep theirs, and a window that has begun since owes it nothing.
  core::NumberUsage usage = view->usage;
  if (usage.hour_start == after.hour_start && usage.hourly_used > 0) --usage.hourly_used;
  if (usage.day_start == after.day_start && usage.daily_used > 0) --usage.daily_used;
  if (usage.last_used == after.last_used && usage.last_used_ms == after.last_used_ms) {
    usage.last_used = before.last_used;
    usage.last_used_ms = before.last_used_ms;
  }
  (void)index_.Put(view->spec, usage, now);
}

void IndexedStore::Release(core::ReleaseRequest request, Callback<core::ReleaseResult> done) {
  std::unique_lock lock(mu_);
  const core::TimePoint now = NowLocked();
  auto result = index_.Release(request, now);
  auto record = result ? ReleaseRecord(*result, request, now) : std::nullopt;
  if (!record) {
    lock.unlock();
    done(std::move(result));
    return;
  }
  if (result->released) ++releases_;
  std::vector<JournalEntry> entries;
  entries.push_back(std::move(*record));
  // Answered without waiting for the commit: a release lost with the process only means the
  // reservation ends by its TTL instead (the safe direction), and the journal's order still puts
  // it before any later allocation of the number, so a restart never sees that one without it.
  // One whose commit fails is written again (SqliteJournal keeps releases for retry_releases_for).
  journal_->Append(std::move(entries), [](core::Result<void> durable) {
    if (!durable) spdlog::warn("store: release not recorded: {}", durable.error().ToString());
  });
  lock.unlock();
  done(std::move(*result));
}

void IndexedStore::AddNumber(core::NumberSpec spec, Callback<core::NumberView> done) {
  std::unique_lock lock(mu_);
  const core::TimePoint now = NowLocked();
  // Deleted while its usage still matters: it comes back with it, as it was.
  const auto kept =
      index_.UsageOf(spec.caller_id) ? std::nullopt : TakeDeleted(spec.caller_id, now);
  auto view =
      kept ? index_.Put(spec, kept->usage, now) : index_.Add(spec, core::NumberUsage{}, now);
  if (!view) {
    if (kept) RememberDeleted(spec.caller_id.digits(), *kept);
    lock.unlock();
    done(core::Fail(view.error()));
    return;
  }
  const core::PhoneNumber number = spec.caller_id;
  CommitThen<core::NumberView>(NumberUpserted{view->spec, view->usage}, *view, std::move(done),
                               [this, number, kept] {
                                 std::lock_guard undo_lock(mu_);
                                 (void)index_.Remove(number, NowLocked());
                                 if (kept) RememberDeleted(number.digits(), *kept);
                               });
}

void IndexedStore::UpdateNumber(core::PhoneNumber caller_id, core::NumberPatch patch,
                                Callback<core::NumberView> done) {
  std::unique_lock lock(mu_);
  const core::TimePoint now = NowLocked();
  auto before = index_.Find(caller_id, now);
  auto view = index_.Update(caller_id, patch, now);
  if (!view) {
    lock.unlock();
    done(core::Fail(view.error()));
    return;
  }
  CommitThen<core::NumberView>(NumberUpserted{view->spec, view->usage}, *view, std::move(done),
                               [this, previous = *before] {
                                 std::lock_guard undo_lock(mu_);
                                 RestoreSpec(previous, NowLocked());
                               });
}

void IndexedStore::RestoreSpec(const core::NumberView& previous, core::TimePoint now) {
  core::NumberUsage usage = previous.usage;
  if (const auto current = index_.UsageOf(previous.spec.caller_id)) {
    usage = *current;
    usage.rest_until = previous.usage.rest_until;  // a PATCH may have rested it
    usage.warm_from = previous.usage.warm_from;
  }
  (void)index_.Put(previous.spec, usage, now);
}

void IndexedStore::DeleteNumber(core::PhoneNumber caller_id, Callback<void> done) {
  std::unique_lock lock(mu_);
  const core::TimePoint now = NowLocked();
  auto before = index_.Find(caller_id, now);
  auto removed = index_.Remove(caller_id, now);
  if (!removed) {
    lock.unlock();
    done(core::Fail(removed.error()));
    return;
  }
  // One append: its live reservation ends with it, in the same commit.
  std::vector<JournalEntry> entries;
  if (*removed) {
    entries.push_back(ReservationReleased{(*removed)->id, now, core::CallOutcome::kUnknown, {}});
  }
  const auto earlier = deleted_.find(caller_id.digits());
  const std::optional<DeletedUsage> kept_before =
      earlier == deleted_.end() ? std::nullopt : std::optional(earlier->second);
  entries.push_back(NumberDeleted{caller_id, KeepDeleted(*before, now), now});
  journal_->Append(std::move(entries), [this, done = std::move(done), previous = *before,
                                        kept_before, live = *removed](core::Result<void> durable) {
    if (!durable) {
      spdlog::error("store: delete not durable, undone: {}", durable.error().ToString());
      std::lock_guard undo_lock(mu_);
      const core::TimePoint undone_at = NowLocked();
      (void)index_.Put(previous.spec, previous.usage, undone_at);
      // Its call is still on the line (the release was rolled back with the delete): the number
      // must not be handed out again until that reservation ends.
      if (live && live->reserved_until > undone_at) {
        if (auto restored = index_.Restore(*live, undone_at); !restored) {
          spdlog::warn("store: reservation {} of {} not restored: {}", live->id,
                       previous.spec.caller_id.ToString(), restored.error().ToString());
        }
      }
      deleted_.erase(previous.spec.caller_id.digits());
      if (kept_before) RememberDeleted(previous.spec.caller_id.digits(), *kept_before);
    }
    done(std::move(durable));
  });
}

void IndexedStore::GetNumber(core::PhoneNumber caller_id, Callback<core::NumberView> done) {
  std::unique_lock lock(mu_);
  auto view = index_.Find(caller_id, NowLocked());
  lock.unlock();
  if (!view) {
    done(core::Fail(core::Error::NotFound("no caller_id " + caller_id.ToString(), "caller_id")));
    return;
  }
  done(std::move(*view));
}

void IndexedStore::ListNumbers(NumberFilter filter, Callback<NumberPage> done) {
  OffCallersThread<NumberPage>(std::move(done), [this, filter = std::move(filter)] {
    core::NumberQuery query{filter.area_code,
                            filter.pool,
                            filter.active,
                            filter.offset,
                            filter.limit,
                            filter.resting,
                            filter.after ? filter.after->digits() : 0};
    // In slices, the lock released between them, and sorted without it: at a million numbers a
    // whole listing held allocations for 8 ms (the first page) to 68 ms (the last).
    core::PartialList partial;
    std::unique_lock lock(mu_);
    while (!index_.ListSlice(query, partial, kScanSlice, NowLocked())) {
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
    }
    lock.unlock();
    core::NumberIndex::SortPage(query, partial);
    lock.lock();
    core::NumberList list = index_.FinishList(query, partial, NowLocked());
    lock.unlock();
    return NumberPage{std::move(list.numbers), list.total};
  });
}

void IndexedStore::ListReservations(ReservationQuery query,
                                    Callback<std::vector<ReservationRecord>> done) {
  if (!query.live_only) {
    journal_->ListReservations(query, clock_.Now(), std::move(done));
    return;
  }
  std::unique_lock lock(mu_);
  index_.Advance(NowLocked());
  std::vector<core::Reservation> live = index_.LiveReservations();
  lock.unlock();
  done(NewestLiveRecords(std::move(live), query.limit));
}

void IndexedStore::ListLogs(LogQuery query, Callback<std::vector<StoredLog>> done) {
  journal_->ListLogs(query, std::move(done));
}

void IndexedStore::GetStats(Callback<StoreStats> done) {
  OffCallersThread<StoreStats>(std::move(done), [this] {
    // In slices, the lock released between them: allocations wait for one slice at most, not for
    // a count of the whole pool (milliseconds at a million numbers, on every dashboard refresh
    // and /metrics scrape).
    core::PartialCounts partial;
    std::unique_lock lock(mu_);
    while (!index_.CountSlice(partial, kScanSlice, NowLocked())) {
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
    }
    core::IndexCounts counts = index_.FinishCounts(std::move(partial));
    lock.unlock();
    StoreStats stats;
    stats.total_numbers = counts.total;
    stats.active_numbers = counts.active;
    stats.reserved_numbers = counts.reserved;
    stats.available_numbers = counts.available;
    stats.capped_numbers = counts.capped;
    stats.resting_numbers = counts.resting;
    stats.allocations_total = allocations_;
    stats.releases_total = releases_;
    stats.no_caller_id_total = no_caller_id_;
    for (const core::AreaCodeCounts& area : counts.area_codes) {
      stats.area_codes.push_back({area.area_code, area.total, area.active, area.available});
    }
    for (core::PoolCounts& pool : counts.pools) {
      stats.pools.push_back({std::move(pool.pool), pool.total, pool.active, pool.available});
    }
    std::stable_sort(stats.area_codes.begin(), stats.area_codes.end(),
                     [](const AreaCodeAvailability& a, const AreaCodeAvailability& b) {
                       return a.available < b.available;
                     });
    stats.journal_queue_depth = journal_->QueueDepth();
    return stats;
  });
}

void IndexedStore::AppendLog(ApiLogEntry entry) { journal_->AppendLog(std::move(entry)); }

StoreHealth IndexedStore::Health() const {
  StoreHealth health;
  health.mode = "embedded";
  const bool stalled = journal_->Stalled();
  health.can_allocate = journal_->Healthy() && !stalled;
  health.database = health.can_allocate ? "healthy"
                    : stalled           ? std::string("unavailable: ") + kStalledDetail
                                        : "unavailable: the last commit failed";
  return health;
}

void IndexedStore::Tick() {
  core::TimePoint now;
  {
    std::lock_guard lock(mu_);
    now = NowLocked();
    index_.Advance(now);
    limiter_.Prune(now);
    SweepDeleted(now);
  }
  pruner_.Tick(now);
}

DeletedUsage IndexedStore::KeepDeleted(const core::NumberView& deleted, core::TimePoint now) {
  const DeletedUsage kept =
      KeepOnDelete(deleted.usage, core::ToCompact(now), index_.options().probation);
  if (kept.keep_until != 0) {
    RememberDeleted(deleted.spec.caller_id.digits(), kept);
  } else {
    deleted_.erase(deleted.spec.caller_id.digits());
  }
  return kept;
}

std::optional<DeletedUsage> IndexedStore::TakeDeleted(core::PhoneNumber caller_id,
                                                      core::TimePoint now) {
  const auto it = deleted_.find(caller_id.digits());
  if (it == deleted_.end()) return std::nullopt;
  const DeletedUsage kept = it->second;
  deleted_.erase(it);
  if (!StillKept(kept, core::ToCompact(now))) return std::nullopt;
  return kept;
}

std::size_t IndexedStore::KeptDeletedNumbers() const {
  std::lock_guard lock(mu_);
  return deleted_.size();
}

void IndexedStore::RememberDeleted(std::uint64_t digits, const DeletedUsage& kept) {
  deleted_[digits] = kept;
  deleted_by_time_.emplace(kept.keep_until, digits);
}

void IndexedStore::SweepDeleted(core::TimePoint now) {
  const core::CompactTime at = core::ToCompact(now);
  while (!deleted_by_time_.empty() && deleted_by_time_.top().first <= at) {
    const auto [until, digits] = deleted_by_time_.top();
    deleted_by_time_.pop();
    const auto it = deleted_.find(digits);
    if (it != deleted_.end() && it->second.keep_until == until) deleted_.erase(it);
  }
}

bool IndexedStore::Flush() { return journal_->Flush(); }

core::TimePoint IndexedStore::NowLocked() {
  latest_now_ = std::max(latest_now_, clock_.Now());
  return latest_now_;
}

}  // namespace cidrotor::store
