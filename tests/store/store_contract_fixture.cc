#include "store/memory/indexed_store.h"
#include "store/redis/redis_store.h"
#include "store_contract_test.h"

namespace cidrotor::store::contract {

using testing::Await;
using testing::IsOk;

test_support::RedisServer& SharedRedis() {
  static test_support::RedisServer server;
  return server;
}

core::Result<std::unique_ptr<Store>> OpenStore(Backend backend, const core::Clock& clock,
                                               const core::Calendar& calendar, StoreConfig config,
                                               std::unique_ptr<Journal> journal,
                                               std::uint16_t redis_port) {
  if (backend == Backend::kEmbedded) {
    IndexedStoreOptions options;
    options.index = config.index;
    options.rate_limit_per_agent = config.rate_limit_per_agent;
    auto opened = IndexedStore::Open(clock, calendar, options, std::move(journal));
    if (!opened) return core::Fail(opened.error());
    return std::unique_ptr<Store>(std::move(*opened));
  }
  RedisStoreOptions options;
  options.index = config.index;
  options.rate_limit_per_agent = config.rate_limit_per_agent;
  options.redis.connection.port = redis_port;
  // One instance per Redis here: no other instance's journal backlog to wait for after loading
  // (RedisStoreTest covers that wait); the full 2.5 s made each data loss of a walk that long.
  options.rebuild_grace = std::chrono::milliseconds(100);
  auto opened = RedisStore::Open(clock, calendar, options, std::move(journal));
  if (!opened) return core::Fail(opened.error());
  return std::unique_ptr<Store>(std::move(*opened));
}

core::NumberSpec Spec(const std::string& number, std::uint16_t hourly, std::uint16_t daily,
                      const std::string& pool) {
  core::NumberSpec spec;
  spec.caller_id = *core::PhoneNumber::ParsePoolNumber(number);
  spec.hourly_cap = hourly;
  spec.daily_cap = daily;
  spec.pool = pool;
  spec.carrier = "AT&T";
  return spec;
}

namespace {

std::string CampaignOf(const std::string& pool) {
  return pool.empty() ? "default" : "campaign-of-" + pool;
}

}  // namespace

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kEmbedded ? "Embedded" : "Redis";
}

core::AllocationRequest To(const std::string& destination, const std::string& agent,
                           const std::string& pool) {
  core::AllocationRequest request;
  request.destination = *core::PhoneNumber::ParseDestination(destination);
  request.agent = agent;
  request.campaign = CampaignOf(pool);
  return request;
}

core::Result<void> MapCampaignOf(Store& store, const std::string& pool) {
  auto mapped = Await<CampaignPool>([&](auto done) {
    store.SetCampaignPool({CampaignOf(pool), pool}, done);
  });
  if (!mapped) return core::Fail(mapped.error());
  return {};
}

void StoreContractTest::SetUp() {
  if (GetParam() == Backend::kRedis) {
    ASSERT_TRUE(SharedRedis().running()) << SharedRedis().error();
    ASSERT_EQ(SharedRedis().Command({"FLUSHALL"}), "+OK\r\n");
  }
}

void StoreContractTest::TearDown() { store_.reset(); }

void StoreContractTest::Open(StoreConfig config) {
  store_.reset();
  mapped_pools_.clear();
  auto journal = std::make_unique<MemoryJournal>(MemoryJournal::Completion::kOwnThread);
  journal_ = journal.get();
  auto opened =
      OpenStore(GetParam(), clock_, calendar_, config, std::move(journal), SharedRedis().port());
  ASSERT_THAT(opened, IsOk());
  store_ = std::move(*opened);
}

core::Result<core::NumberView> StoreContractTest::Add(const std::string& number,
                                                      std::uint16_t hourly, std::uint16_t daily,
                                                      const std::string& pool) {
  return Await<core::NumberView>(
      [&](auto done) { store_->AddNumber(Spec(number, hourly, daily, pool), done); });
}

core::Result<core::Allocation> StoreContractTest::Allocate(const std::string& to,
                                                           const std::string& agent,
                                                           const std::string& pool,
                                                           std::optional<std::uint64_t> lead) {
  if (!pool.empty() && !mapped_pools_.contains(pool)) {
    if (auto mapped = MapCampaignOf(*store_, pool); !mapped) return core::Fail(mapped.error());
    mapped_pools_.insert(pool);
  }
  core::AllocationRequest request = To(to, agent, pool);
  request.lead_id = lead;
  return Await<core::Allocation>([&](auto done) { store_->Allocate(std::move(request), done); });
}

std::string StoreContractTest::Next(const std::string& to) {
  auto allocation = Allocate(to);
  return allocation ? allocation->reservation.caller_id.ToString() : "";
}

int StoreContractTest::CallsUntilDry(const std::string& to) {
  int calls = 0;
  for (; calls < 100; ++calls) {
    auto allocation = Allocate(to);
    if (!allocation) {
      EXPECT_THAT(allocation, testing::HasError(core::ErrorCode::kNoCallerIdAvailable));
      break;
    }
    EXPECT_THAT(Release(allocation->reservation.id), testing::IsOk());
  }
  return calls;
}

core::Result<core::ReleaseResult> StoreContractTest::Release(std::uint64_t id) {
  core::ReleaseRequest request;
  request.reservation_id = id;
  request.outcome = core::CallOutcome::kAnswered;
  return Await<core::ReleaseResult>([&](auto done) { store_->Release(request, done); });
}

core::Result<core::ReleaseResult> StoreContractTest::ReleaseNumber(const std::string& number) {
  core::ReleaseRequest request;
  request.caller_id = *core::PhoneNumber::ParsePoolNumber(number);
  return Await<core::ReleaseResult>([&](auto done) { store_->Release(request, done); });
}

core::Result<core::NumberView> StoreContractTest::Get(const std::string& number) {
  return Await<core::NumberView>(
      [&](auto done) { store_->GetNumber(*core::PhoneNumber::ParsePoolNumber(number), done); });
}

core::Result<core::NumberView> StoreContractTest::Update(const std::string& number,
                                                         core::NumberPatch patch) {
  return Await<core::NumberView>([&](auto done) {
    store_->UpdateNumber(*core::PhoneNumber::ParsePoolNumber(number), patch, done);
  });
}

core::Result<void> StoreContractTest::Delete(const std::string& number) {
  return Await<void>(
      [&](auto done) { store_->DeleteNumber(*core::PhoneNumber::ParsePoolNumber(number), done); });
}

core::Result<ImportResult> StoreContractTest::Import(std::vector<ImportItem> items,
                                                     OnDuplicate on_duplicate) {
  return Await<ImportResult>([&](Callback<ImportResult> done) {
    store_->ImportNumbers(std::move(items), on_duplicate, std::move(done));
  });
}

core::Result<StoreStats> StoreContractTest::Stats() {
  return Await<StoreStats>([&](auto done) { store_->GetStats(done); });
}

}  // namespace cidrotor::store::contract
