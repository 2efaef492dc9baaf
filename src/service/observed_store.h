// A store::Store decorator that feeds AllocationTelemetry: it times every Allocate from the call
// to its completion (the group commit included) and records the outcome, then hands the result
// on unchanged. Every other call goes straight through. app/ wraps the real store in it once, so
// HTTP and FastAGI allocations are counted alike without either protocol layer knowing.
//
// Ownership: references the inner store, the clock and the telemetry, which must outlive it.
// Thread-safety: that of the inner store; the telemetry is thread-safe.
#pragma once

#include "core/clock.h"
#include "service/allocation_telemetry.h"
#include "store/store.h"

namespace cidrotor::service {

class ObservedStore final : public store::Store {
 public:
  ObservedStore(store::Store& inner, const core::Clock& clock, AllocationTelemetry& telemetry)
      : inner_(inner), clock_(clock), telemetry_(telemetry) {}

  void Allocate(core::AllocationRequest request, store::Callback<core::Allocation> done) override;

  void Release(core::ReleaseRequest request, store::Callback<core::ReleaseResult> done) override {
    inner_.Release(std::move(request), std::move(done));
  }
  void AddNumber(core::NumberSpec spec, store::Callback<core::NumberView> done) override {
    inner_.AddNumber(std::move(spec), std::move(done));
  }
  void UpdateNumber(core::PhoneNumber caller_id, core::NumberPatch patch,
                    store::Callback<core::NumberView> done) override {
    inner_.UpdateNumber(caller_id, std::move(patch), std::move(done));
  }
  void DeleteNumber(core::PhoneNumber caller_id, store::Callback<void> done) override {
    inner_.DeleteNumber(caller_id, std::move(done));
  }
  void GetNumber(core::PhoneNumber caller_id, store::Callback<core::NumberView> done) override {
    inner_.GetNumber(caller_id, std::move(done));
  }
  void ListNumbers(store::NumberFilter filter, store::Callback<store::NumberPage> done) override {
    inner_.ListNumbers(std::move(filter), std::move(done));
  }
  void ImportNumbers(std::vector<store::ImportItem> items, store::OnDuplicate on_duplicate,
                     store::Callback<store::ImportResult> done) override {
    inner_.ImportNumbers(std::move(items), on_duplicate, std::move(done));
  }
  void ListCampaignPools(store::Callback<std::vector<store::CampaignPool>> done) override {
    inner_.ListCampaignPools(std::move(done));
  }
  void SetCampaignPool(store::CampaignPool mapping,
                       store::Callback<store::CampaignPool> done) override {
    inner_.SetCampaignPool(std::move(mapping), std::move(done));
  }
  void RemoveCampaignPool(std::string campaign, store::Callback<void> done) override {
    inner_.RemoveCampaignPool(std::move(campaign), std::move(done));
  }
  void ListPoolSettings(store::Callback<std::vector<store::PoolSettings>> done) override {
    inner_.ListPoolSettings(std::move(done));
  }
  void SetPoolSettings(store::PoolSettings settings,
                       store::Callback<store::PoolSettings> done) override {
    inner_.SetPoolSettings(std::move(settings), std::move(done));
  }
  void ListReservations(store::ReservationQuery query,
                        store::Callback<std::vector<store::ReservationRecord>> done) override {
    inner_.ListReservations(query, std::move(done));
  }
  void GetCoverage(store::CoverageQuery query, store::Callback<store::CoverageData> done) override {
    inner_.GetCoverage(query, std::move(done));
  }
  void GetActivity(store::ActivityQuery query, store::Callback<store::ActivityData> done) override {
    inner_.GetActivity(query, std::move(done));
  }
  void Lookup(store::LookupQuery query, store::Callback<store::LookupData> done) override {
    inner_.Lookup(query, std::move(done));
  }
  void GetAnswerStats(store::AnswerStatsQuery query,
                      store::Callback<store::AnswerStats> done) override {
    inner_.GetAnswerStats(query, std::move(done));
  }
  // Forwarded too: Store's default (true) would let every cluster instance take every turn.
  void ClaimTurn(std::string job, std::chrono::milliseconds period,
                 store::Callback<bool> done) override {
    inner_.ClaimTurn(std::move(job), period, std::move(done));
  }
  void LoadShared(std::string name, store::Callback<std::optional<std::string>> done) override {
    inner_.LoadShared(std::move(name), std::move(done));
  }
  void SaveShared(std::string name, std::string value, std::chrono::milliseconds ttl,
                  store::Callback<void> done) override {
    inner_.SaveShared(std::move(name), std::move(value), ttl, std::move(done));
  }
  void ListLogs(store::LogQuery query,
                store::Callback<std::vector<store::StoredLog>> done) override {
    inner_.ListLogs(query, std::move(done));
  }
  void GetStats(store::Callback<store::StoreStats> done) override {
    inner_.GetStats(std::move(done));
  }
  void AppendLog(store::ApiLogEntry entry) override { inner_.AppendLog(std::move(entry)); }
  store::StoreHealth Health() const override { return inner_.Health(); }
  void Tick() override { inner_.Tick(); }
  bool Flush() override { return inner_.Flush(); }

 private:
  store::Store& inner_;
  const core::Clock& clock_;
  AllocationTelemetry& telemetry_;
};

}  // namespace cidrotor::service
