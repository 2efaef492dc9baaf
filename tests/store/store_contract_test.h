// The store contract suite's fixture: one suite of behaviour tests that runs against every Store
// (SPEC: "both modes pass the same behavioural test suite"): the embedded IndexedStore and the
// cluster RedisStore, each over a MemoryJournal (completing on its own thread, like the real
// journals) whose failures the tests switch on. RedisStore runs against a private redis-server
// started for the test binary, flushed before each test.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/calendar.h"
#include "core/number_index.h"
#include "store/memory/memory_journal.h"
#include "store/store.h"
#include "support/await.h"
#include "support/manual_clock.h"
#include "support/matchers.h"
#include "support/redis_server.h"

namespace cidrotor::store::contract {

enum class Backend { kEmbedded, kRedis };

// 2026-11-25T14:00:00Z, the start of a UTC hour.
inline const core::TimePoint kStart = core::TimePoint(core::Seconds(1'795'615'200));

// What both stores are configured with.
struct StoreConfig {
  core::IndexOptions index{100, 500, core::Seconds(300)};
  std::uint32_t rate_limit_per_agent = 100;
};

// The redis-server shared by the tests of this binary (started on first use).
test_support::RedisServer& SharedRedis();

// Opens a store of `backend` on `journal`. Errors: what Open reports.
core::Result<std::unique_ptr<Store>> OpenStore(Backend backend, const core::Clock& clock,
                                               const core::Calendar& calendar, StoreConfig config,
                                               std::unique_ptr<Journal> journal,
                                               std::uint16_t redis_port);

core::NumberSpec Spec(const std::string& number, std::uint16_t hourly = 0, std::uint16_t daily = 0,
                      const std::string& pool = "default");
// A request to `destination` by `agent` from `pool` ("" = default): its campaign is the one
// MapCampaignOf(pool) maps to the pool (campaigns → pools), "default" for the default pool.
core::AllocationRequest To(const std::string& destination, const std::string& agent = "auto",
                           const std::string& pool = "");
// Maps the campaign To() uses for `pool` to it. Errors: what SetCampaignPool reports.
core::Result<void> MapCampaignOf(Store& store, const std::string& pool);

// "Embedded" / "Redis": the suites' parameter names (Stores/Suite.Test/Embedded).
std::string BackendName(const ::testing::TestParamInfo<Backend>& info);

class StoreContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;
  void Open(StoreConfig config = {});

  core::Result<core::NumberView> Add(const std::string& number, std::uint16_t hourly = 0,
                                     std::uint16_t daily = 0, const std::string& pool = "default");
  // From `pool` through its campaign (To()), mapped on first use; for `lead` when given.
  core::Result<core::Allocation> Allocate(const std::string& to, const std::string& agent = "auto",
                                          const std::string& pool = "",
                                          std::optional<std::uint64_t> lead = std::nullopt);
  // The caller-ID allocated for `to`, or "" when allocation failed.
  std::string Next(const std::string& to);
  // Allocates for `to` and releases until the pool has nothing for it; how many calls it made
  // (at most 100).
  int CallsUntilDry(const std::string& to);
  core::Result<core::ReleaseResult> Release(std::uint64_t id);
  core::Result<core::ReleaseResult> ReleaseNumber(const std::string& number);
  core::Result<core::NumberView> Get(const std::string& number);
  core::Result<core::NumberView> Update(const std::string& number, core::NumberPatch patch);
  core::Result<void> Delete(const std::string& number);
  core::Result<ImportResult> Import(std::vector<ImportItem> items, OnDuplicate on_duplicate);
  core::Result<StoreStats> Stats();

  testing::ManualClock clock_{kStart};
  core::FixedOffsetCalendar calendar_;
  MemoryJournal* journal_ = nullptr;  // owned by store_
  std::unique_ptr<Store> store_;
  std::set<std::string> mapped_pools_;  // MapCampaignOf done on store_
};

}  // namespace cidrotor::store::contract
