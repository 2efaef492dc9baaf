// A scriptable store::Store for the http/ tests: canned results per operation, every request
// recorded, and a choice of how callbacks complete (inline, from another thread like the SQLite
// writer, or held until the test lets them go, to have a request in flight). Thread-safe: the
// server calls it from its I/O threads while the test thread inspects it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace cidrotor::http::testing {

class FixedClock final : public core::Clock {
 public:
  explicit FixedClock(core::TimePoint now) : now_(now) {}
  core::TimePoint Now() const override { return now_; }

 private:
  core::TimePoint now_;
};

// 2026-03-01T12:00:00Z
inline constexpr core::TimePoint kTestNow{std::chrono::seconds(1'772'366'400)};

enum class Completion {
  kInline,       // the callback runs inside the call
  kOtherThread,  // on a fresh thread, as the group-commit writer would
  kHeld,         // parked until ReleaseHeld()
};

inline core::Allocation SampleAllocation(std::uint64_t id = 123) {
  core::Allocation allocation;
  core::Reservation& r = allocation.reservation;
  r.id = id;
  r.caller_id = core::PhoneNumber::FromValidDigits(2'125'551'234);
  r.destination = core::PhoneNumber::FromValidDigits(2'125'559'876);
  r.campaign = "sales_campaign";
  r.agent = "agent001";
  r.pool = "default";
  r.match = core::MatchTier::kAreaCode;
  r.reserved_at = kTestNow;
  r.reserved_until = kTestNow + std::chrono::seconds(300);
  allocation.carrier = "AT&T";
  return allocation;
}

inline core::NumberView SampleNumber(std::uint64_t digits = 2'125'551'234) {
  core::NumberView view;
  view.spec.caller_id = core::PhoneNumber::FromValidDigits(digits);
  view.spec.carrier = "Verizon";
  view.spec.state = "NY";
  view.effective_hourly_cap = 100;
  view.effective_daily_cap = 500;
  view.daily_cap_today = 500;
  view.hourly_used_now = 3;
  view.daily_used_now = 7;
  view.available = true;
  return view;
}

class FakeStore final : public store::Store {
 public:
  FakeStore() {
    health.can_allocate = true;
    health.database = "healthy";
    health.mode = "embedded";
  }
  ~FakeStore() override {
    ReleaseHeld();
    JoinThreads();
  }

  // Joins the kOtherThread completion threads. Call before destroying the io_context they post
  // to: a thread may still be inside post() after the coroutine it resumed has finished.
  void JoinThreads() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  // ---- script (set before the server runs, or under the test's own ordering) ----
  Completion completion = Completion::kInline;
  core::Result<core::Allocation> allocate_result = SampleAllocation();
  core::Result<core::ReleaseResult> release_result = core::ReleaseResult{};
  core::Result<core::NumberView> number_result = SampleNumber();
  core::Result<void> delete_result = {};
  core::Result<store::NumberPage> page_result = store::NumberPage{};
  core::Result<std::vector<store::ReservationRecord>> reservations_result =
      std::vector<store::ReservationRecord>{};
  core::Result<std::vector<store::StoredLog>> logs_result = std::vector<store::StoredLog>{};
  core::Result<store::StoreStats> stats_result = store::StoreStats{};
  core::Result<store::CoverageData> coverage_result = store::CoverageData{};
  core::Result<store::LookupData> lookup_result = store::LookupData{};
  core::Result<store::AnswerStats> answer_stats_result = store::AnswerStats{};
  core::Result<bool> claim_result = true;
  // LoadShared / SaveShared's texts (several fakes may share one, as instances share Redis);
  // null: Store's own (nothing shared).
  std::map<std::string, std::string>* shared = nullptr;
  std::optional<core::Error> shared_error;  // set: LoadShared and SaveShared fail with it
  core::Result<std::vector<store::CampaignPool>> campaign_pools_result =
      std::vector<store::CampaignPool>{};
  core::Result<void> campaign_change_result = {};  // SetCampaignPool/RemoveCampaignPool
  store::StoreHealth health;

  // ---- what the server asked (read after the requests completed) ----
  std::vector<core::AllocationRequest> allocations() const { return Locked(allocations_); }
  std::vector<core::ReleaseRequest> releases() const { return Locked(releases_); }
  std::vector<core::NumberSpec> added() const { return Locked(added_); }
  std::vector<std::pair<core::PhoneNumber, core::NumberPatch>> updates() const {
    return Locked(updates_);
  }
  std::vector<store::NumberFilter> filters() const { return Locked(filters_); }
  std::vector<store::ApiLogEntry> api_logs() const { return Locked(api_logs_); }
  // SetCampaignPool calls; RemoveCampaignPool ones as {campaign, ""}.
  std::vector<store::CampaignPool> campaign_changes() const { return Locked(campaign_changes_); }
  // ImportNumbers batches that succeed; the later ones fail with kUnavailable.
  std::size_t import_batches_kept = SIZE_MAX;
  // Sizes of the ImportNumbers batches, in call order.
  std::vector<std::size_t> import_batches() const { return Locked(import_batches_); }

  // Blocks until `count` ImportNumbers calls were made, or the timeout passes.
  bool WaitForImportBatches(std::size_t count,
                            std::chrono::seconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return import_batches_.size() >= count; });
  }

  // Blocks until `count` callbacks are held (kHeld), or the timeout passes. Returns whether they
  // are.
  bool WaitForHeld(std::size_t count, std::chrono::seconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return held_.size() >= count; });
  }

  // Completes every held callback (on the calling thread).
  void ReleaseHeld() {
    std::vector<std::function<void()>> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& complete : held) complete();
  }

  // ---- store::Store ----
  void Allocate(core::AllocationRequest request, store::Callback<core::Allocation> done) override {
    Record(allocations_, request);
    Complete(std::move(done), allocate_result);
  }
  void Release(core::ReleaseRequest request, store::Callback<core::ReleaseResult> done) override {
    Record(releases_, request);
    Complete(std::move(done), release_result);
  }
  void AddNumber(core::NumberSpec spec, store::Callback<core::NumberView> done) override {
    Record(added_, spec);
    auto result = number_result;
    if (result) result->spec = spec;
    Complete(std::move(done), result);
  }
  void UpdateNumber(core::PhoneNumber caller_id, core::NumberPatch patch,
                    store::Callback<core::NumberView> done) override {
    Record(updates_, std::make_pair(caller_id, patch));
    Complete(std::move(done), number_result);
  }
  void DeleteNumber(core::PhoneNumber /*caller_id*/, store::Callback<void> done) override {
    Complete(std::move(done), delete_result);
  }
  void GetNumber(core::PhoneNumber /*caller_id*/, store::Callback<core::NumberView> done) override {
    Complete(std::move(done), number_result);
  }
  void ListNumbers(store::NumberFilter filter, store::Callback<store::NumberPage> done) override {
    Record(filters_, filter);
    Complete(std::move(done), page_result);
  }
  void ImportNumbers(std::vector<store::ImportItem> items, store::OnDuplicate /*on_duplicate*/,
                     store::Callback<store::ImportResult> done) override {
    bool fail = false;
    {
      std::lock_guard lock(mu_);
      import_batches_.push_back(items.size());
      fail = import_batches_.size() > import_batches_kept;
      cv_.notify_all();
    }
    if (fail) {
      Complete(std::move(done), core::Result<store::ImportResult>(
                                    core::Fail(core::Error::Unavailable("store full"))));
      return;
    }
    store::ImportResult result;
    result.imported = items.size();
    Complete(std::move(done), core::Result<store::ImportResult>(result));
  }
  void ListCampaignPools(store::Callback<std::vector<store::CampaignPool>> done) override {
    Complete(std::move(done), campaign_pools_result);
  }
  void SetCampaignPool(store::CampaignPool mapping,
                       store::Callback<store::CampaignPool> done) override {
    Record(campaign_changes_, mapping);
    Complete(std::move(done),
             campaign_change_result
                 ? core::Result<store::CampaignPool>(mapping)
                 : core::Result<store::CampaignPool>(core::Fail(campaign_change_result.error())));
  }
  void RemoveCampaignPool(std::string campaign, store::Callback<void> done) override {
    Record(campaign_changes_, store::CampaignPool{std::move(campaign), ""});
    Complete(std::move(done), campaign_change_result);
  }
  void ListPoolSettings(store::Callback<std::vector<store::PoolSettings>> done) override {
    Complete(std::move(done),
             core::Result<std::vector<store::PoolSettings>>(std::vector<store::PoolSettings>{}));
  }
  void SetPoolSettings(store::PoolSettings settings,
                       store::Callback<store::PoolSettings> done) override {
    Complete(std::move(done), core::Result<store::PoolSettings>(std::move(settings)));
  }
  void ListReservations(store::ReservationQuery /*query*/,
                        store::Callback<std::vector<store::ReservationRecord>> done) override {
    Complete(std::move(done), reservations_result);
  }
  void ListLogs(store::LogQuery /*query*/,
                store::Callback<std::vector<store::StoredLog>> done) override {
    Complete(std::move(done), logs_result);
  }
  void GetAnswerStats(store::AnswerStatsQuery /*query*/,
                      store::Callback<store::AnswerStats> done) override {
    Complete(std::move(done), answer_stats_result);
  }
  void ClaimTurn(std::string /*job*/, std::chrono::milliseconds /*period*/,
                 store::Callback<bool> done) override {
    Complete(std::move(done), claim_result);
  }
  void LoadShared(std::string name, store::Callback<std::optional<std::string>> done) override {
    if (shared_error) return Complete(std::move(done), core::Result<std::optional<std::string>>(
                                                           core::Fail(*shared_error)));
    if (shared == nullptr) return store::Store::LoadShared(std::move(name), std::move(done));
    const auto it = shared->find(name);
    Complete(std::move(done),
             core::Result<std::optional<std::string>>(
                 it == shared->end() ? std::nullopt : std::optional<std::string>(it->second)));
  }
  void SaveShared(std::string name, std::string value, std::chrono::milliseconds ttl,
                  store::Callback<void> done) override {
    if (shared_error) return Complete(std::move(done), core::Result<void>(core::Fail(*shared_error)));
    if (shared == nullptr) {
      return store::Store::SaveShared(std::move(name), std::move(value), ttl, std::move(done));
    }
    (*shared)[name] = std::move(value);
    Complete(std::move(done), core::Result<void>{});
  }
  void GetStats(store::Callback<store::StoreStats> done) override {
    Complete(std::move(done), stats_result);
  }
  void GetCoverage(store::CoverageQuery query, store::Callback<store::CoverageData> done) override {
    Remember(last_coverage_query_, std::move(query));
    Complete(std::move(done), coverage_result);
  }
  std::optional<store::CoverageQuery> last_coverage_query() const {
    return Locked(last_coverage_query_);
  }
  void Lookup(store::LookupQuery query, store::Callback<store::LookupData> done) override {
    Remember(last_lookup_query_, std::move(query));
    Complete(std::move(done), lookup_result);
  }
  std::optional<store::LookupQuery> last_lookup_query() const { return Locked(last_lookup_query_); }
  void AppendLog(store::ApiLogEntry entry) override { Record(api_logs_, std::move(entry)); }
  store::StoreHealth Health() const override { return health; }
  void Tick() override {}
  bool Flush() override { return true; }

 private:
  // A copy of `v`, a member guarded by mu_.
  template <class T>
  T Locked(const T& v) const {
    std::lock_guard lock(mu_);
    return v;
  }
  template <class T>
  void Record(std::vector<T>& v, T value) {
    std::lock_guard lock(mu_);
    v.push_back(std::move(value));
  }
  template <class T>
  void Remember(std::optional<T>& last, T value) {
    std::lock_guard lock(mu_);
    last = std::move(value);
  }
  template <class T>
  void Complete(store::Callback<T> done, core::Result<T> result) {
    switch (completion) {
      case Completion::kInline:
        done(std::move(result));
        return;
      case Completion::kOtherThread: {
        std::lock_guard lock(mu_);
        threads_.emplace_back([done = std::move(done), result = std::move(result)]() mutable {
          done(std::move(result));
        });
        return;
      }
      case Completion::kHeld: {
        std::lock_guard lock(mu_);
        held_.push_back([done = std::move(done), result = std::move(result)]() mutable {
          done(std::move(result));
        });
        cv_.notify_all();
        return;
      }
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<core::AllocationRequest> allocations_;                      // guarded by mu_
  std::vector<core::ReleaseRequest> releases_;                            // guarded by mu_
  std::vector<core::NumberSpec> added_;                                   // guarded by mu_
  std::vector<std::pair<core::PhoneNumber, core::NumberPatch>> updates_;  // guarded by mu_
  std::vector<store::NumberFilter> filters_;                              // guarded by mu_
  std::vector<store::ApiLogEntry> api_logs_;                              // guarded by mu_
  std::optional<store::CoverageQuery> last_coverage_query_;
  std::optional<store::LookupQuery> last_lookup_query_;                   // guarded by mu_
  std::vector<store::CampaignPool> campaign_changes_;                     // guarded by mu_
  std::vector<std::size_t> import_batches_;                               // guarded by mu_
  std::vector<std::function<void()>> held_;                               // guarded by mu_
  std::vector<std::thread> threads_;                                      // guarded by mu_
};

}  // namespace cidrotor::http::testing
