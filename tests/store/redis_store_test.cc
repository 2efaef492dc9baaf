// Cluster-only behaviours of RedisStore against a real redis-server on a private loopback port:
// several instances on one Redis, Redis killed (fast kUnavailable, then recovery on its own),
// Redis restarted empty (rebuilt from the journal, no live reservation handed out twice), a
// Redis older than 7 refused at start (a fake server that answers as 6.2 does).
#include "store/redis/redis_store.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "core/warm_up.h"
#include "forwarding_journal.h"
#include "store/journal_test_util.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_executor.h"
#include "store/redis/script_args.h"
#include "store_contract_test.h"

namespace cidrotor::store::contract {
namespace {

using core::ErrorCode;
using testing::Await;
using testing::HasError;
using testing::IsOk;

// Lets two RedisStore instances share one journal, as two `serve` processes share PostgreSQL.
class SharedJournal : public ForwardingJournal {
 public:
  // `unhealthy`, when set, makes Healthy() false: a PostgreSQL journal that answers reads but has
  // not written its backlog yet; `unreachable`, when set, makes Reachable() false: its server is
  // down.
  explicit SharedJournal(std::shared_ptr<MemoryJournal> journal,
                         const std::atomic<bool>* unhealthy = nullptr,
                         const std::atomic<bool>* unreachable = nullptr)
      : ForwardingJournal(std::move(journal)), unhealthy_(unhealthy), unreachable_(unreachable) {}
  bool Healthy() const override {
    return !(unhealthy_ != nullptr && unhealthy_->load()) && ForwardingJournal::Healthy();
  }
  bool Reachable() override {
    return !(unreachable_ != nullptr && unreachable_->load()) && ForwardingJournal::Reachable();
  }

 private:
  const std::atomic<bool>* unhealthy_;
  const std::atomic<bool>* unreachable_;
};

// A SharedJournal whose PostgreSQL is down while held: appends are acknowledged at once and kept
// in this instance's backlog (as PostgresJournal's degraded mode does) until Drain() writes them.
class BackloggedJournal final : public SharedJournal {
 public:
  using SharedJournal::SharedJournal;
  void Hold() { held_ = true; }
  void Drain() {
    std::vector<std::vector<JournalEntry>> backlog;
    {
      std::lock_guard lock(mu_);
      backlog.swap(backlog_);
      held_ = false;
    }
    for (auto& entries : backlog) SharedJournal::Append(std::move(entries), {});
    SharedJournal::Flush();
  }
  void Append(std::vector<JournalEntry> entries, Durable on_durable) override {
    {
      std::lock_guard lock(mu_);
      if (held_) {
        backlog_.push_back(std::move(entries));
        if (on_durable) on_durable({});
        return;
      }
    }
    SharedJournal::Append(std::move(entries), std::move(on_durable));
  }
  std::size_t QueueDepth() const override {
    std::lock_guard lock(mu_);
    return backlog_.size() + SharedJournal::QueueDepth();
  }
  bool Healthy() const override { return !held_ && SharedJournal::Healthy(); }
  bool Flush() override { return held_ ? false : SharedJournal::Flush(); }

 private:
  mutable std::mutex mu_;
  std::atomic<bool> held_{false};
  std::vector<std::vector<JournalEntry>> backlog_;  // guarded by mu_
};

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.running()) << redis_.error(); }

  std::unique_ptr<RedisStore> OpenInstance(StoreConfig config = {},
                                           std::unique_ptr<Journal> journal = nullptr) {
    RedisStoreOptions options;
    options.rebuild_grace = rebuild_grace_;
    options.index = config.index;
    options.rate_limit_per_agent = config.rate_limit_per_agent;
    options.redis.connection.port = redis_.port();
    options.redis.connection.password = password_;
    options.redis.connection.db = db_;
    options.import_chunk = import_chunk_;
    if (!journal) {
      journal =
          std::make_unique<SharedJournal>(journal_, &journal_unhealthy_, &journal_unreachable_);
    }
    auto opened = RedisStore::Open(clock_, calendar_, options, std::move(journal));
    EXPECT_THAT(opened, IsOk());
    return opened ? std::move(*opened) : nullptr;
  }

  static core::Result<core::Allocation> AllocateOn(Store& store, const std::string& to) {
    return Await<core::Allocation>([&](auto done) { store.Allocate(To(to), done); });
  }
  static core::Result<core::NumberView> AddOn(Store& store, const std::string& number,
                                              std::uint16_t hourly = 0) {
    return Await<core::NumberView>([&](auto done) { store.AddNumber(Spec(number, hourly), done); });
  }
  static core::Result<core::NumberView> GetOn(Store& store, const std::string& number) {
    return Await<core::NumberView>(
        [&](auto done) { store.GetNumber(*core::PhoneNumber::ParsePoolNumber(number), done); });
  }
  // Allocates for a call to `to` from `pool`, then releases it; returns its reservation id.
  static std::uint64_t CallOn(Store& store, const std::string& to, const std::string& pool = "") {
    auto allocated =
        Await<core::Allocation>([&](auto done) { store.Allocate(To(to, "auto", pool), done); });
    EXPECT_THAT(allocated, IsOk());
    if (!allocated) return 0;
    core::ReleaseRequest release;
    release.reservation_id = allocated->reservation.id;
    EXPECT_THAT(Await<core::ReleaseResult>([&](auto done) { store.Release(release, done); }),
                IsOk());
    return allocated->reservation.id;
  }
  static core::Result<LookupData> LookUpOn(Store& store, const std::string& number,
                                           const std::string& from) {
    LookupQuery query;
    query.caller_id = *core::PhoneNumber::ParsePoolNumber(number);
    query.from = *core::PhoneNumber::ParseDestination(from);
    return Await<LookupData>([&](auto done) { store.Lookup(query, done); });
  }

  test_support::RedisServer redis_;  // this test's own server: the tests kill and restart it
  std::string password_;             // AUTH password of the instances opened next
  int db_ = 0;                       // SELECTed database of the instances opened next
  std::size_t import_chunk_ = 1000;  // numbers per upsert call (imports, rebuilds) of those
  // Short: here no other instance is left to announce a backlog unless a test says so.
  std::chrono::milliseconds rebuild_grace_{100};
  testing::ManualClock clock_{kStart};
  core::FixedOffsetCalendar calendar_;
  std::atomic<bool> journal_unhealthy_{false};    // SharedJournal's Healthy() false while set
  std::atomic<bool> journal_unreachable_{false};  // and its Reachable()
  std::shared_ptr<MemoryJournal> journal_ =
      std::make_shared<MemoryJournal>(MemoryJournal::Completion::kOwnThread);
};

TEST_F(RedisStoreTest, TwoInstancesNeverHandOutTheSameNumber) {
  auto a = OpenInstance();
  auto b = OpenInstance();
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 20; ++i) ASSERT_THAT(AddOn(*a, "21255500" + std::to_string(10 + i)), IsOk());
  std::mutex mu;
  std::multiset<std::string> allocated;
  std::set<std::uint64_t> ids;
  int no_caller_id = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Store& store = t % 2 == 0 ? static_cast<Store&>(*a) : *b;
      for (int i = 0; i < 50; ++i) {
        auto result = AllocateOn(store, "2125559999");
        std::lock_guard lock(mu);
        if (result) {
          allocated.insert(result->reservation.caller_id.ToString());
          ids.insert(result->reservation.id);
        } else if (result.error().code() == ErrorCode::kNoCallerIdAvailable) {
          ++no_caller_id;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allocated.size(), 20u);
  EXPECT_EQ(std::set<std::string>(allocated.begin(), allocated.end()).size(), 20u);
  EXPECT_EQ(ids.size(), 20u);  // reservation ids are unique across instances too
  EXPECT_EQ(no_caller_id, 380);
}

// A Redis that answers the settings script with an error (here OOM: maxmemory reached; a replica
// promoted away answers READONLY alike) refuses the change: nothing is journaled, nothing cached.
TEST_F(RedisStoreTest, ASettingsChangeRedisRefusesFailsAndChangesNothing) {
  auto store = OpenInstance();
  ASSERT_NE(store, nullptr);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  const std::uint64_t journaled = journal_->EntriesCommitted();
  ASSERT_EQ(redis_.Command({"CONFIG", "SET", "maxmemory", "1"}), "+OK\r\n");
  EXPECT_THAT(Await<CampaignPool>([&](auto done) {
                store->SetCampaignPool(CampaignPool{"sales", "east"}, done);
              }),
              HasError(ErrorCode::kUnavailable));
  EXPECT_THAT(Await<PoolSettings>([&](auto done) {
                store->SetPoolSettings(PoolSettings{"default", false}, done);
              }),
              HasError(ErrorCode::kUnavailable));
  ASSERT_EQ(redis_.Command({"CONFIG", "SET", "maxmemory", "0"}), "+OK\r\n");
  EXPECT_EQ(journal_->EntriesCommitted(), journaled);
  EXPECT_EQ(redis_.Command({"EXISTS", redis::kCampaignPoolsKey, redis::kPoolSettingsKey}),
            ":0\r\n");
  auto any = AllocateOn(*store, "3105559999");  // the any tier: no fallback none was cached
  ASSERT_THAT(any, IsOk());
  EXPECT_EQ(any->reservation.pool, "default");
}

TEST_F(RedisStoreTest, AgentRateLimitHoldsAcrossInstances) {
  StoreConfig config;
  config.rate_limit_per_agent = 2;
  auto a = OpenInstance(config);
  auto b = OpenInstance(config);
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 4; ++i) ASSERT_THAT(AddOn(*a, "212555000" + std::to_string(i)), IsOk());
  const auto allocate_as = [](Store& store, const std::string& agent) {
    return Await<core::Allocation>(
        [&](auto done) { store.Allocate(To("2125559999", agent), done); });
  };
  ASSERT_THAT(allocate_as(*a, "agent7"), IsOk());
  ASSERT_THAT(allocate_as(*b, "agent7"), IsOk());
  auto limited = allocate_as(*a, "agent7");  // the window is Redis's, not one process's
  ASSERT_THAT(limited, HasError(ErrorCode::kRateLimited));
  EXPECT_EQ(limited.error().retry_after_seconds(), 60u);
  EXPECT_THAT(allocate_as(*b, "agent7"), HasError(ErrorCode::kRateLimited));
  clock_.Advance(core::Seconds(60));
  EXPECT_THAT(allocate_as(*b, "agent7"), IsOk());
}

TEST_F(RedisStoreTest, AuthenticatesAndSelectsItsDatabase) {
  ASSERT_EQ(redis_.Command({"CONFIG", "SET", "requirepass", "s3cret"}), "+OK\r\n");
  password_ = "wrong";
  auto refused = OpenInstance();
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->Health().can_allocate);
  EXPECT_THAT(AddOn(*refused, "2125550001"), HasError(ErrorCode::kUnavailable));
  password_ = "s3cret";
  db_ = 3;
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  EXPECT_THAT(AllocateOn(*store, "2125559999"), IsOk());
}

TEST_F(RedisStoreTest, NumberAddedThroughOneInstanceIsAllocatableThroughTheOther) {
  auto a = OpenInstance();
  auto b = OpenInstance();
  ASSERT_TRUE(a && b);
  ASSERT_THAT(AddOn(*a, "2125550001"), IsOk());
  auto allocation = AllocateOn(*b, "2125559999");
  ASSERT_THAT(allocation, IsOk());
  EXPECT_EQ(allocation->reservation.caller_id.ToString(), "2125550001");
  EXPECT_TRUE(GetOn(*a, "2125550001")->reserved);
}

// A move the new pool refuses after the number left its old one (a delete script, then an
// upsert script: two slots, two calls) puts it back where it was, with its call: left in no
// pool, no later change could find it (cid:pool_of still names the old pool: 404 on every
// PATCH, 409 on every add) until Redis was reloaded.
TEST_F(RedisStoreTest, AMoveTheNewPoolRefusesPutsTheNumberBack) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  auto held = AllocateOn(*store, "2125559999");
  ASSERT_THAT(held, IsOk());
  ASSERT_EQ(redis_.Command({"SET", "cid:{east}:gen", "another-generation"}), "+OK\r\n");
  const auto number = *core::PhoneNumber::ParsePoolNumber("2125550001");
  core::NumberPatch to_east;
  to_east.pool = "east";
  EXPECT_THAT(
      Await<core::NumberView>([&](auto done) { store->UpdateNumber(number, to_east, done); }),
      HasError(ErrorCode::kUnavailable));
  auto view = GetOn(*store, "2125550001");
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->spec.pool, "default");
  EXPECT_TRUE(view->reserved);  // its call goes on
  EXPECT_EQ(view->hourly_used_now, 1);
  EXPECT_THAT(AllocateOn(*store, "2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  core::ReleaseRequest release;
  release.reservation_id = held->reservation.id;
  EXPECT_TRUE(
      Await<core::ReleaseResult>([&](auto done) { store->Release(release, done); })->released);

  ASSERT_EQ(redis_.Command({"DEL", "cid:{east}:gen"}), ":1\r\n");
  auto moved =
      Await<core::NumberView>([&](auto done) { store->UpdateNumber(number, to_east, done); });
  ASSERT_THAT(moved, IsOk());
  EXPECT_EQ(GetOn(*store, "2125550001")->spec.pool, "east");
}

// The journal refused an allocation, so it was undone in Redis: the number's next allocation links
// to the one before it (which the journal has), not to the undone one (which it never had).
TEST_F(RedisStoreTest, AnAllocationTheJournalRefusedIsNotLinkedTo) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  const std::uint64_t first = CallOn(*store, "2125559901");
  journal_->SetFailure(core::Error::Unavailable("disk full"));
  EXPECT_THAT(AllocateOn(*store, "2125559902"), HasError(ErrorCode::kUnavailable));
  journal_->SetFailure(std::nullopt);
  const std::uint64_t third = CallOn(*store, "2125559903");
  store->Flush();
  auto found = LookUpOn(*store, "2125550001", "2125559901");
  ASSERT_THAT(found, IsOk());
  ASSERT_TRUE(found->last && found->called);
  EXPECT_EQ(found->last->reservation.id, third);
  EXPECT_EQ(found->called->reservation.id, first);
}

// A number moved to another pool takes its newest reservation along (allocate.lua's link for its
// next allocation there), in Redis, not only through the journal.
TEST_F(RedisStoreTest, AMovedNumberKeepsItsNewestReservation) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  const std::uint64_t first = CallOn(*store, "2125559901");
  core::NumberPatch patch;
  patch.pool = "east";
  ASSERT_THAT(Await<core::NumberView>([&](auto done) {
                store->UpdateNumber(*core::PhoneNumber::ParsePoolNumber("2125550001"), patch, done);
              }),
              IsOk());
  const std::string newest = std::to_string(first);
  EXPECT_EQ(redis_.Command({"HGET", redis::PoolPrefix("east") + "n:2125550001", "lr"}),
            "$" + std::to_string(newest.size()) + "\r\n" + newest + "\r\n");
  ASSERT_THAT(MapCampaignOf(*store, "east"), IsOk());
  const std::uint64_t second = CallOn(*store, "2125559902", "east");
  store->Flush();
  auto found = LookUpOn(*store, "2125550001", "2125559901");
  ASSERT_THAT(found, IsOk());
  ASSERT_TRUE(found->last && found->called);
  EXPECT_EQ(found->last->reservation.id, second);
  EXPECT_EQ(found->last->reservation.pool, "east");
  EXPECT_EQ(found->called->reservation.id, first);
}

// A call's release while an admin moves its number to another pool through another instance:
// the move takes the number, with the call's reservation, out of the old pool's keys, then puts
// it into the new one's. A release in between found it nowhere ("released": false) and the
// number stayed reserved until its TTL (a review); it looks again while the move is marked.
TEST_F(RedisStoreTest, AReleaseDuringAMoveOfItsNumberEndsItsReservation) {
  auto store = OpenInstance();
  auto admin = OpenInstance();
  ASSERT_TRUE(store && admin);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  ASSERT_THAT(MapCampaignOf(*store, "east"), IsOk());
  const core::PhoneNumber number = *core::PhoneNumber::ParsePoolNumber("2125550001");
  std::string pool = "default";
  for (int round = 0; round < 90; ++round) {  // under the default hourly cap (100)
    auto allocated = Await<core::Allocation>([&](auto done) {
      store->Allocate(To("2125559999", "auto", pool == "default" ? "" : pool), done);
    });
    ASSERT_THAT(allocated, IsOk()) << "round " << round;
    const std::string to = pool == "default" ? "east" : "default";
    std::thread mover([&] {
      core::NumberPatch patch;
      patch.pool = to;
      EXPECT_THAT(
          Await<core::NumberView>([&](auto done) { admin->UpdateNumber(number, patch, done); }),
          IsOk());
    });
    core::ReleaseRequest release;
    release.reservation_id = allocated->reservation.id;
    auto released = Await<core::ReleaseResult>([&](auto done) { store->Release(release, done); });
    mover.join();
    ASSERT_THAT(released, IsOk());
    EXPECT_TRUE(released->released) << "round " << round;
    auto view = GetOn(*store, "2125550001");
    ASSERT_THAT(view, IsOk());
    ASSERT_FALSE(view->reserved) << "round " << round << ": still held after its release";
    pool = to;
  }
}

TEST_F(RedisStoreTest, RedisDownAnswersUnavailableFastAndRecoversOnItsOwn) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  ASSERT_THAT(AddOn(*store, "2125550002"), IsOk());
  ASSERT_TRUE(store->Health().can_allocate);
  redis_.Kill();
  for (int i = 0; i < 3; ++i) {
    const auto started = std::chrono::steady_clock::now();
    auto down = AllocateOn(*store, "2125559999");
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_THAT(down, HasError(ErrorCode::kUnavailable));
    EXPECT_LT(took, std::chrono::milliseconds(500));  // SPEC: a fast 503, never a hang
  }
  EXPECT_FALSE(store->Health().can_allocate);
  EXPECT_EQ(store->Health().mode, "cluster");

  // Back, but empty: the store reconnects by itself and reloads Redis from the journal.
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  core::Result<core::Allocation> back = core::Fail(core::Error::Unavailable("not tried"));
  for (int attempt = 0; attempt < 100 && !back; ++attempt) {  // reconnect backoff is 100 ms
    back = AllocateOn(*store, "2125559999");
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_THAT(back, IsOk());
  EXPECT_TRUE(store->Health().can_allocate);
}

TEST_F(RedisStoreTest, HungRedisAnswersUnavailableWithinTheDeadline) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  redis_.Pause();  // connections stay open, nothing is answered: only timeouts can help
  std::vector<std::thread> callers;
  std::mutex mu;
  std::vector<std::chrono::steady_clock::duration> took;
  std::vector<core::Result<core::Allocation>> results;
  for (int t = 0; t < 16; ++t) {  // more callers than worker connections
    callers.emplace_back([&] {
      const auto started = std::chrono::steady_clock::now();
      auto result = AllocateOn(*store, "2125559999");
      std::lock_guard lock(mu);
      took.push_back(std::chrono::steady_clock::now() - started);
      results.push_back(std::move(result));
    });
  }
  for (auto& c : callers) c.join();
  redis_.Resume();
  for (const auto& result : results) EXPECT_THAT(result, HasError(ErrorCode::kUnavailable));
  for (const auto& d : took) EXPECT_LT(d, std::chrono::milliseconds(500));
  // Answering again: the timed-out connections were dropped and are made anew.
  core::Result<core::Allocation> back = core::Fail(core::Error::Unavailable("not tried"));
  for (int attempt = 0; attempt < 100 && !back; ++attempt) {
    back = AllocateOn(*store, "2125559999");
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_THAT(back, IsOk());
}

// Once an allocation has loaded the scripts and fetched an id block, allocations and releases
// by id go through the pipeline (redis_store_calls.cc): its deadline holds as the workers' does.
TEST_F(RedisStoreTest, HungRedisAnswersUnavailableWithinTheDeadlineOnThePipelineToo) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  ASSERT_THAT(AddOn(*store, "2125550002"), IsOk());
  auto first = AllocateOn(*store, "2125559999");
  ASSERT_THAT(first, IsOk());
  core::ReleaseRequest release;
  release.reservation_id = first->reservation.id;
  ASSERT_THAT(Await<core::ReleaseResult>([&](auto done) { store->Release(release, done); }),
              IsOk());  // the pool is known now: releases by id take the pipeline
  auto held = AllocateOn(*store, "2125559999");
  ASSERT_THAT(held, IsOk());
  redis_.Pause();
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THAT(AllocateOn(*store, "2125559999"), HasError(ErrorCode::kUnavailable));
  release.reservation_id = held->reservation.id;
  EXPECT_THAT(Await<core::ReleaseResult>([&](auto done) { store->Release(release, done); }),
              HasError(ErrorCode::kUnavailable));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1000));
  redis_.Resume();
  core::Result<core::ReleaseResult> back = core::Fail(core::Error::Unavailable("not tried"));
  for (int attempt = 0; attempt < 100 && !back; ++attempt) {
    back = Await<core::ReleaseResult>([&](auto done) { store->Release(release, done); });
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_THAT(back, IsOk());
  EXPECT_TRUE(back->released);
}

// Allocations sent while Redis hangs are answered 503 at their deadline, but Redis runs them
// when it resumes: each one then must change nothing (allocate.lua's deadline, in Redis's time,
// known from Tick), or it holds a number nobody uses until its TTL, unjournaled, and counts
// against its agent's limit.
TEST_F(RedisStoreTest, AllocationsRunAfterTheirCallerGaveUpChangeNothing) {
  StoreConfig config;
  config.rate_limit_per_agent = 3;
  auto store = OpenInstance(config);
  ASSERT_TRUE(store);
  for (int i = 0; i < 10; ++i)
    ASSERT_THAT(AddOn(*store, "21255500" + std::to_string(10 + i)), IsOk());
  CallOn(*store, "2125559999");  // scripts loaded, an id block taken: the pipeline is used
  for (int i = 0; i < 5; ++i) {  // Tick measures Redis's clock (asynchronously)
    store->Tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  redis_.Pause();
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(Await<core::Allocation>(
                    [&](auto done) { store->Allocate(To("2125559999", "agent7"), done); }),
                HasError(ErrorCode::kUnavailable));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  redis_.Resume();
  core::Result<core::Allocation> after = core::Fail(core::Error::Unavailable("not tried"));
  for (int attempt = 0; attempt < 100 && !after; ++attempt) {
    after = Await<core::Allocation>(
        [&](auto done) { store->Allocate(To("2125559999", "agent7"), done); });
    if (!after) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_THAT(after, IsOk()) << "the refused calls did not count against agent7's limit of 3";
  auto stats = Await<StoreStats>([&](auto done) { store->GetStats(done); });
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->reserved_numbers, 1u) << "only the allocation answered 200 holds a number";
}

// Many changes of a number another instance is changing: at most half the workers wait for its
// edit lock, so unrelated calls (a release by number takes a worker) and the holder's unlock
// still run at once; the rest are refused at once instead of holding every worker for 2 s.
TEST_F(RedisStoreTest, ConcurrentChangesOfOneNumberLeaveWorkersForOtherCalls) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  ASSERT_THAT(AddOn(*store, "3105550001"), IsOk());
  ASSERT_THAT(AllocateOn(*store, "3105559999"), IsOk());
  const auto number = *core::PhoneNumber::ParsePoolNumber("2125550001");
  // Another instance is changing the number for the next 1.5 s.
  ASSERT_EQ(redis_.Command(
                {"SET", std::string(redis::kEditKeyPrefix) + "2125550001", "other", "PX", "1500"}),
            "+OK\r\n");
  std::atomic<int> changed{0};
  std::vector<std::thread> changes;
  for (int i = 0; i < 16; ++i) {
    changes.emplace_back([&, i] {
      core::NumberPatch patch;
      patch.hourly_cap = static_cast<std::uint16_t>(1 + i);
      if (Await<core::NumberView>([&](auto done) { store->UpdateNumber(number, patch, done); })) {
        ++changed;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the changes wait for the lock
  core::ReleaseRequest release;
  release.caller_id = *core::PhoneNumber::ParsePoolNumber("3105550001");
  const auto started = std::chrono::steady_clock::now();
  auto released = Await<core::ReleaseResult>([&](auto done) { store->Release(release, done); });
  const auto took = std::chrono::steady_clock::now() - started;
  for (auto& change : changes) change.join();
  ASSERT_THAT(released, IsOk());
  EXPECT_TRUE(released->released);
  EXPECT_LT(took, std::chrono::milliseconds(500));
  EXPECT_GE(changed.load(), 1) << "the waiting ones go on once the lock is free";
}

TEST_F(RedisStoreTest, RedisRestartedEmptyIsRebuiltWithoutReusingALiveReservation) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001", 2), IsOk());
  ASSERT_THAT(AddOn(*store, "2125550002"), IsOk());
  ASSERT_THAT(AddOn(*store, "2125550003"), IsOk());
  auto held = AllocateOn(*store, "2125559999");  // 0001, stays reserved
  ASSERT_THAT(held, IsOk());
  auto used = AllocateOn(*store, "2125559999");  // 0002, released again
  ASSERT_THAT(used, IsOk());
  core::ReleaseRequest release;
  release.reservation_id = used->reservation.id;
  ASSERT_TRUE(
      Await<core::ReleaseResult>([&](auto done) { store->Release(release, done); })->released);
  store->Flush();

  ASSERT_TRUE(redis_.Restart()) << redis_.error();  // every key is gone
  auto other = OpenInstance();  // a second instance meets the empty Redis first, or adopts
  ASSERT_TRUE(other);

  std::set<std::string> handed_out;
  for (Store* s : {static_cast<Store*>(store.get()), static_cast<Store*>(other.get())}) {
    core::Result<core::Allocation> next = core::Fail(core::Error::Unavailable("not tried"));
    for (int attempt = 0; attempt < 100 && !next; ++attempt) {
      next = AllocateOn(*s, "2125559999");
      if (!next && next.error().code() != ErrorCode::kUnavailable) break;
      if (!next) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_THAT(next, IsOk());
    EXPECT_NE(next->reservation.caller_id, held->reservation.caller_id);
    EXPECT_GT(next->reservation.id, used->reservation.id);  // ids continue above the journal's
    handed_out.insert(next->reservation.caller_id.ToString());
  }
  // 0003 (never used) then 0002 (used before the restart): 0001 is still held.
  EXPECT_EQ(handed_out, (std::set<std::string>{"2125550002", "2125550003"}));
  EXPECT_THAT(AllocateOn(*store, "2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  auto view = GetOn(*store, "2125550001");
  ASSERT_THAT(view, IsOk());
  EXPECT_TRUE(view->reserved);
  EXPECT_EQ(view->hourly_used_now, 1);  // counters came back too

  // The held reservation still ends by its TTL, after the rebuild.
  clock_.Advance(core::Seconds(300));
  core::ReleaseRequest by_number;
  by_number.caller_id = held->reservation.caller_id;
  EXPECT_FALSE(
      Await<core::ReleaseResult>([&](auto done) { store->Release(by_number, done); })->released);
}

// Allocates on `store` until it answers something else than kUnavailable (a rebuild running).
core::Result<core::Allocation> AllocateOnceLoaded(Store& store, const std::string& to) {
  core::Result<core::Allocation> next = core::Fail(core::Error::Unavailable("not tried"));
  for (int attempt = 0; attempt < 200; ++attempt) {
    next = Await<core::Allocation>([&](auto done) { store.Allocate(To(to), done); });
    if (next || next.error().code() != ErrorCode::kUnavailable) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return next;
}

// Redis back empty: the rebuild puts each agent's last minute of allocations back (from the
// journal), so the limit holds across it; it gave every agent a fresh minute (the fault review:
// up to 62 allocations in 60 s against a limit of 30).
TEST_F(RedisStoreTest, TheAgentRateLimitHoldsAcrossARedisThatLostItsData) {
  StoreConfig config;
  config.rate_limit_per_agent = 2;
  auto store = OpenInstance(config);
  ASSERT_TRUE(store);
  for (int i = 0; i < 4; ++i) ASSERT_THAT(AddOn(*store, "212555000" + std::to_string(i)), IsOk());
  const auto allocate_as = [&](const std::string& agent) {
    core::Result<core::Allocation> a = core::Fail(core::Error::Unavailable("not tried"));
    for (int attempt = 0; attempt < 200; ++attempt) {  // past the reload
      a = Await<core::Allocation>(
          [&](auto done) { store->Allocate(To("2125559999", agent), done); });
      if (a || a.error().code() != ErrorCode::kUnavailable) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return a;
  };
  ASSERT_THAT(allocate_as("agent7"), IsOk());
  ASSERT_THAT(allocate_as("agent7"), IsOk());
  store->Flush();
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  EXPECT_THAT(allocate_as("agent7"), HasError(ErrorCode::kRateLimited));
  EXPECT_THAT(allocate_as("agent8"), IsOk()) << "another agent's minute is its own";
  clock_.Advance(core::Seconds(60));
  EXPECT_THAT(allocate_as("agent7"), IsOk());
}

// A live reservation whose number moved to another pool keeps naming the pool it was made in
// when Redis is rebuilt from the journal (restore.lua), as the history does.
TEST_F(RedisStoreTest, AMovedNumbersReservationIsRebuiltWithThePoolItWasMadeIn) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  core::NumberSpec spec = Spec("2125550001");
  spec.pool = "sales";
  ASSERT_THAT(Await<core::NumberView>([&](auto done) { store->AddNumber(spec, done); }), IsOk());
  ASSERT_THAT(AddOn(*store, "2125550002"), IsOk());
  ASSERT_THAT(MapCampaignOf(*store, "sales"), IsOk());
  auto held = Await<core::Allocation>(
      [&](auto done) { store->Allocate(To("2125559999", "auto", "sales"), done); });
  ASSERT_THAT(held, IsOk());
  core::NumberPatch move;
  move.pool = "default";
  ASSERT_THAT(Await<core::NumberView>(
                  [&](auto done) { store->UpdateNumber(held->reservation.caller_id, move, done); }),
              IsOk());
  store->Flush();
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  auto next = AllocateOnceLoaded(*store, "2125559999");  // rebuilt by now: 0002, not the held one
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->reservation.caller_id.ToString(), "2125550002");
  auto live = Await<std::vector<ReservationRecord>>([&](auto done) {
    store->ListReservations(ReservationQuery{true, 10}, done);
  });
  ASSERT_THAT(live, IsOk());
  ASSERT_EQ(live->size(), 2U);
  for (const ReservationRecord& record : *live) {
    if (record.reservation.id == held->reservation.id) {
      EXPECT_EQ(record.reservation.pool, "sales");
    } else {
      EXPECT_EQ(record.reservation.pool, "default");
    }
  }
}

// An instance opened on a Redis without its data while its own journal has a backlog (one found
// at start-up) cannot load it yet: /health says from the start that it cannot allocate (it said
// "healthy"), and its ticks (Pools finds no pool, then no generation) load Redis once the backlog
// is written, with no call to set it off (a load balancer keeps calls from an instance whose
// /health fails).
TEST_F(RedisStoreTest, AnInstanceThatCannotLoadRedisAtOpenSaysSoAndLoadsItFromItsTicks) {
  auto backlogged = std::make_unique<BackloggedJournal>(journal_);
  BackloggedJournal& backlog = *backlogged;
  backlog.Hold();
  auto store = OpenInstance({}, std::move(backlogged));
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->Health().can_allocate);
  backlog.Drain();
  for (int i = 0; i < 200 && !store->Health().can_allocate; ++i) {
    store->Tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(store->Health().can_allocate);
  EXPECT_EQ(redis_.Command({"EXISTS", "cid:generation:v2"}), ":1\r\n");
}

// Another instance answered allocations while PostgreSQL was down and has not written them yet
// when Redis loses its data: a rebuild from PostgreSQL would hand its held numbers out again, so
// it waits for that instance's backlog, announced again in the emptied Redis at its next tick,
// both when the announcement is there before the rebuild and when it comes during the load.
TEST_F(RedisStoreTest, ARebuildWaitsForAnotherInstancesJournalBacklog) {
  rebuild_grace_ = std::chrono::milliseconds(1'500);
  auto loader = OpenInstance();
  ASSERT_TRUE(loader);
  auto backlogged = std::make_unique<BackloggedJournal>(journal_);
  BackloggedJournal& backlog = *backlogged;
  auto degraded = OpenInstance({}, std::move(backlogged));
  ASSERT_TRUE(degraded);
  ASSERT_THAT(AddOn(*loader, "2125550001"), IsOk());
  ASSERT_THAT(AddOn(*loader, "2125550002"), IsOk());
  CallOn(*loader, "2125559999");  // 0001, released: the journal has a reservation
  loader->Flush();

  backlog.Hold();  // PostgreSQL down for `degraded`
  auto held = AllocateOn(*degraded, "2125559999");
  ASSERT_THAT(held, IsOk());
  EXPECT_EQ(held->reservation.caller_id.ToString(), "2125550002");
  ASSERT_TRUE(redis_.Restart()) << redis_.error();  // every key is gone

  // The rebuild starts before the announcement is back, and finds it before publishing.
  const auto loading = [&] { return redis_.Command({"EXISTS", "cid:rebuild_lock"}) == ":1\r\n"; };
  for (int i = 0; i < 100 && !loading(); ++i) {
    EXPECT_THAT(AllocateOn(*loader, "2125559999"), HasError(ErrorCode::kUnavailable));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(loading());
  degraded->Tick();
  const auto announced = [&] { return redis_.Command({"KEYS", "cid:backlog:*"}) != "*0\r\n"; };
  for (int i = 0; i < 100 && !announced(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(announced());
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2'500);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_THAT(AllocateOn(*loader, "2125559999"), HasError(ErrorCode::kUnavailable));
    // /health says so (it said "healthy" while every allocation was refused).
    EXPECT_FALSE(loader->Health().can_allocate);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(redis_.Command({"EXISTS", "cid:generation:v2"}), ":0\r\n") << "reloaded meanwhile";

  backlog.Drain();   // PostgreSQL back: the backlog is written
  degraded->Tick();  // and the announcement withdrawn
  auto next = AllocateOnceLoaded(*loader, "2125559999");
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->reservation.caller_id.ToString(), "2125550001");  // 0002 is still held
  EXPECT_TRUE(loader->Health().can_allocate);
  EXPECT_EQ(redis_.Command({"KEYS", "cid:backlog:*"}), "*0\r\n");
}

// The active filter reads each number's hash: list.lua looks at a slice a call, and the listing
// goes on slice by slice to the same page and total as in one go.
TEST_F(RedisStoreTest, ListingActiveNumbersGoesSliceBySlice) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  for (int i = 10; i < 33; ++i) ASSERT_THAT(AddOn(*store, "21255500" + std::to_string(i)), IsOk());
  for (int i = 10; i < 33; i += 3) {
    core::NumberPatch off;
    off.active = false;
    ASSERT_THAT(Await<core::NumberView>([&](auto done) {
                  store->UpdateNumber(
                      *core::PhoneNumber::ParsePoolNumber("21255500" + std::to_string(i)), off,
                      done);
                }),
                IsOk());
  }
  const auto list = [](Store& s, bool active, std::size_t offset, std::size_t limit) {
    NumberFilter filter;
    filter.active = active;
    filter.offset = offset;
    filter.limit = limit;
    return Await<NumberPage>([&](auto done) { s.ListNumbers(filter, done); });
  };
  StoreConfig config;
  auto sliced_store = [&] {
    RedisStoreOptions options;
    options.index = config.index;
    options.redis.connection.port = redis_.port();
    options.redis.connection.password = password_;
    options.redis.connection.db = db_;
    options.list_slice = 4;  // 23 numbers: 6 calls
    auto opened =
        RedisStore::Open(clock_, calendar_, options, std::make_unique<SharedJournal>(journal_));
    EXPECT_THAT(opened, IsOk());
    return opened ? std::move(*opened) : nullptr;
  }();
  ASSERT_TRUE(sliced_store);
  for (const bool active : {true, false}) {
    for (const auto& [offset, limit] :
         {std::pair<std::size_t, std::size_t>{0, 100}, {3, 5}, {14, 10}}) {
      auto whole = list(*store, active, offset, limit);
      auto sliced = list(*sliced_store, active, offset, limit);
      ASSERT_THAT(whole, IsOk());
      ASSERT_THAT(sliced, IsOk());
      EXPECT_EQ(sliced->total, active ? 15u : 8u);
      EXPECT_EQ(sliced->total, whole->total);
      ASSERT_EQ(sliced->numbers.size(), whole->numbers.size()) << offset << "+" << limit;
      for (std::size_t i = 0; i < whole->numbers.size(); ++i) {
        EXPECT_EQ(sliced->numbers[i].spec.caller_id, whole->numbers[i].spec.caller_id);
        EXPECT_EQ(sliced->numbers[i].spec.active, active);
      }
    }
  }
}

// Redis back empty while the journal is down (allocations it answered meanwhile would be in its
// queue only): the reload waits for the journal, then holds what it answered.
TEST_F(RedisStoreTest, RedisBackEmptyIsReloadedOnlyOnceTheJournalIsWritable) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  ASSERT_THAT(AddOn(*store, "2125550002"), IsOk());
  auto held = AllocateOn(*store, "2125559999");
  ASSERT_THAT(held, IsOk());
  store->Flush();
  journal_unhealthy_ = true;  // readable, its backlog not written yet
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(AllocateOn(*store, "2125559999"), HasError(ErrorCode::kUnavailable));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(redis_.Command({"EXISTS", "cid:generation:v2"}), ":0\r\n") << "reloaded meanwhile";
  journal_unhealthy_ = false;
  auto next = AllocateOnceLoaded(*store, "2125559999");
  ASSERT_THAT(next, IsOk());
  EXPECT_NE(next->reservation.caller_id, held->reservation.caller_id);
}

TEST_F(RedisStoreTest, RedisBackWithOlderDataIsRebuiltWithoutReusingALiveReservation) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  // Imported, so never-used numbers' hashes have no `lu` field at all (insert.lua).
  std::vector<ImportItem> items(3);
  for (std::size_t i = 0; i < items.size(); ++i) {
    items[i].spec = Spec("212555000" + std::to_string(i + 1));
  }
  ASSERT_THAT(Await<ImportResult>([&](Callback<ImportResult> done) {
                store->ImportNumbers(items, OnDuplicate::kFail, std::move(done));
              }),
              IsOk());
  auto kept = AllocateOn(*store, "2125559999");  // 0001: in the snapshot
  ASSERT_THAT(kept, IsOk());
  ASSERT_TRUE(redis_.SaveSnapshot());
  auto lost = AllocateOn(*store, "2125559999");  // 0002: acknowledged after it
  ASSERT_THAT(lost, IsOk());
  ASSERT_EQ(lost->reservation.caller_id.ToString(), "2125550002");
  store->Flush();

  // Redis comes back as it was at the snapshot, generation key and all: without the check, 0002
  // would be free there, and handed out again while its call still holds it.
  ASSERT_TRUE(redis_.RestartFromSnapshot()) << redis_.error();
  auto next = AllocateOnceLoaded(*store, "2125559999");
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->reservation.caller_id.ToString(), "2125550003");
  EXPECT_GT(next->reservation.id, lost->reservation.id);
  EXPECT_THAT(AllocateOn(*store, "2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));

  // An instance started on such a Redis checks it too (it loads the scripts without NOSCRIPT).
  ASSERT_TRUE(redis_.RestartFromSnapshot()) << redis_.error();
  auto other = OpenInstance();
  ASSERT_TRUE(other);
  EXPECT_THAT(AllocateOnceLoaded(*other, "2125559999"),
              HasError(ErrorCode::kNoCallerIdAvailable));
}

// Redis back from a snapshot older than allocations that have all ended since (dialers hold
// numbers for seconds, a restart takes about one): the check still sees them, by their numbers'
// last use, and rebuilds. Unseen, the snapshot's hourly counts lacked them: the review measured
// every number of a pool given out twice its cap.
TEST_F(RedisStoreTest, RedisBackWithOlderDataIsRebuiltAlsoWhenItsLostCallsHaveEnded) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001", /*hourly=*/1), IsOk());
  ASSERT_TRUE(redis_.SaveSnapshot());
  CallOn(*store, "2125559999");  // the hour's one call, released: nothing live remains
  store->Flush();
  clock_.Advance(core::Seconds(2));

  ASSERT_TRUE(redis_.RestartFromSnapshot()) << redis_.error();
  EXPECT_THAT(AllocateOnceLoaded(*store, "2125559999"), HasError(ErrorCode::kNoCallerIdAvailable))
      << "the number given out past its hourly cap";
}

// Each instance takes reservation ids in blocks of 1,024, so the newest reservations by id can
// all be another instance's older ones: the check must look at the newest by time.
TEST_F(RedisStoreTest, RedisBackWithOlderDataIsSeenWhenAnotherInstanceHoldsHigherIds) {
  auto low = OpenInstance();
  auto high = OpenInstance();
  ASSERT_TRUE(low && high);
  std::vector<ImportItem> items(1002);
  for (std::size_t i = 0; i < items.size(); ++i) {
    items[i].spec = Spec(std::to_string(2125550000 + i));
  }
  ASSERT_THAT(Await<ImportResult>([&](Callback<ImportResult> done) {
                low->ImportNumbers(items, OnDuplicate::kFail, std::move(done));
              }),
              IsOk());
  auto first = AllocateOn(*low, "2125559999");  // takes the first block of ids
  ASSERT_THAT(first, IsOk());
  for (int i = 0; i < 1000; ++i) {  // the next block: 1,000 live reservations, all newer ids
    auto a = AllocateOn(*high, "2125559999");
    ASSERT_THAT(a, IsOk());
    ASSERT_GT(a->reservation.id, first->reservation.id);
  }
  ASSERT_TRUE(redis_.SaveSnapshot());
  clock_.Advance(core::Seconds(1));
  auto lost = AllocateOn(*low, "2125559999");  // the last free number, acknowledged after it
  ASSERT_THAT(lost, IsOk());
  ASSERT_LT(lost->reservation.id, first->reservation.id + 1024);
  low->Flush();

  ASSERT_TRUE(redis_.RestartFromSnapshot()) << redis_.error();
  // Rebuilt from the journal: every number is held, the lost allocation's included.
  EXPECT_THAT(AllocateOnceLoaded(*low, "2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
}

// An instance whose first block of ids comes after Redis returned from an older snapshot: taken
// from the snapshot's counter before any script found the server changed (NOSCRIPT), the block
// repeated ids given out since the snapshot (the fault review: 503s for duplicate keys with
// PostgreSQL up, 200s never recorded while it was down). A block is taken only from a server
// whose scripts are loaded, so checked against the journal.
TEST_F(RedisStoreTest, AnInstanceTakesNoReservationIdsFromAnOlderSnapshotsCounter) {
  auto first = OpenInstance();
  auto second = OpenInstance();
  auto third = OpenInstance();  // started, its scripts loaded; no id block yet
  ASSERT_TRUE(first && second && third);
  ASSERT_THAT(AddOn(*first, "2125550001"), IsOk());
  ASSERT_THAT(AddOn(*first, "2125550002"), IsOk());
  const auto allocate_and_release = [](RedisStore& store) {
    auto a = AllocateOn(store, "2125559999");
    if (a) {
      core::ReleaseRequest release;
      release.reservation_id = a->reservation.id;
      EXPECT_THAT(Await<core::ReleaseResult>([&](auto done) { store.Release(release, done); }),
                  IsOk());
    }
    return a;
  };
  ASSERT_THAT(allocate_and_release(*first), IsOk());
  ASSERT_TRUE(redis_.SaveSnapshot());
  auto after_snapshot = allocate_and_release(*second);  // the counter's next block
  ASSERT_THAT(after_snapshot, IsOk());
  first->Flush();
  second->Flush();

  ASSERT_TRUE(redis_.RestartFromSnapshot()) << redis_.error();
  auto next = AllocateOnceLoaded(*third, "2125559999");
  ASSERT_THAT(next, IsOk());
  // The second instance's block (1,024 ids from after_snapshot's on) is still its own.
  EXPECT_GE(next->reservation.id, after_snapshot->reservation.id + 1024)
      << "an id of the block the snapshot's counter handed out again";
}

// An instance started while PostgreSQL is down joins on the Redis the others run on (its journal
// queues its writes meanwhile) instead of refusing to start; with no journal to say how far the
// ids went, it takes Redis unchecked and jumps the id counter, as a running instance does.
TEST_F(RedisStoreTest, AnInstanceStartsOnRedisAloneWhileTheJournalIsDown) {
  auto first = OpenInstance();
  ASSERT_TRUE(first);
  ASSERT_THAT(AddOn(*first, "2125550001"), IsOk());
  const std::uint64_t before = CallOn(*first, "2125559999");
  first->Flush();
  journal_->SetFailure(core::Error::Unavailable("journal down"));
  journal_unhealthy_ = true;
  journal_unreachable_ = true;
  auto second = OpenInstance();
  ASSERT_TRUE(second) << "refused to start without the journal";
  journal_->SetFailure(std::nullopt);
  journal_unhealthy_ = false;
  journal_unreachable_ = false;
  auto next = AllocateOn(*second, "2125559999");
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->reservation.caller_id.ToString(), "2125550001");
  EXPECT_GT(next->reservation.id, before + (std::uint64_t{1} << 32))
      << "ids not jumped clear of those an older snapshot may have lost";
}

// A journal that can be reached but fails the Load (a schema newer than this binary, a failing
// statement) is no outage: the instance does not start, as before there was a way to start
// without the journal.
TEST_F(RedisStoreTest, AnInstanceDoesNotStartWhenTheReachableJournalFailsItsLoad) {
  auto first = OpenInstance();
  ASSERT_TRUE(first);
  ASSERT_THAT(AddOn(*first, "2125550001"), IsOk());
  journal_->SetFailure(core::Error::Unavailable("database schema version 99 is newer"));
  RedisStoreOptions options;
  options.redis.connection.port = redis_.port();
  auto opened =
      RedisStore::Open(clock_, calendar_, options, std::make_unique<SharedJournal>(journal_));
  journal_->SetFailure(std::nullopt);
  ASSERT_THAT(opened, HasError(ErrorCode::kUnavailable));
  EXPECT_NE(opened.error().detail().find("schema version 99"), std::string::npos)
      << opened.error().detail();
}

TEST_F(RedisStoreTest, RedisBackWithOlderDataKeepsReservationIdsAboveTheJournals) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  for (int i = 10; i < 22; ++i) {  // 12 numbers: 1,100 allocations stay under the hourly cap
    ASSERT_THAT(AddOn(*store, "21255500" + std::to_string(i)), IsOk());
  }
  ASSERT_TRUE(redis_.SaveSnapshot());
  // More allocations than one block of ids after the snapshot, none of them live at the end:
  // the snapshot's id counter is behind the journal, and the check finds no live one missing.
  std::uint64_t last_id = 0;
  for (int i = 0; i < 1100; ++i) {
    auto a = AllocateOn(*store, "2125559999");
    ASSERT_THAT(a, IsOk());
    last_id = a->reservation.id;
    core::ReleaseRequest release;
    release.reservation_id = a->reservation.id;
    ASSERT_THAT(Await<core::ReleaseResult>([&](auto done) { store->Release(release, done); }),
                IsOk());
  }
  store->Flush();
  ASSERT_TRUE(redis_.RestartFromSnapshot()) << redis_.error();
  // The running instance finishes its block of ids, then takes the next from the counter.
  clock_.Advance(std::chrono::hours(1));
  for (int i = 0; i < 1100; ++i) {
    auto a = AllocateOnceLoaded(*store, "2125559999");
    ASSERT_THAT(a, IsOk());
    ASSERT_GT(a->reservation.id, last_id) << "allocation " << i << " after the restore";
    last_id = a->reservation.id;
    core::ReleaseRequest release;
    release.reservation_id = a->reservation.id;
    ASSERT_THAT(Await<core::ReleaseResult>([&](auto done) { store->Release(release, done); }),
                IsOk());
  }
}

// Another instance took a block of ids after the snapshot and used a few: the counter after the
// restore must clear the rest of that block, which the instance goes on using, both for an
// instance started then and for the check of the restored Redis.
TEST_F(RedisStoreTest, IdsAfterAnOlderSnapshotNeverRepeatAnotherInstancesBlock) {
  auto a = OpenInstance();
  auto b = OpenInstance();
  ASSERT_TRUE(a && b);
  for (int i = 10; i < 22; ++i) {  // 12 numbers of 500 a day: 2,070 calls fit
    ASSERT_THAT(AddOn(*a, "21255500" + std::to_string(i), 1000), IsOk());
  }
  std::set<std::uint64_t> ids;
  // An allocation (the first after the restore may wait for the scripts' reload) and its
  // release; a repeated id fails: the journal refuses a second row with it.
  const auto call = [&](RedisStore& store, bool first) {
    auto allocation =
        first ? AllocateOnceLoaded(store, "2125559999") : AllocateOn(store, "2125559999");
    ASSERT_THAT(allocation, IsOk());
    ASSERT_TRUE(ids.insert(allocation->reservation.id).second)
        << "reservation id " << allocation->reservation.id << " given out twice";
    core::ReleaseRequest release;
    release.reservation_id = allocation->reservation.id;
    ASSERT_THAT(Await<core::ReleaseResult>([&](auto done) { store.Release(release, done); }),
                IsOk());
  };
  ASSERT_NO_FATAL_FAILURE(call(*a, false));  // a's block of ids: in the snapshot's counter
  ASSERT_TRUE(redis_.SaveSnapshot());
  for (int i = 0; i < 6; ++i) ASSERT_NO_FATAL_FAILURE(call(*b, false));  // b's: not in it
  a->Flush();
  b->Flush();
  ASSERT_TRUE(redis_.RestartFromSnapshot()) << redis_.error();
  auto c = OpenInstance();  // started now: takes its block from the counter
  ASSERT_TRUE(c);
  for (int i = 0; i < 1030; ++i) {
    ASSERT_NO_FATAL_FAILURE(call(*c, i == 0));
    ASSERT_NO_FATAL_FAILURE(call(*b, i == 0));
    if (i < 8) {
      ASSERT_NO_FATAL_FAILURE(call(*a, i == 0));
    }
  }
}

TEST_F(RedisStoreTest, InstancesRacingAfterDataLossNeverReuseAHeldNumber) {
  auto a = OpenInstance();
  auto b = OpenInstance();
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 6; ++i) ASSERT_THAT(AddOn(*a, "212555000" + std::to_string(i)), IsOk());
  std::set<std::string> held;
  for (int i = 0; i < 3; ++i) {
    auto allocation = AllocateOn(i % 2 == 0 ? static_cast<Store&>(*a) : *b, "2125559999");
    ASSERT_THAT(allocation, IsOk());
    held.insert(allocation->reservation.caller_id.ToString());
  }
  a->Flush();
  b->Flush();
  ASSERT_TRUE(redis_.Restart()) << redis_.error();

  // Both instances find Redis empty at once: one loads it under the lock, the other answers
  // kUnavailable meanwhile (callers retry); no one allocates from a half-loaded Redis.
  std::mutex mu;
  std::multiset<std::string> allocated;
  int other_errors = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Store& store = t % 2 == 0 ? static_cast<Store&>(*a) : *b;
      // Until the pool is dry for this thread (the load done and every free number taken).
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < until) {
        auto result = AllocateOn(store, "2125559999");
        std::lock_guard lock(mu);
        if (result) {
          allocated.insert(result->reservation.caller_id.ToString());
        } else if (result.error().code() == ErrorCode::kNoCallerIdAvailable) {
          break;
        } else if (result.error().code() != ErrorCode::kUnavailable) {
          ++other_errors;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other_errors, 0);
  EXPECT_EQ(allocated.size(), 3u);  // exactly the three numbers nobody held
  for (const std::string& number : allocated) EXPECT_FALSE(held.contains(number)) << number;
  EXPECT_EQ(std::set<std::string>(allocated.begin(), allocated.end()).size(), 3u);
}

TEST_F(RedisStoreTest, RedisWrittenWithAnotherKeyLayoutIsRebuilt) {
  {
    auto before = OpenInstance();
    ASSERT_TRUE(before);
    ASSERT_THAT(AddOn(*before, "2125550001"), IsOk());
    ASSERT_THAT(AddOn(*before, "2125550002"), IsOk());
    ASSERT_THAT(AllocateOn(*before, "2125559999"), IsOk());  // 0001 stays reserved
  }
  // What the first key layout left: its generation key, and numbers in the pool's `all` set.
  ASSERT_EQ(redis_.Command({"DEL", redis::kGenerationKey}), ":1\r\n");
  ASSERT_EQ(redis_.Command({"SET", "cid:generation", "12345"}), "+OK\r\n");
  ASSERT_EQ(redis_.Command({"ZADD", "cid:{default}:all", "0", "2125550001"}), ":1\r\n");
  // A change under way on another instance keeps its lock through the rebuild.
  ASSERT_EQ(redis_.Command({"SET", "cid:edit:2125550002", "another-instance", "PX", "60000"}),
            "+OK\r\n");
  auto after = OpenInstance();
  ASSERT_TRUE(after);
  auto allocated = AllocateOn(*after, "2125559999");
  ASSERT_THAT(allocated, IsOk());
  EXPECT_EQ(allocated->reservation.caller_id.ToString(), "2125550002");
  EXPECT_THAT(AllocateOn(*after, "2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  EXPECT_EQ(redis_.Command({"EXISTS", "cid:generation"}), ":0\r\n");
  EXPECT_EQ(redis_.Command({"EXISTS", "cid:edit:2125550002"}), ":1\r\n");
}

// A rebuild writes each number's newest reservation back into its hash ('lr', the lookup's link
// the next allocation answers), in whatever pool and chunk the number lands: pools interleave in
// caller_id order, and chunks of 4 make many upsert calls per round trip.
TEST_F(RedisStoreTest, ARebuildGivesEveryNumberItsNewestReservationBack) {
  const std::vector<std::string> pools = {"default", "east", "west"};
  std::vector<JournalEntry> entries;
  std::map<std::string, std::uint64_t> newest;  // number → its newest reservation id
  for (int i = 0; i < 60; ++i) {
    const std::string number = std::to_string(2'125'550'100 + i);
    entries.push_back(NumberUpserted{Spec(number, 0, 0, pools[i % 3]), {}});
    for (int call = 0; call < i % 4; ++call) {  // every fourth number never allocated
      ReservationMade made;
      made.reservation.id = static_cast<std::uint64_t>(1'000 + 100 * call + i);
      made.reservation.caller_id = *core::PhoneNumber::ParsePoolNumber(number);
      made.reservation.pool = pools[i % 3];
      made.reservation.reserved_at = kStart - std::chrono::hours(2) + std::chrono::minutes(call);
      made.reservation.reserved_until = made.reservation.reserved_at + std::chrono::minutes(1);
      newest[number] = made.reservation.id;
      entries.push_back(std::move(made));
    }
  }
  ASSERT_THAT(Await<void>([&](auto done) { journal_->Append(std::move(entries), done); }), IsOk());
  import_chunk_ = 4;
  auto store = OpenInstance();  // an empty Redis: rebuilt from the journal
  ASSERT_TRUE(store);
  for (int i = 0; i < 60; ++i) {
    const std::string number = std::to_string(2'125'550'100 + i);
    const std::string key = redis::PoolPrefix(pools[i % 3]) + "n:" + number;
    EXPECT_EQ(redis_.Command({"HGET", key, "act"}), "$1\r\n1\r\n") << number;
    const auto it = newest.find(number);
    const std::string id = it == newest.end() ? "" : std::to_string(it->second);
    EXPECT_EQ(redis_.Command({"HGET", key, "lr"}),
              id.empty() ? "$-1\r\n" : "$" + std::to_string(id.size()) + "\r\n" + id + "\r\n")
        << number;
  }
  auto view = GetOn(*store, "2125550159");
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->spec.pool, "west");
}

TEST_F(RedisStoreTest, LookupsAfterRedisLostItsDataRebuildItFirst) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  auto held = AllocateOn(*store, "2125559999");
  ASSERT_THAT(held, IsOk());
  store->Flush();
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  // Neither the number nor any pool is in Redis now; the store must not conclude "unknown": it
  // answers kUnavailable while it reloads Redis, then the truth.
  core::Result<core::NumberView> view = core::Fail(core::Error::Unavailable("not tried"));
  for (int attempt = 0; attempt < 100 && !view; ++attempt) {
    view = GetOn(*store, "2125550001");
    if (!view && view.error().code() != ErrorCode::kUnavailable) break;
    if (!view) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_THAT(view, IsOk());
  EXPECT_TRUE(view->reserved);
  core::ReleaseRequest release;
  release.reservation_id = held->reservation.id;
  auto released = Await<core::ReleaseResult>([&](auto done) { store->Release(release, done); });
  ASSERT_THAT(released, IsOk());
  EXPECT_TRUE(released->released);
  EXPECT_THAT(AllocateOn(*store, "2125559999"), IsOk());
}

TEST_F(RedisStoreTest, StoreOpenedWhileRedisIsDownLoadsItWhenItComesBack) {
  ASSERT_THAT(AddOn(*OpenInstance(), "2125550001"), IsOk());
  redis_.Kill();
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->Health().can_allocate);
  EXPECT_THAT(AllocateOn(*store, "2125559999"), HasError(ErrorCode::kUnavailable));
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  core::Result<core::Allocation> back = core::Fail(core::Error::Unavailable("not tried"));
  for (int attempt = 0; attempt < 100 && !back; ++attempt) {
    back = AllocateOn(*store, "2125559999");
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->reservation.caller_id.ToString(), "2125550001");
}

TEST_F(RedisStoreTest, TickReturnsEveryDueNumberNotOnlyABatch) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  std::vector<ImportItem> items;
  for (std::uint64_t d = 2125550000; d < 2125550600; ++d) {
    ImportItem item;
    item.spec.caller_id = core::PhoneNumber::FromValidDigits(d);
    items.push_back(item);
  }
  ASSERT_THAT(Await<ImportResult>([&](Callback<ImportResult> done) {
                store->ImportNumbers(std::move(items), OnDuplicate::kUpdate, std::move(done));
              }),
              IsOk());
  for (int i = 0; i < 600; ++i) ASSERT_THAT(AllocateOn(*store, "2125559999"), IsOk());
  clock_.Advance(core::Seconds(300));
  store->Tick();
  store->Flush();  // waits for the tick queued on the Redis workers
  auto stats = Await<StoreStats>([&](auto done) { store->GetStats(done); });
  ASSERT_THAT(stats, IsOk());
  // A script call returns at most 256 due numbers; only the tick brings back all 600.
  EXPECT_EQ(stats->available_numbers, 600u);
  EXPECT_EQ(stats->reserved_numbers, 0u);
}

// An import killed between claiming its new numbers (cid:pool_of) and writing them left claims
// with no number behind them: every read of such a number was a 404, an add a 409, and rerunning
// the file refused its rows (the cluster fault review: 14,000-46,000 numbers per killed import,
// until a rebuild). The rerun adds them.
TEST_F(RedisStoreTest, AnImportAddsTheNumbersAKilledImportClaimedAndNeverWrote) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());  // the pool exists, as after earlier chunks
  ASSERT_EQ(redis_.Command({"HSET", "cid:pool_of", "2125550002", "default"}), ":1\r\n");
  EXPECT_THAT(GetOn(*store, "2125550002"), HasError(ErrorCode::kNotFound));
  std::vector<ImportItem> items(2);
  items[0].spec = Spec("2125550001");
  items[1].spec = Spec("2125550002");
  auto imported = Await<ImportResult>([&](Callback<ImportResult> done) {
    store->ImportNumbers(std::move(items), OnDuplicate::kUpdate, std::move(done));
  });
  ASSERT_THAT(imported, IsOk());
  EXPECT_EQ(imported->imported, 1U);
  EXPECT_EQ(imported->updated, 1U);
  EXPECT_TRUE(imported->refused.empty());
  EXPECT_THAT(GetOn(*store, "2125550002"), IsOk());
  std::set<std::string> given;
  for (int i = 0; i < 2; ++i) {
    auto a = AllocateOn(*store, "2125559999");
    ASSERT_THAT(a, IsOk());
    given.insert(a->reservation.caller_id.ToString());
  }
  EXPECT_EQ(given, (std::set<std::string>{"2125550001", "2125550002"}));
  // In the journal too: a Redis rebuilt from it has the number.
  store->Flush();
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  clock_.Advance(core::Seconds(300));  // the two reservations ended
  ASSERT_THAT(AllocateOnceLoaded(*store, "2125559999"), IsOk());
  EXPECT_THAT(GetOn(*store, "2125550002"), IsOk());
}

// The import writes numbers that cid:pool_of places in no pool with insert.lua, which refuses a
// whole chunk when one of them exists after all (another writer added it after the lookup). The
// chunk is then upserted: the number is updated, not added twice.
TEST_F(RedisStoreTest, ImportOfANumberAddedSinceItsLookupUpdatesIt) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550100"), IsOk());
  // As if the lookup ran before the other writer's claim: the number is in the pool, unmapped.
  redis::ConnectionOptions connection;
  connection.port = redis_.port();
  redis::RedisConnection raw(connection);
  ASSERT_THAT(raw.Run({"HDEL", redis::kPoolOfKey, "2125550100"}), IsOk());

  std::vector<ImportItem> items;
  for (std::uint64_t d : {2125550100, 2125550101}) {
    ImportItem item;
    item.spec.caller_id = core::PhoneNumber::FromValidDigits(d);
    item.spec.carrier = "Imported";
    items.push_back(item);
  }
  auto result = Await<ImportResult>([&](Callback<ImportResult> done) {
    store->ImportNumbers(std::move(items), OnDuplicate::kUpdate, std::move(done));
  });
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->imported, 1u);
  EXPECT_EQ(result->updated, 1u);
  auto stats = Await<StoreStats>([&](auto done) { store->GetStats(done); });
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->total_numbers, 2u);
  EXPECT_EQ(stats->available_numbers, 2u);
  auto added = GetOn(*store, "2125550101");
  ASSERT_THAT(added, IsOk());
  EXPECT_EQ(added->spec.carrier, "Imported");
}

// An import into a Redis that another instance is loading (no generation until the load is done)
// writes nothing to it: its claims would be dropped when it fails, and with them the cid:pool_of
// entries the loader wrote meanwhile for the same numbers. It answers kUnavailable, to be offered
// again once the load is published (app/cluster_import.cc).
TEST_F(RedisStoreTest, AnImportIntoARedisBeingLoadedWritesNothingToIt) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550100"), IsOk());
  ASSERT_EQ(redis_.Command({"SET", redis::kRebuildLockKey, "another-instance", "PX", "60000"}),
            "+OK\r\n");
  ASSERT_EQ(redis_.Command({"DEL", redis::kGenerationKey}), ":1\r\n");
  ASSERT_EQ(redis_.Command({"CONFIG", "RESETSTAT"}), "+OK\r\n");

  std::vector<ImportItem> items(2);
  items[0].spec.caller_id = core::PhoneNumber::FromValidDigits(2125550100);
  items[1].spec.caller_id = core::PhoneNumber::FromValidDigits(2125550101);
  EXPECT_THAT(Await<ImportResult>([&](Callback<ImportResult> done) {
                store->ImportNumbers(std::move(items), OnDuplicate::kUpdate, std::move(done));
              }),
              HasError(ErrorCode::kUnavailable));
  store->Flush();
  const std::string calls = redis_.Command({"INFO", "commandstats"});
  EXPECT_EQ(calls.find("cmdstat_eval"), std::string::npos) << calls;  // EVAL and EVALSHA
  EXPECT_EQ(calls.find("cmdstat_hset"), std::string::npos) << calls;
  EXPECT_EQ(redis_.Command({"HEXISTS", redis::kPoolOfKey, "2125550101"}), ":0\r\n");
  ASSERT_EQ(redis_.Command({"DEL", redis::kRebuildLockKey}), ":1\r\n");  // it may rebuild now
}

// An import, and adds of its numbers to another pool through another instance at the same time:
// each number ends in one pool, the one cid:pool_of names. The import claims its numbers in no
// pool before it writes them (it used to map them only afterwards, over an add made meanwhile,
// leaving the number in both pools, each handing it out). An add before the claim is moved by the
// import; one after it is refused. A number still being added when the import reads it may fail
// the import (it is in no pool yet): then nothing the import did not write stays claimed.
TEST_F(RedisStoreTest, AnImportAndAddsOfItsNumbersToAnotherPoolLeaveEachInOnePool) {
  import_chunk_ = 50;
  auto importing = OpenInstance();
  auto adding = OpenInstance();
  ASSERT_TRUE(importing && adding);
  constexpr std::uint64_t kFirst = 2'125'550'000;
  constexpr int kNumbers = 4'000;
  std::vector<ImportItem> items;
  for (int i = 0; i < kNumbers; ++i) {
    ImportItem item;
    item.spec.caller_id = core::PhoneNumber::FromValidDigits(kFirst + i);
    item.spec.pool = "east";
    items.push_back(item);
  }
  std::thread adder([&] {  // from the last number down: the import writes them last
    for (int i = kNumbers - 1; i >= 0; --i) {
      core::NumberSpec spec = Spec(std::to_string(kFirst + i));
      spec.pool = "west";
      (void)Await<core::NumberView>([&](auto done) { adding->AddNumber(spec, done); });
    }
  });
  auto imported = Await<ImportResult>([&](Callback<ImportResult> done) {
    importing->ImportNumbers(std::move(items), OnDuplicate::kUpdate, std::move(done));
  });
  adder.join();
  const auto bulk = [](const std::string& text) {
    return "$" + std::to_string(text.size()) + "\r\n" + text + "\r\n";
  };
  int in_west = 0;
  for (int i = 0; i < kNumbers; ++i) {
    const std::string number = std::to_string(kFirst + i);
    const bool east =
        redis_.Command({"EXISTS", redis::PoolPrefix("east") + "n:" + number}) == ":1\r\n";
    const bool west =
        redis_.Command({"EXISTS", redis::PoolPrefix("west") + "n:" + number}) == ":1\r\n";
    ASSERT_FALSE(east && west) << number << " is in both pools";
    const std::string owner = redis_.Command({"HGET", redis::kPoolOfKey, number});
    EXPECT_EQ(owner, east ? bulk("east") : west ? bulk("west") : "$-1\r\n") << number;
    in_west += west ? 1 : 0;
  }
  if (imported) {
    EXPECT_EQ(in_west, 0) << "the import moved every number to its pool";
  }
}

// Three imports of the same numbers at once through three instances: two move them from "east"
// (one to "west", one to "north"), one changes their carrier where they are. Each number ends in
// exactly one pool, the one cid:pool_of names, and every import completes: a row whose number
// moved (or was added elsewhere) while the import ran is refused, not written back into the pool
// the import's lookup saw (which left it in two pools, both handing it out: a review), and not
// the whole import's 404.
TEST_F(RedisStoreTest, ImportsMovingTheSameNumbersAtOnceLeaveEachInOnePool) {
  import_chunk_ = 25;
  constexpr std::uint64_t kFirst = 2'125'550'000;
  constexpr int kNumbers = 300;
  auto west = OpenInstance();
  auto north = OpenInstance();
  auto in_place = OpenInstance();
  ASSERT_TRUE(west && north && in_place);
  for (int i = 0; i < kNumbers; ++i) {
    core::NumberSpec spec = Spec(std::to_string(kFirst + i));
    spec.pool = "east";
    ASSERT_THAT(Await<core::NumberView>([&](auto done) { west->AddNumber(spec, done); }), IsOk());
  }
  const auto rows = [&](const std::string& pool) {
    std::vector<ImportItem> items;
    for (int i = 0; i < kNumbers; ++i) {
      ImportItem item;
      item.spec.caller_id = core::PhoneNumber::FromValidDigits(kFirst + i);
      item.spec.carrier = "Imported";
      item.given = kImportCarrier;
      if (!pool.empty()) {
        item.spec.pool = pool;
        item.given |= kImportPool;
      }
      items.push_back(item);
    }
    return items;
  };
  const auto import = [&](RedisStore& store, std::vector<ImportItem> items) {
    return std::async(std::launch::async, [&store, items = std::move(items)]() mutable {
      return Await<ImportResult>([&](Callback<ImportResult> done) {
        store.ImportNumbers(std::move(items), OnDuplicate::kUpdate, std::move(done));
      });
    });
  };
  auto to_west = import(*west, rows("west"));
  auto to_north = import(*north, rows("north"));
  // Once the moves are under way: its lookup finds some numbers still in "east", which move
  // while its chunks are written.
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  auto where_they_are = import(*in_place, rows(""));
  for (auto* result : {&to_west, &to_north, &where_they_are}) {
    auto done = result->get();
    ASSERT_THAT(done, IsOk());
    EXPECT_EQ(done->updated + done->refused.size(), static_cast<std::size_t>(kNumbers));
    for (const auto& [position, error] : done->refused) EXPECT_EQ(error.field(), "caller_id");
  }
  const auto bulk = [](const std::string& text) {
    return "$" + std::to_string(text.size()) + "\r\n" + text + "\r\n";
  };
  for (int i = 0; i < kNumbers; ++i) {
    const std::string number = std::to_string(kFirst + i);
    std::vector<std::string> holders;
    for (const char* pool : {"east", "west", "north"}) {
      if (redis_.Command({"EXISTS", redis::PoolPrefix(pool) + "n:" + number}) == ":1\r\n") {
        holders.push_back(pool);
      }
    }
    ASSERT_EQ(holders.size(), 1U) << number << " is in " << holders.size() << " pools";
    EXPECT_EQ(redis_.Command({"HGET", redis::kPoolOfKey, number}), bulk(holders[0])) << number;
  }
  auto stats = Await<StoreStats>([&](auto done) { west->GetStats(done); });
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->total_numbers, static_cast<std::uint64_t>(kNumbers));
}

// An import the journal refuses: the chunks written are undone, those not written yet are not
// written, and no claim of the import's stays behind (it would refuse adding the number).
TEST_F(RedisStoreTest, AFailedImportLeavesNoNumberAndNoClaim) {
  import_chunk_ = 50;
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  // A number deleted after a call: the import would take its usage back through upsert.lua, and
  // its claim must go with the failure too (else: 409 on add, 404 on get, until a rebuild).
  ASSERT_THAT(AddOn(*store, "2125553999"), IsOk());
  CallOn(*store, "2125559999");
  ASSERT_THAT(Await<void>([&](auto done) {
                store->DeleteNumber(*core::PhoneNumber::ParsePoolNumber("2125553999"), done);
              }),
              IsOk());
  std::vector<ImportItem> items(4'000);  // 80 chunks: the failure stops it before the end
  for (std::size_t i = 0; i < items.size(); ++i) {
    items[i].spec = Spec(std::to_string(2'125'550'000 + i));
  }
  journal_->SetFailure(core::Error::Unavailable("journal down"));
  EXPECT_THAT(Await<ImportResult>([&](Callback<ImportResult> done) {
                store->ImportNumbers(std::move(items), OnDuplicate::kUpdate, std::move(done));
              }),
              HasError(ErrorCode::kUnavailable));
  journal_->SetFailure(std::nullopt);
  EXPECT_EQ(redis_.Command({"HLEN", redis::kPoolOfKey}), ":0\r\n");
  auto stats = Await<StoreStats>([&](auto done) { store->GetStats(done); });
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->total_numbers, 0u);
  EXPECT_THAT(AddOn(*store, "2125553999"), IsOk());
  EXPECT_EQ(GetOn(*store, "2125553999")->daily_used_now, 1) << "its kept usage, still";
}

// --- turns of periodic jobs (redis_store_leases.cc, docs/redis-keys.md `cid:turn:JOB`) ----------

core::Result<bool> ClaimOn(Store& store, const std::string& job, std::chrono::milliseconds period) {
  return Await<bool>([&](auto done) { store.ClaimTurn(job, period, done); });
}

// Whether `key` is gone from Redis (expired), waiting up to 5 s for Redis's own clock: the key's
// expiry cannot follow the test's ManualClock.
bool GoneWithin5s(const test_support::RedisServer& redis, const std::string& key) {
  for (int attempt = 0; attempt < 250; ++attempt) {
    if (redis.Command({"EXISTS", key}) == ":0\r\n") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST_F(RedisStoreTest, OneInstanceTakesATurnUntilItsPeriodHasPassed) {
  auto a = OpenInstance();
  auto b = OpenInstance();
  ASSERT_TRUE(a && b);
  constexpr std::chrono::milliseconds kPeriod{200};
  auto first = ClaimOn(*a, "auto-rest", kPeriod);
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(*first);
  auto other = ClaimOn(*b, "auto-rest", kPeriod);
  ASSERT_THAT(other, IsOk());
  EXPECT_FALSE(*other);  // a holds this turn
  auto again = ClaimOn(*a, "auto-rest", kPeriod);
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(*again);  // one turn per period, for the holder too
  auto another_job = ClaimOn(*b, "digest", kPeriod);
  ASSERT_THAT(another_job, IsOk());
  EXPECT_TRUE(*another_job);  // each job has turns of its own

  // The key documented, set to expire within the period.
  const std::string ttl = redis_.Command({"PTTL", "cid:turn:auto-rest"});
  ASSERT_EQ(ttl.front(), ':') << ttl;
  const long long left_ms = std::stoll(ttl.substr(1));
  EXPECT_GT(left_ms, 0);
  EXPECT_LE(left_ms, kPeriod.count());

  // Once the period has passed, the next turn goes to whoever asks first.
  ASSERT_TRUE(GoneWithin5s(redis_, "cid:turn:auto-rest"));
  auto next_turn = ClaimOn(*b, "auto-rest", kPeriod);
  ASSERT_THAT(next_turn, IsOk());
  EXPECT_TRUE(*next_turn);
  auto late = ClaimOn(*a, "auto-rest", kPeriod);
  ASSERT_THAT(late, IsOk());
  EXPECT_FALSE(*late);
}

TEST_F(RedisStoreTest, ATurnRedisCannotGiveIsUnavailableNotTaken) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  // An error reply: a full Redis refuses writes (OOM).
  ASSERT_EQ(redis_.Command({"CONFIG", "SET", "maxmemory", "1"}), "+OK\r\n");
  EXPECT_THAT(ClaimOn(*store, "auto-rest", std::chrono::seconds(60)),
              HasError(ErrorCode::kUnavailable));
  ASSERT_EQ(redis_.Command({"CONFIG", "SET", "maxmemory", "0"}), "+OK\r\n");
  redis_.Kill();
  EXPECT_THAT(ClaimOn(*store, "auto-rest", std::chrono::seconds(60)),
              HasError(ErrorCode::kUnavailable));
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  redis_.Pause();  // a hung server: the command timeout answers, never a hang
  EXPECT_THAT(ClaimOn(*store, "auto-rest", std::chrono::seconds(60)),
              HasError(ErrorCode::kUnavailable));
  redis_.Resume();
}

// --- changes of one number from two instances at once (docs/redis-keys.md `cid:edit:N`) ---------

core::Result<core::NumberView> PatchOn(Store& store, const std::string& number,
                                       const core::NumberPatch& patch) {
  return Await<core::NumberView>([&](auto done) {
    store.UpdateNumber(*core::PhoneNumber::ParsePoolNumber(number), patch, done);
  });
}

// Each change reads the number, patches it and writes it back: two at once through two instances
// must not write back what the other replaced (a lost update), and the system of record must end
// with what Redis has (its appends in the order of Redis's writes).
TEST_F(RedisStoreTest, ChangesOfOneNumberFromTwoInstancesAtOnceAreNeverLost) {
  auto a = OpenInstance();
  auto b = OpenInstance();
  ASSERT_TRUE(a && b);
  ASSERT_THAT(AddOn(*a, "2125550001"), IsOk());
  for (int round = 1; round <= 30; ++round) {
    const std::string carrier = "carrier " + std::to_string(round);
    const auto cap = static_cast<std::uint16_t>(round);
    std::atomic<int> ready{0};
    auto start_together = [&ready] {
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
    };
    core::NumberPatch new_cap;
    new_cap.hourly_cap = cap;
    core::NumberPatch new_carrier;
    new_carrier.carrier = carrier;
    std::thread through_b([&] {
      start_together();
      EXPECT_THAT(PatchOn(*b, "2125550001", new_cap), IsOk());
    });
    start_together();
    EXPECT_THAT(PatchOn(*a, "2125550001", new_carrier), IsOk());
    through_b.join();

    auto view = GetOn(*a, "2125550001");
    ASSERT_THAT(view, IsOk());
    ASSERT_EQ(view->spec.carrier, carrier) << "round " << round << ": b wrote back the old carrier";
    ASSERT_EQ(view->spec.hourly_cap, cap) << "round " << round << ": a wrote back the old cap";
    journal_test::RecordingSink recorded;
    ASSERT_THAT(journal_->Load(clock_.Now(), recorded), IsOk());
    ASSERT_EQ(recorded.numbers.size(), 1u);
    EXPECT_EQ(recorded.numbers[0].first.carrier, carrier) << "round " << round;
    EXPECT_EQ(recorded.numbers[0].first.hourly_cap, cap) << "round " << round;
  }
}

// Every admin change reaches the journal with its version (store/journal.h ChangeVersion),
// taken in Redis: the changes of one number, through any instance and any path (add, patch, move
// to another pool, import of a new and of an existing number, delete), get growing versions in
// the order they ran there, which PostgreSQL orders their commits by.
TEST_F(RedisStoreTest, EveryAdminChangeIsJournaledWithAVersionInRedisOrder) {
  class VersionJournal final : public SharedJournal {
   public:
    using SharedJournal::SharedJournal;
    void Append(std::vector<JournalEntry> entries, Durable on_durable) override {
      for (const JournalEntry& entry : entries) {
        std::lock_guard lock(mu);
        if (const auto* upserted = std::get_if<NumberUpserted>(&entry)) {
          versions.push_back(upserted->version);
        } else if (const auto* deleted = std::get_if<NumberDeleted>(&entry)) {
          versions.push_back(deleted->version);
        }
      }
      SharedJournal::Append(std::move(entries), std::move(on_durable));
    }
    std::mutex mu;
    std::vector<ChangeVersion> versions;  // guarded by mu
  };
  auto owned_a = std::make_unique<VersionJournal>(journal_);
  auto owned_b = std::make_unique<VersionJournal>(journal_);
  VersionJournal& journal_a = *owned_a;
  VersionJournal& journal_b = *owned_b;
  auto a = OpenInstance({}, std::move(owned_a));
  auto b = OpenInstance({}, std::move(owned_b));
  ASSERT_TRUE(a && b);
  const auto import = [&](Store& store, const std::string& number, const std::string& pool) {
    std::vector<ImportItem> items(1);
    items[0].spec = Spec(number, 0, 0, pool);
    items[0].given = kImportCarrier | kImportPool;
    return Await<ImportResult>([&](Callback<ImportResult> done) {
      store.ImportNumbers(std::move(items), OnDuplicate::kUpdate, std::move(done));
    });
  };
  core::NumberPatch carrier;
  carrier.carrier = "B";
  core::NumberPatch move;
  move.pool = "east";
  std::vector<ChangeVersion> order;  // each change's version, in the order they were made
  const auto last_of = [&](VersionJournal& journal) {
    std::lock_guard lock(journal.mu);
    return journal.versions.empty() ? ChangeVersion{0} : journal.versions.back();
  };
  ASSERT_THAT(AddOn(*a, "2125550001"), IsOk());
  order.push_back(last_of(journal_a));
  ASSERT_THAT(PatchOn(*b, "2125550001", carrier), IsOk());
  order.push_back(last_of(journal_b));
  ASSERT_THAT(PatchOn(*a, "2125550001", move), IsOk());
  order.push_back(last_of(journal_a));
  ASSERT_THAT(import(*b, "2125550001", "east"), IsOk());  // an existing number (upsert.lua)
  order.push_back(last_of(journal_b));
  ASSERT_THAT(Await<void>([&](auto done) {
                a->DeleteNumber(*core::PhoneNumber::ParsePoolNumber("2125550001"), done);
              }),
              IsOk());
  order.push_back(last_of(journal_a));
  ASSERT_THAT(import(*b, "2125550001", "default"), IsOk());  // new again (insert.lua)
  order.push_back(last_of(journal_b));
  for (std::size_t i = 0; i < order.size(); ++i) {
    EXPECT_NE(order[i], 0U) << "change " << i;
    if (i > 0) {
      EXPECT_GT(order[i], order[i - 1]) << "change " << i;
    }
  }
  // Redis's clock in microseconds: today's, not a counter.
  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_NEAR(static_cast<double>(order.back()), static_cast<double>(now_us), 60e6);
}

// An instance that died while changing a number leaves its lock: the next change waits for it
// to expire, or gives up after RedisStore::kEditWait and changes nothing. A change done deletes
// its own lock.
TEST_F(RedisStoreTest, ALockLeftByAnotherInstanceDelaysOrRefusesTheChange) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  const std::string key = "cid:edit:2125550001";
  core::NumberPatch patch;
  patch.carrier = "Changed";

  ASSERT_EQ(redis_.Command({"SET", key, "dead-instance", "PX", "300"}), "+OK\r\n");
  auto waited = PatchOn(*store, "2125550001", patch);
  ASSERT_THAT(waited, IsOk());
  EXPECT_EQ(waited->spec.carrier, "Changed");
  EXPECT_EQ(redis_.Command({"EXISTS", key}), ":0\r\n") << "the change deletes its own lock";

  ASSERT_EQ(redis_.Command({"SET", key, "dead-instance", "PX", "60000"}), "+OK\r\n");
  patch.carrier = "Refused";
  const auto asked = std::chrono::steady_clock::now();
  EXPECT_THAT(PatchOn(*store, "2125550001", patch), HasError(ErrorCode::kUnavailable));
  EXPECT_GE(std::chrono::steady_clock::now() - asked, RedisStore::kEditWait);
  EXPECT_THAT(Await<void>([&](auto done) {
                store->DeleteNumber(*core::PhoneNumber::ParsePoolNumber("2125550001"), done);
              }),
              HasError(ErrorCode::kUnavailable));
  EXPECT_EQ(redis_.Command({"GET", key}), "$13\r\ndead-instance\r\n") << "not another's lock";
  auto unchanged = GetOn(*store, "2125550001");
  ASSERT_THAT(unchanged, IsOk());
  EXPECT_EQ(unchanged->spec.carrier, "Changed");
}

// A campaign's pool and a pool's settings are changed under edit locks of their own
// (`cid:edit:campaign:NAME`, `cid:edit:pool:NAME`): a change through two instances at once reaches
// the system of record in the order it reached Redis, and a lock another instance left delays the
// change or refuses it, changing nothing.
TEST_F(RedisStoreTest, SettingsChangesTakeTheirEntrysEditLock) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  const auto set_campaign = [&](const std::string& pool) {
    return Await<CampaignPool>([&](auto done) {
      store->SetCampaignPool(CampaignPool{"sales", pool}, done);
    });
  };
  const auto set_fallback = [&](bool any) {
    return Await<PoolSettings>([&](auto done) {
      store->SetPoolSettings(PoolSettings{"east", any}, done);
    });
  };
  ASSERT_EQ(redis_.Command({"SET", "cid:edit:campaign:sales", "dead-instance", "PX", "300"}),
            "+OK\r\n");
  ASSERT_THAT(set_campaign("east"), IsOk());  // once the lock expired
  EXPECT_EQ(redis_.Command({"EXISTS", "cid:edit:campaign:sales"}), ":0\r\n");

  ASSERT_EQ(redis_.Command({"SET", "cid:edit:campaign:sales", "dead-instance", "PX", "60000"}),
            "+OK\r\n");
  ASSERT_EQ(redis_.Command({"SET", "cid:edit:pool:east", "dead-instance", "PX", "60000"}),
            "+OK\r\n");
  EXPECT_THAT(set_campaign("west"), HasError(ErrorCode::kUnavailable));
  EXPECT_THAT(set_fallback(false), HasError(ErrorCode::kUnavailable));
  EXPECT_EQ(redis_.Command({"HGET", "cid:campaign_pools", "sales"}), "$4\r\neast\r\n");
  EXPECT_EQ(redis_.Command({"HEXISTS", "cid:pool_settings", "east"}), ":0\r\n");
  ASSERT_EQ(redis_.Command({"DEL", "cid:edit:pool:east"}), ":1\r\n");
  ASSERT_THAT(set_fallback(false), IsOk());  // another pool's lock, or another campaign's,
  EXPECT_EQ(redis_.Command({"HGET", "cid:pool_settings", "east"}), "$4\r\nnone\r\n");
  EXPECT_EQ(redis_.Command({"GET", "cid:edit:campaign:sales"}), "$13\r\ndead-instance\r\n");
}

TEST_F(RedisStoreTest, ACampaignsPoolSetThroughTwoInstancesAtOnceEndsTheSameInTheRecord) {
  auto a = OpenInstance();
  auto b = OpenInstance();
  ASSERT_TRUE(a && b);
  for (int round = 1; round <= 30; ++round) {
    std::atomic<int> ready{0};
    auto start_together = [&ready] {
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
    };
    const auto set = [&](Store& store, const std::string& pool) {
      start_together();
      EXPECT_THAT(Await<CampaignPool>([&](auto done) {
                    store.SetCampaignPool(CampaignPool{"sales", pool}, done);
                  }),
                  IsOk());
    };
    std::thread through_b([&] { set(*b, "b" + std::to_string(round)); });
    set(*a, "a" + std::to_string(round));
    through_b.join();
    const std::string in_redis = redis_.Command({"HGET", "cid:campaign_pools", "sales"});
    journal_test::RecordingSink recorded;
    ASSERT_THAT(journal_->Load(clock_.Now(), recorded), IsOk());
    ASSERT_EQ(recorded.campaign_pools.size(), 1u);
    const std::string pool = recorded.campaign_pools[0].pool;
    ASSERT_EQ(in_redis, "$" + std::to_string(pool.size()) + "\r\n" + pool + "\r\n")
        << "round " << round;
  }
}

// Work already begun (an undo, an edit lock's release) is queued ahead and never failed for having
// waited; other tasks that waited past the deadline fail unrun.
TEST_F(RedisStoreTest, UrgentTasksGoFirstAndAreNeverFailedForWaiting) {
  redis::ExecutorOptions options;
  options.connection.port = redis_.port();
  options.workers = 1;
  options.queue_deadline = std::chrono::milliseconds(50);
  redis::RedisExecutor executor(options);
  std::mutex mu;
  std::vector<std::string> ran;
  const auto task = [&](std::string name, bool urgent) {
    redis::RedisExecutor::Task t;
    t.urgent = urgent;
    t.run = [&, name](redis::RedisConnection&) {
      std::lock_guard lock(mu);
      ran.push_back(name);
    };
    t.fail = [&, name](const core::Error&) {
      std::lock_guard lock(mu);
      ran.push_back(name + " failed");
    };
    return t;
  };
  redis::RedisExecutor::Task busy = task("busy", false);
  busy.run = [&](redis::RedisConnection&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  };
  executor.Submit(std::move(busy));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the worker has taken it
  executor.Submit(task("normal", false));
  executor.Submit(task("urgent", true));
  executor.Drain();
  EXPECT_EQ(ran, (std::vector<std::string>{"urgent", "normal failed"}));
}

// The answer statistics come from the journal, the system of record (the queries are the journal
// contract's); the store hands them on.
TEST_F(RedisStoreTest, AnswerStatsComeFromTheJournal) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  auto allocated = AllocateOn(*store, "2125559999");
  ASSERT_THAT(allocated, IsOk());
  core::ReleaseRequest release;
  release.reservation_id = allocated->reservation.id;
  release.outcome = core::CallOutcome::kAnswered;
  ASSERT_THAT(Await<core::ReleaseResult>([&](auto done) { store->Release(release, done); }),
              IsOk());
  store->Flush();

  AnswerStatsQuery query;
  query.since = kStart - std::chrono::hours(1);
  query.now = kStart;
  auto stats = Await<AnswerStats>([&](auto done) { store->GetAnswerStats(query, done); });
  ASSERT_THAT(stats, IsOk());
  ASSERT_EQ(stats->numbers.size(), 1u);
  EXPECT_EQ(stats->numbers[0].caller_id.ToString(), "2125550001");
  EXPECT_EQ(stats->numbers[0].calls, 1u);
  EXPECT_EQ(stats->numbers[0].answered, 1u);
  ASSERT_EQ(stats->pools.size(), 1u);
  EXPECT_EQ(stats->pools[0].pool, "default");
  EXPECT_EQ(stats->pools[0].active, 1u);
}

// --- warm-up (docs/redis-keys.md, `wf`) ----------------------------------------------------------

// A field of a number's hash as Redis holds it ("" when absent).
std::string NumberField(test_support::RedisServer& redis, const std::string& pool,
                        const std::string& number, const std::string& field) {
  const std::string reply = redis.Command({"HGET", redis::PoolPrefix(pool) + "n:" + number, field});
  if (reply == "$-1\r\n") return "";
  const std::size_t body = reply.find("\r\n") + 2;
  return reply.substr(body, reply.size() - body - 2);
}

// The number hash's `wf` as Redis holds it ("" when absent).
std::string WarmFromField(test_support::RedisServer& redis, const std::string& pool,
                          const std::string& number) {
  return NumberField(redis, pool, number, "wf");
}

// A new number's hash gets `wf` (today's local midnight), an imported one with a history none; a
// PATCH, a re-import, a move to another pool and a rebuild from the journal all keep it, and the
// ramp goes on from the same day.
// Redis keeps its available order across restarts: an instance restarted with lower caps
// (WARMUP_DAYS newly set, a lower DEFAULT_DAILY_LIMIT) finds numbers in the order that are over
// their caps now. It parks them and takes the next, never answering an error for them.
TEST_F(RedisStoreTest, NumbersOverCapsLoweredByARestartAreParkedNotHandedOut) {
  {
    auto before = OpenInstance();
    ASSERT_TRUE(before);
    for (const char* number : {"2125550001", "2125550002", "2125550003"}) {
      ASSERT_THAT(AddOn(*before, number), IsOk());
    }
    // 0001 and 0002 make two calls each today, 0003 one: all stay in the order (cap 500).
    for (int i = 0; i < 5; ++i) {
      CallOn(*before, "2125559999");
      clock_.Advance(std::chrono::seconds(1));  // distinct last uses: a strict LRU order
    }
  }
  StoreConfig lowered;
  lowered.index.default_daily_cap = 2;
  auto after = OpenInstance(lowered);
  ASSERT_TRUE(after);
  auto allocation = AllocateOn(*after, "2125559999");
  ASSERT_THAT(allocation, IsOk());
  EXPECT_EQ(allocation->reservation.caller_id.ToString(), "2125550003");
  EXPECT_THAT(AllocateOn(*after, "2125559999"), HasError(core::ErrorCode::kNoCallerIdAvailable));
  EXPECT_FALSE(GetOn(*after, "2125550001")->available);
}

TEST_F(RedisStoreTest, TheWarmUpStartLivesInTheHashThroughMovesAndRebuilds) {
  StoreConfig config;
  config.index.warmup_days = 3;
  auto store = OpenInstance(config);
  ASSERT_TRUE(store);
  const std::string today =
      std::to_string(core::ToCompact(calendar_.WindowsAt(clock_.Now()).day_start));
  ASSERT_THAT(
      Await<core::NumberView>([&](auto done) { store->AddNumber(Spec("2125550001", 0, 8), done); }),
      IsOk());
  std::vector<ImportItem> items(3);
  items[0].spec = Spec("2125550002");
  items[0].last_used = core::ToCompact(kStart) - 600;  // established
  items[1].spec = Spec("2125550003");                  // new: warms up (insert.lua)
  items[2].spec = Spec("2125550004");
  items[2].last_used = 0;  // a last_used of 0 is no history: warms up too
  ASSERT_THAT(Await<ImportResult>([&](Callback<ImportResult> done) {
                store->ImportNumbers(items, OnDuplicate::kUpdate, std::move(done));
              }),
              IsOk());
  EXPECT_EQ(WarmFromField(redis_, "default", "2125550001"), today);
  EXPECT_EQ(WarmFromField(redis_, "default", "2125550002"), "");  // only when not 0
  EXPECT_EQ(WarmFromField(redis_, "default", "2125550003"), today);
  EXPECT_EQ(WarmFromField(redis_, "default", "2125550004"), today);
  // Imported again (upsert.lua: the numbers exist now), with and without a history: kept.
  items[1].last_used = core::ToCompact(kStart) - 60;
  ASSERT_THAT(Await<ImportResult>([&](Callback<ImportResult> done) {
                store->ImportNumbers(items, OnDuplicate::kUpdate, std::move(done));
              }),
              IsOk());
  EXPECT_EQ(WarmFromField(redis_, "default", "2125550002"), "");
  EXPECT_EQ(WarmFromField(redis_, "default", "2125550003"), today);

  // A move to pool east carries it; the number then takes its warm cap there: ceil(8 / 4) = 2.
  ASSERT_THAT(MapCampaignOf(*store, "east"), IsOk());
  core::NumberPatch patch;
  patch.pool = "east";
  auto moved = Await<core::NumberView>([&](auto done) {
    store->UpdateNumber(*core::PhoneNumber::ParsePoolNumber("2125550001"), patch, done);
  });
  ASSERT_THAT(moved, IsOk());
  EXPECT_EQ(WarmFromField(redis_, "east", "2125550001"), today);
  EXPECT_EQ(moved->warmup_day, 1);
  EXPECT_EQ(moved->effective_daily_cap, 8);
  EXPECT_EQ(moved->daily_cap_today, 2);
  for (int call = 0; call < 2; ++call) EXPECT_NE(CallOn(*store, "2125559999", "east"), 0u);
  EXPECT_THAT(Await<core::Allocation>(
                  [&](auto done) { store->Allocate(To("2125559999", "auto", "east"), done); }),
              HasError(ErrorCode::kNoCallerIdAvailable));
  store->Flush();

  // Redis loses its data: the rebuild writes `wf` back from the journal, and the cap reached
  // today holds.
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  auto rebuilt = OpenInstance(config);
  ASSERT_TRUE(rebuilt);
  auto view = GetOn(*rebuilt, "2125550001");
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(std::to_string(view->usage.warm_from), today);
  EXPECT_EQ(view->daily_used_now, 2);
  EXPECT_EQ(view->daily_cap_today, 2);
  EXPECT_FALSE(view->available);
  EXPECT_EQ(WarmFromField(redis_, "east", "2125550001"), today);
  EXPECT_EQ(WarmFromField(redis_, "default", "2125550002"), "");
  EXPECT_EQ(WarmFromField(redis_, "default", "2125550003"), today);

  // The next day: day 2 of 3, ceil(8 * 2 / 4) = 4.
  clock_.Advance(std::chrono::hours(24));
  EXPECT_EQ(GetOn(*rebuilt, "2125550001")->daily_cap_today, 4);
  for (int call = 0; call < 4; ++call) EXPECT_NE(CallOn(*rebuilt, "2125559999", "east"), 0u);
  EXPECT_THAT(Await<core::Allocation>(
                  [&](auto done) { rebuilt->Allocate(To("2125559999", "auto", "east"), done); }),
              HasError(ErrorCode::kNoCallerIdAvailable));
}

// lib.lua's caps() computes the warm cap in Lua; core/warm_up.h is the rule. On every day of
// ramps of several lengths, numbers of several caps take exactly core's cap in calls (each alone
// in a pool, so the pool runs dry exactly at its cap) and report it.
TEST_F(RedisStoreTest, TheWarmUpRampInLuaIsCoresOnEveryDay) {
  const std::vector<std::uint16_t> caps = {1, 2, 5, 10, 11};
  for (const std::uint16_t days : std::vector<std::uint16_t>{1, 3, 7}) {
    SCOPED_TRACE("warm-up days " + std::to_string(days));
    ASSERT_EQ(redis_.Command({"FLUSHALL"}), "+OK\r\n");
    journal_ = std::make_shared<MemoryJournal>(MemoryJournal::Completion::kOwnThread);
    clock_.Set(kStart);
    StoreConfig config;
    config.index.warmup_days = days;
    auto store = OpenInstance(config);
    ASSERT_TRUE(store);
    const core::CompactTime from = core::ToCompact(calendar_.WindowsAt(clock_.Now()).day_start);
    for (std::size_t i = 0; i < caps.size(); ++i) {
      const std::string pool = "p" + std::to_string(i);
      ASSERT_THAT(MapCampaignOf(*store, pool), IsOk());
      ASSERT_THAT(Await<core::NumberView>([&](auto done) {
                    store->AddNumber(Spec(std::to_string(2'125'550'100 + i), 0, caps[i], pool),
                                     done);
                  }),
                  IsOk());
    }
    for (int day = 0; day <= days; ++day) {
      const core::CompactTime today = core::ToCompact(calendar_.WindowsAt(clock_.Now()).day_start);
      const std::uint16_t warmup_day = core::WarmupDay(from, today, days);
      for (std::size_t i = 0; i < caps.size(); ++i) {
        const std::string pool = "p" + std::to_string(i);
        const std::uint16_t want = core::WarmDailyCap(caps[i], warmup_day, days);
        int calls = 0;
        for (; calls <= caps[i]; ++calls) {
          auto allocated = Await<core::Allocation>(
              [&](auto done) { store->Allocate(To("2125559999", "auto", pool), done); });
          if (!allocated) {
            EXPECT_THAT(allocated, HasError(ErrorCode::kNoCallerIdAvailable));
            break;
          }
          core::ReleaseRequest release;
          release.reservation_id = allocated->reservation.id;
          ASSERT_THAT(Await<core::ReleaseResult>([&](auto done) { store->Release(release, done); }),
                      IsOk());
        }
        EXPECT_EQ(calls, want) << "day " << day + 1 << ", cap " << caps[i];
        auto view = GetOn(*store, std::to_string(2'125'550'100 + i));
        ASSERT_THAT(view, IsOk());
        EXPECT_EQ(view->warmup_day, warmup_day) << "day " << day + 1;
        EXPECT_EQ(view->daily_cap_today, want) << "day " << day + 1 << ", cap " << caps[i];
      }
      clock_.Advance(std::chrono::hours(24));
    }
    store->Flush();
  }
}

// --- rests (docs/redis-keys.md, `rs` and `cid:{P}:rest`) ---------------------------------------

// A RESP bulk string, as RedisServer::Command answers one.
std::string Bulk(const std::string& text) {
  return "$" + std::to_string(text.size()) + "\r\n" + text + "\r\n";
}

core::NumberPatch RestUntil(core::CompactTime until) {
  core::NumberPatch patch;
  patch.rest_until = until;
  return patch;
}

core::Result<StoreStats> StatsOf(Store& store) {
  return Await<StoreStats>([&](auto done) { store.GetStats(done); });
}

// A PATCH rests a number: `rs` in its hash, parked until then and in the pool's `rest` set, never
// allocated meanwhile, counted as resting. A PATCH of another field, an import of the number, a
// move to another pool (delete.lua hands it on) and a rebuild from the journal all keep it; it
// comes back by itself at the time (the past `rs` stays, as the embedded index keeps it), and a
// PATCH of 0 ends a rest at once (the field and the `rest` entry go).
TEST_F(RedisStoreTest, ARestLivesInTheHashThroughPatchesMovesAndRebuilds) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001"), IsOk());
  ASSERT_THAT(AddOn(*store, "2125550002"), IsOk());
  const core::CompactTime until = core::ToCompact(clock_.Now()) + 7200;
  const std::string until_text = std::to_string(until);
  auto rested = PatchOn(*store, "2125550001", RestUntil(until));
  ASSERT_THAT(rested, IsOk());
  EXPECT_TRUE(rested->resting);
  EXPECT_FALSE(rested->available);
  EXPECT_EQ(rested->usage.rest_until, until);
  EXPECT_EQ(NumberField(redis_, "default", "2125550001", "rs"), until_text);
  EXPECT_EQ(NumberField(redis_, "default", "2125550002", "rs"), "");  // only when not 0
  EXPECT_EQ(redis_.Command({"ZSCORE", "cid:{default}:rest", "2125550001"}), Bulk(until_text));
  EXPECT_EQ(redis_.Command({"ZSCORE", "cid:{default}:parked", "2125550001"}), Bulk(until_text));
  auto stats = StatsOf(*store);
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->resting_numbers, 1u);
  EXPECT_EQ(stats->capped_numbers, 0u);
  EXPECT_EQ(stats->available_numbers, 1u);

  // Only the other number is handed out, once.
  auto first = AllocateOn(*store, "2125559999");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->reservation.caller_id.ToString(), "2125550002");
  EXPECT_THAT(AllocateOn(*store, "2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));

  // A PATCH of its carrier and an import of it (with a last use) keep the rest.
  core::NumberPatch carrier;
  carrier.carrier = "Other";
  auto patched = PatchOn(*store, "2125550001", carrier);
  ASSERT_THAT(patched, IsOk());
  EXPECT_TRUE(patched->resting);
  EXPECT_EQ(patched->usage.rest_until, until);
  std::vector<ImportItem> items(1);
  items[0].spec = Spec("2125550001");
  items[0].last_used = core::ToCompact(kStart) - 600;
  ASSERT_THAT(Await<ImportResult>([&](Callback<ImportResult> done) {
                store->ImportNumbers(items, OnDuplicate::kUpdate, std::move(done));
              }),
              IsOk());
  EXPECT_EQ(NumberField(redis_, "default", "2125550001", "rs"), until_text);
  EXPECT_TRUE(GetOn(*store, "2125550001")->resting);

  // A move to pool east carries it; nothing is left of it in the old pool's sets.
  ASSERT_THAT(MapCampaignOf(*store, "east"), IsOk());
  core::NumberPatch move;
  move.pool = "east";
  auto moved = PatchOn(*store, "2125550001", move);
  ASSERT_THAT(moved, IsOk());
  EXPECT_TRUE(moved->resting);
  EXPECT_EQ(moved->usage.rest_until, until);
  EXPECT_EQ(NumberField(redis_, "east", "2125550001", "rs"), until_text);
  EXPECT_EQ(redis_.Command({"ZSCORE", "cid:{east}:rest", "2125550001"}), Bulk(until_text));
  EXPECT_EQ(redis_.Command({"ZCARD", "cid:{default}:rest"}), ":0\r\n");
  EXPECT_THAT(Await<core::Allocation>(
                  [&](auto done) { store->Allocate(To("2125559999", "auto", "east"), done); }),
              HasError(ErrorCode::kNoCallerIdAvailable));
  store->Flush();

  // Redis loses its data: the rebuild writes `rs` back from the journal, still resting.
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  auto rebuilt = OpenInstance();
  ASSERT_TRUE(rebuilt);
  auto view = GetOn(*rebuilt, "2125550001");
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->spec.pool, "east");
  EXPECT_TRUE(view->resting);
  EXPECT_EQ(view->usage.rest_until, until);
  EXPECT_EQ(NumberField(redis_, "east", "2125550001", "rs"), until_text);
  EXPECT_EQ(redis_.Command({"ZSCORE", "cid:{east}:rest", "2125550001"}), Bulk(until_text));
  EXPECT_THAT(Await<core::Allocation>(
                  [&](auto done) { rebuilt->Allocate(To("2125559999", "auto", "east"), done); }),
              HasError(ErrorCode::kNoCallerIdAvailable));
  stats = StatsOf(*rebuilt);
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->resting_numbers, 1u);

  // Back by itself at the time.
  clock_.Set(core::FromCompact(until));
  EXPECT_NE(CallOn(*rebuilt, "2125559999", "east"), 0u);
  view = GetOn(*rebuilt, "2125550001");
  ASSERT_THAT(view, IsOk());
  EXPECT_FALSE(view->resting);
  EXPECT_EQ(view->usage.rest_until, until);
  EXPECT_EQ(redis_.Command({"ZCARD", "cid:{east}:rest"}), ":0\r\n");
  stats = StatsOf(*rebuilt);
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->resting_numbers, 0u);

  // Rested again, then ended early by a PATCH of 0: the rest ends now (core::PatchedRestUntil:
  // `rs` says when) and the set entry goes.
  ASSERT_THAT(PatchOn(*rebuilt, "2125550001", RestUntil(until + 3600)), IsOk());
  EXPECT_EQ(redis_.Command({"ZCARD", "cid:{east}:rest"}), ":1\r\n");
  auto ended = PatchOn(*rebuilt, "2125550001", RestUntil(0));
  ASSERT_THAT(ended, IsOk());
  EXPECT_FALSE(ended->resting);
  EXPECT_TRUE(ended->available);
  const core::CompactTime ended_at = core::ToCompact(clock_.Now());
  EXPECT_EQ(ended->usage.rest_until, ended_at);
  EXPECT_EQ(NumberField(redis_, "east", "2125550001", "rs"), std::to_string(ended_at));
  EXPECT_EQ(redis_.Command({"ZCARD", "cid:{east}:rest"}), ":0\r\n");
  EXPECT_NE(CallOn(*rebuilt, "2125559999", "east"), 0u);
}

// A resting number at its cap counts as capped while it is, then as resting (as the embedded
// index counts: capped first): lib.lua place() parks it until the window, then until the rest
// ends. Deleting a resting number leaves nothing in `rest`.
TEST_F(RedisStoreTest, ARestingNumberAtItsCapCountsAsCappedUntilItsWindow) {
  auto store = OpenInstance();
  ASSERT_TRUE(store);
  ASSERT_THAT(AddOn(*store, "2125550001", /*hourly=*/1), IsOk());
  ASSERT_NE(CallOn(*store, "2125559999"), 0u);
  const core::CompactTime until = core::ToCompact(clock_.Now()) + 3 * 3600;
  ASSERT_THAT(PatchOn(*store, "2125550001", RestUntil(until)), IsOk());
  auto stats = StatsOf(*store);
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->capped_numbers, 1u);
  EXPECT_EQ(stats->resting_numbers, 0u);
  EXPECT_TRUE(GetOn(*store, "2125550001")->resting);

  clock_.Set(calendar_.WindowsAt(clock_.Now()).next_hour);  // the cap's window is over
  stats = StatsOf(*store);
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->capped_numbers, 0u);
  EXPECT_EQ(stats->resting_numbers, 1u);
  EXPECT_EQ(stats->available_numbers, 0u);
  EXPECT_THAT(AllocateOn(*store, "2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  EXPECT_EQ(redis_.Command({"ZSCORE", "cid:{default}:rest", "2125550001"}),
            Bulk(std::to_string(until)));

  ASSERT_THAT(Await<void>([&](auto done) {
                store->DeleteNumber(*core::PhoneNumber::ParsePoolNumber("2125550001"), done);
              }),
              IsOk());
  EXPECT_EQ(redis_.Command({"ZCARD", "cid:{default}:rest"}), ":0\r\n");
  EXPECT_EQ(redis_.Command({"ZCARD", "cid:{default}:parked"}), ":0\r\n");
}

// A server that speaks just enough RESP to pass for Redis 6.2.6 (INFO server): GET answers
// `generation` (nil when empty), INCRBY 1024, EVALSHA NOSCRIPT, anything else +OK. Commands come
// as RESP arrays; each connection has a thread. Until Start() it closes every connection at once
// (a server that is down).
class FakeRedis6 {
 public:
  explicit FakeRedis6(std::string generation = "", bool started = true)
      : generation_(std::move(generation)), up_(started) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    if (bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        listen(listener_, 16) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~FakeRedis6() {
    shutdown(listener_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    close(listener_);
    std::lock_guard lock(mu_);
    for (const int client : clients_) shutdown(client, SHUT_RDWR);
    for (std::thread& t : answering_) t.join();
    for (const int client : clients_) close(client);
  }
  std::uint16_t port() const { return port_; }
  void Start() { up_ = true; }

 private:
  void Accept() {
    for (int client; (client = accept(listener_, nullptr, nullptr)) >= 0;) {
      std::lock_guard lock(mu_);
      clients_.push_back(client);
      answering_.emplace_back([this, client] { Answer(client); });
    }
  }
  void Answer(int client) const {
    if (!up_) {
      shutdown(client, SHUT_RDWR);  // refused; the descriptor is the destructor's to close
      return;
    }
    std::string in;
    char buffer[4096];
    for (ssize_t n; (n = read(client, buffer, sizeof buffer)) > 0;) {
      in.append(buffer, static_cast<std::size_t>(n));
      while (auto name = TakeCommand(in)) {
        std::string reply = "+OK\r\n";
        if (*name == "GET") reply = generation_.empty() ? "$-1\r\n" : Bulk(generation_);
        if (*name == "INCRBY") reply = ":1024\r\n";
        if (*name == "EVALSHA") reply = "-NOSCRIPT No matching script.\r\n";
        if (*name == "INFO") reply = Bulk("# Server\r\nredis_version:6.2.6\r\n");
        if (send(client, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) return;
      }
    }
  }
  static std::string Bulk(const std::string& text) {
    return "$" + std::to_string(text.size()) + "\r\n" + text + "\r\n";
  }
  // The first word of the first complete command in `in`, upper-cased, which is then removed.
  static std::optional<std::string> TakeCommand(std::string& in) {
    const std::size_t at = in.find("\r\n");
    if (in.empty() || in[0] != '*' || at == std::string::npos) return std::nullopt;
    const int parts = std::stoi(in.substr(1, at - 1));
    std::size_t pos = at + 2;
    std::string first;
    for (int i = 0; i < parts; ++i) {
      const std::size_t end = in.find("\r\n", pos);
      if (end == std::string::npos) return std::nullopt;
      const std::size_t size = std::stoul(in.substr(pos + 1, end - pos - 1));
      if (in.size() < end + 2 + size + 2) return std::nullopt;
      if (i == 0) first = in.substr(end + 2, size);
      pos = end + 2 + size + 2;
    }
    in.erase(0, pos);
    for (char& c : first) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return first;
  }

  const std::string generation_;
  std::atomic<bool> up_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> clients_;             // guarded by mu_
  std::vector<std::thread> answering_;  // guarded by mu_
};

class RedisStoreOpenTest : public ::testing::Test {
 protected:
  core::Result<std::unique_ptr<RedisStore>> OpenOn(const FakeRedis6& redis) {
    RedisStoreOptions options;
    options.redis.connection.port = redis.port();
    return RedisStore::Open(clock_, calendar_, options,
                            std::make_unique<MemoryJournal>(MemoryJournal::Completion::kOwnThread));
  }

  testing::ManualClock clock_{kStart};
  core::FixedOffsetCalendar calendar_;
};

TEST_F(RedisStoreOpenTest, RefusesARedisOlderThan7NamingIt) {
  FakeRedis6 redis6;
  ASSERT_NE(redis6.port(), 0);
  auto opened = OpenOn(redis6);
  ASSERT_THAT(opened, HasError(ErrorCode::kInvalidArgument));
  EXPECT_EQ(opened.error().field(), "REDIS_URL");
  EXPECT_NE(opened.error().detail().find("redis 6.x is too old"), std::string::npos)
      << opened.error().detail();
}

// One that was down at the start and comes back as Redis 6: allocation is refused, never run on
// it (store_unavailable, which the log explains).
TEST_F(RedisStoreOpenTest, RefusesARedisOlderThan7ThatComesUpLater) {
  FakeRedis6 redis6("1", /*started=*/false);
  ASSERT_NE(redis6.port(), 0);
  auto opened = OpenOn(redis6);
  ASSERT_THAT(opened, IsOk());  // "redis unavailable at start"
  redis6.Start();
  auto allocation = Await<core::Allocation>(
      [&](auto done) { (*opened)->Allocate(To("2125559999"), done); });
  ASSERT_THAT(allocation, HasError(ErrorCode::kUnavailable));
  EXPECT_NE(allocation.error().detail().find("redis 6.x is too old"), std::string::npos)
      << allocation.error().detail();
}

}  // namespace
}  // namespace cidrotor::store::contract
