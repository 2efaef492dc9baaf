// Cluster mode's lookup end to end: RedisStore instances on one redis-server (started by the
// test) and one PostgreSQL schema, each instance with its own PostgresJournal, as two `serve`
// processes. allocate.lua gives every allocation the number's reservation before it, whichever
// instance made either, and the journal links them (previous_id), so a number's history reads
// back as one chain; a Redis rebuilt from PostgreSQL goes on from where the journal is (each
// number's newest reservation is loaded back into Redis, and each number's warm-up start and
// rest).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/calendar.h"
#include "pg_test_database.h"
#include "store/postgres/postgres_journal.h"
#include "store/redis/redis_store.h"
#include "support/await.h"
#include "support/manual_clock.h"
#include "support/matchers.h"
#include "support/redis_server.h"

namespace cidrotor::store::postgres_test {
namespace {

using core::ErrorCode;
using testing::Await;
using testing::IsOk;

// 2026-11-25T14:00:00Z.
const core::TimePoint kStart = core::TimePoint(core::Seconds(1'795'615'200));
constexpr const char* kNumber = "2125550001";
constexpr const char* kOtherNumber = "3105550001";

// The destination of the i-th call: 212-555-99ii.
std::string Destination(int i) { return "21255599" + std::to_string(10 + i); }

class RedisOnPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.running()) << redis_.error(); }

  // `spill_dir`: the journal's backlog copy (PostgresOptions::spill_dir), none when empty.
  // `clock`: clock_ unless given.
  std::unique_ptr<RedisStore> OpenInstance(std::uint16_t warmup_days = 0,
                                           const std::string& spill_dir = "",
                                           core::Clock* clock = nullptr) {
    auto journal = PostgresJournal::Open({.connection = db_.settings(),
                                          .degraded_flush_wait = std::chrono::milliseconds(200),
                                          .spill_dir = spill_dir});
    EXPECT_THAT(journal, IsOk());
    if (!journal) return nullptr;
    RedisStoreOptions options;
    options.index.warmup_days = warmup_days;
    options.redis.connection.port = redis_.port();
    auto opened = RedisStore::Open(clock != nullptr ? *clock : clock_, calendar_, options,
                                   std::move(*journal));
    EXPECT_THAT(opened, IsOk());
    return opened ? std::move(*opened) : nullptr;
  }

  // Adds kNumber to pool default through `store`.
  void AddTheNumber(Store& store) {
    core::NumberSpec spec;
    spec.caller_id = *core::PhoneNumber::ParsePoolNumber(kNumber);
    spec.pool = "default";
    ASSERT_THAT(Await<core::NumberView>([&](auto done) { store.AddNumber(spec, done); }), IsOk());
  }

  // Adds kNumber and kOtherNumber (another area code, which the `any` tier falls back to), each
  // with an hourly cap of `hourly_cap`, through `store`.
  static void AddCappedNumbers(Store& store, std::uint16_t hourly_cap) {
    for (const char* number : {kNumber, kOtherNumber}) {
      core::NumberSpec spec;
      spec.caller_id = *core::PhoneNumber::ParsePoolNumber(number);
      spec.hourly_cap = hourly_cap;
      ASSERT_THAT(Await<core::NumberView>([&](auto done) { store.AddNumber(spec, done); }),
                  IsOk());
    }
  }

  // A new directory for instances' backlog copies (PostgresOptions::spill_dir), removed at the
  // end of the test.
  std::filesystem::path SpillRoot() {
    std::string pattern = (std::filesystem::temp_directory_path() / "pg-spill-XXXXXX").string();
    EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
    spill_root_ = pattern;
    return spill_root_;
  }
  void TearDown() override {
    if (!spill_root_.empty()) std::filesystem::remove_all(spill_root_);
  }

  // The start of the recovered-backlog tests: an instance on `dir`/dead gives kNumber (hourly
  // cap 4) out once with PostgreSQL up and twice with it down, and dies with those two in its
  // backlog's files; Redis loses its data; an instance on `dir`/other (returned) reloads Redis
  // from PostgreSQL without them and gives kNumber out again: 4 uses this hour, 2 in Redis. The
  // clock moves a minute at each step, within one hour.
  std::unique_ptr<RedisStore> ReloadWithoutABacklog(const std::filesystem::path& dir) {
    {
      auto dead = OpenInstance(0, (dir / "dead").string());
      if (dead == nullptr) return nullptr;
      AddCappedNumbers(*dead, 4);
      EXPECT_NE(Call(*dead, Destination(0)), 0u);  // 1 of 4, written
      dead->Flush();
      db_.Kill();
      clock_.Advance(std::chrono::minutes(1));
      EXPECT_NE(Call(*dead, Destination(1)), 0u);  // 2 and 3 of 4, in the backlog only
      EXPECT_NE(Call(*dead, Destination(2)), 0u);
    }
    EXPECT_TRUE(redis_.Restart()) << redis_.error();
    db_.Restart();
    clock_.Advance(std::chrono::minutes(1));
    auto other = OpenInstance(0, (dir / "other").string());
    if (other == nullptr) return nullptr;
    EXPECT_NE(Call(*other, Destination(3)), 0u);  // reloaded at 1 of 4: "2 of 4", truly 4
    clock_.Advance(std::chrono::minutes(1));
    return other;
  }

  // Expects kNumber (of ReloadWithoutABacklog) at its cap through `store`, although the count
  // stored with it is short.
  void ExpectTheCapKept(RedisStore& store) {
    EXPECT_EQ(db_.QueryInt("SELECT hourly_used FROM caller_ids WHERE caller_id = " +
                           std::string(kNumber)),
              3)
        << "the premise: the stored count is short of the hour's 4 allocations";
    const auto fifth = Allocate(store, Destination(4));
    ASSERT_THAT(fifth, IsOk());
    EXPECT_EQ(fifth->reservation.caller_id.ToString(), kOtherNumber) << "a fifth use of a cap of 4";
  }

  // Allocates a call to `destination`, waiting out a rebuild of Redis (10 s at most).
  core::Result<core::Allocation> Allocate(Store& store, const std::string& destination) {
    core::AllocationRequest request;
    request.destination = *core::PhoneNumber::ParseDestination(destination);
    core::Result<core::Allocation> allocated = core::Fail(core::Error::Unavailable("not tried"));
    for (int attempt = 0; attempt < 500; ++attempt) {
      allocated = Await<core::Allocation>([&](auto done) { store.Allocate(request, done); });
      if (allocated || allocated.error().code() != ErrorCode::kUnavailable) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return allocated;
  }

  // Releases reservation `id` through `store`.
  static void HangUp(Store& store, std::uint64_t id) {
    core::ReleaseRequest release;
    release.reservation_id = id;
    EXPECT_THAT(Await<core::ReleaseResult>([&](auto done) { store.Release(release, done); }),
                IsOk());
  }

  // Allocates a call to `destination` (waiting out a rebuild of Redis), then releases it.
  // Returns its reservation id (0 when it failed).
  std::uint64_t Call(Store& store, const std::string& destination) {
    auto allocated = Allocate(store, destination);
    EXPECT_THAT(allocated, IsOk());
    if (!allocated) return 0;
    EXPECT_EQ(allocated->reservation.caller_id.ToString(), kNumber);
    HangUp(store, allocated->reservation.id);
    return allocated->reservation.id;
  }

  core::Result<LookupData> LookUp(Store& store, const std::string& from) {
    LookupQuery query;
    query.caller_id = *core::PhoneNumber::ParsePoolNumber(kNumber);
    query.from = *core::PhoneNumber::ParseDestination(from);
    return Await<LookupData>([&](auto done) { store.Lookup(query, done); });
  }

  std::int64_t WarmFrom(const std::string& number) {
    return db_.QueryInt("SELECT warm_from FROM caller_ids WHERE caller_id = " + number);
  }

  std::int64_t Previous(std::uint64_t id) {
    return db_.QueryInt("SELECT COALESCE(previous_id, 0) FROM reservations WHERE id = " +
                        std::to_string(id));
  }

  std::filesystem::path spill_root_;
  PgTestDatabase db_;
  test_support::RedisServer redis_;
  testing::ManualClock clock_{kStart};
  core::FixedOffsetCalendar calendar_;
};

TEST_F(RedisOnPostgresTest, AlternatingInstancesLinkEveryReservationInOrder) {
  auto a = OpenInstance();
  auto b = OpenInstance();
  ASSERT_TRUE(a && b);
  ASSERT_NO_FATAL_FAILURE(AddTheNumber(*a));

  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 6; ++i) {
    // The journal's own idea of the number's newest is wiped before each call: every link must
    // come from Redis.
    db_.Exec("UPDATE caller_ids SET last_reservation_id = NULL");
    ids.push_back(Call(i % 2 == 0 ? *a : *b, Destination(i)));
    ASSERT_NE(ids.back(), 0u);
  }
  a->Flush();
  b->Flush();

  EXPECT_EQ(Previous(ids[0]), 0);
  for (std::size_t i = 1; i < ids.size(); ++i) {
    EXPECT_EQ(Previous(ids[i]), static_cast<std::int64_t>(ids[i - 1])) << "call " << i;
  }
  for (int i = 0; i < 6; ++i) {
    auto found = LookUp(i % 2 == 0 ? *b : *a, Destination(i));
    ASSERT_THAT(found, IsOk());
    EXPECT_TRUE(found->known);
    ASSERT_TRUE(found->last.has_value());
    EXPECT_EQ(found->last->reservation.id, ids.back());
    EXPECT_FALSE(found->last->live);  // released
    ASSERT_TRUE(found->called.has_value()) << "call " << i;
    EXPECT_EQ(found->called->reservation.id, ids[static_cast<std::size_t>(i)]);
    EXPECT_EQ(found->called->reservation.destination.ToString(), Destination(i));
  }
}

TEST_F(RedisOnPostgresTest, ARebuildFromPostgresKeepsTheChainGoing) {
  auto a = OpenInstance();
  auto b = OpenInstance();
  ASSERT_TRUE(a && b);
  ASSERT_NO_FATAL_FAILURE(AddTheNumber(*a));
  std::vector<std::uint64_t> ids = {Call(*a, Destination(0)), Call(*b, Destination(1))};
  a->Flush();
  b->Flush();

  ASSERT_TRUE(redis_.Restart()) << redis_.error();  // every key is gone: rebuilt from PostgreSQL
  // A third instance's start rebuilds Redis at once; the number comes back with its newest
  // reservation ('lr').
  auto c = OpenInstance();
  ASSERT_TRUE(c);
  const std::string newest = std::to_string(ids[1]);
  EXPECT_EQ(redis_.Command({"HGET", "cid:{default}:n:" + std::string(kNumber), "lr"}),
            "$" + std::to_string(newest.size()) + "\r\n" + newest + "\r\n");
  // So the first allocation after the rebuild gets its previous one from Redis too, like every
  // other: the journal's own idea of the number's newest is wiped before each call.
  db_.Exec("UPDATE caller_ids SET last_reservation_id = NULL");
  ids.push_back(Call(*b, Destination(2)));
  b->Flush();
  db_.Exec("UPDATE caller_ids SET last_reservation_id = NULL");
  ids.push_back(Call(*a, Destination(3)));
  a->Flush();

  for (std::size_t i = 1; i < ids.size(); ++i) {
    ASSERT_NE(ids[i], 0u);
    EXPECT_EQ(Previous(ids[i]), static_cast<std::int64_t>(ids[i - 1])) << "call " << i;
  }
  auto found = LookUp(*a, Destination(0));
  ASSERT_THAT(found, IsOk());
  ASSERT_TRUE(found->last && found->called);
  EXPECT_EQ(found->last->reservation.id, ids.back());
  EXPECT_EQ(found->called->reservation.id, ids.front());
}

// PostgreSQL holds the warm-up start Redis decided (added, imported without a history: today;
// imported with one: none), allocations leave it, and a rebuild hands it back to Redis (`wf`),
// where the ramp goes on: the number used its one call of day 1 before, and stays capped.
TEST_F(RedisOnPostgresTest, AWarmingNumberComesBackFromPostgresWithItsWarmUp) {
  auto a = OpenInstance(/*warmup_days=*/3);
  ASSERT_TRUE(a);
  core::NumberSpec spec;
  spec.caller_id = *core::PhoneNumber::ParsePoolNumber(kNumber);
  spec.daily_cap = 4;  // day 1 of 3: ceil(4 / 4) = 1
  ASSERT_THAT(Await<core::NumberView>([&](auto done) { a->AddNumber(spec, done); }), IsOk());
  std::vector<ImportItem> items(2);
  items[0].spec.caller_id = *core::PhoneNumber::ParsePoolNumber("2125550002");
  items[0].last_used = core::ToCompact(kStart) - 600;
  items[1].spec.caller_id = *core::PhoneNumber::ParsePoolNumber("2125550003");
  ASSERT_THAT(Await<ImportResult>([&](Callback<ImportResult> done) {
                a->ImportNumbers(items, OnDuplicate::kUpdate, std::move(done));
              }),
              IsOk());
  ASSERT_NE(Call(*a, Destination(0)), 0u);  // kNumber: never used, lowest
  a->Flush();
  const core::CompactTime today = core::ToCompact(calendar_.WindowsAt(clock_.Now()).day_start);
  EXPECT_EQ(WarmFrom(kNumber), today);
  EXPECT_EQ(WarmFrom("2125550002"), 0);
  EXPECT_EQ(WarmFrom("2125550003"), today);

  ASSERT_TRUE(redis_.Restart()) << redis_.error();  // rebuilt from PostgreSQL by the next start
  auto b = OpenInstance(/*warmup_days=*/3);
  ASSERT_TRUE(b);
  const std::string wf = std::to_string(today);
  const std::string field = "$" + std::to_string(wf.size()) + "\r\n" + wf + "\r\n";
  EXPECT_EQ(redis_.Command({"HGET", "cid:{default}:n:" + std::string(kNumber), "wf"}), field);
  EXPECT_EQ(redis_.Command({"HGET", "cid:{default}:n:2125550002", "wf"}), "$-1\r\n");
  EXPECT_EQ(redis_.Command({"HGET", "cid:{default}:n:2125550003", "wf"}), field);
  auto view = Await<core::NumberView>(
      [&](auto done) { b->GetNumber(*core::PhoneNumber::ParsePoolNumber(kNumber), done); });
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->warmup_day, 1);
  EXPECT_EQ(view->daily_cap_today, 1);
  EXPECT_EQ(view->daily_used_now, 1);
  EXPECT_FALSE(view->available);
}

// PostgreSQL holds a rest as Redis has it (caller_ids.rest_until, written by the PATCH and kept
// through a move to another pool), and a rebuild hands it back to Redis (`rs`, the pool's `rest`
// set): the number stays out of rotation until the time, then comes back by itself.
TEST_F(RedisOnPostgresTest, ARestingNumberComesBackFromPostgresStillResting) {
  auto a = OpenInstance();
  ASSERT_TRUE(a);
  ASSERT_NO_FATAL_FAILURE(AddTheNumber(*a));
  core::NumberSpec other;
  other.caller_id = *core::PhoneNumber::ParsePoolNumber("2125550002");
  ASSERT_THAT(Await<core::NumberView>([&](auto done) { a->AddNumber(other, done); }), IsOk());
  const auto number = *core::PhoneNumber::ParsePoolNumber(kNumber);
  const core::CompactTime until = core::ToCompact(clock_.Now()) + 7200;
  const auto patch_on = [&](Store& store, const core::NumberPatch& patch) {
    return Await<core::NumberView>([&](auto done) { store.UpdateNumber(number, patch, done); });
  };
  // The number a call from pool default gets (waiting out a rebuild), released at once; "" none.
  const auto call = [&](Store& store) -> std::string {
    core::AllocationRequest request;
    request.destination = *core::PhoneNumber::ParseDestination(Destination(0));
    core::Result<core::Allocation> allocated = core::Fail(core::Error::Unavailable("not tried"));
    for (int attempt = 0; attempt < 200; ++attempt) {
      allocated = Await<core::Allocation>([&](auto done) { store.Allocate(request, done); });
      if (allocated || allocated.error().code() != ErrorCode::kUnavailable) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!allocated) return "";
    core::ReleaseRequest release;
    release.reservation_id = allocated->reservation.id;
    EXPECT_THAT(Await<core::ReleaseResult>([&](auto done) { store.Release(release, done); }),
                IsOk());
    return allocated->reservation.caller_id.ToString();
  };

  core::NumberPatch rest;
  rest.rest_until = until;
  auto rested = patch_on(*a, rest);
  ASSERT_THAT(rested, IsOk());
  EXPECT_TRUE(rested->resting);
  EXPECT_EQ(call(*a), "2125550002");
  core::NumberPatch move;
  move.pool = "east";
  auto moved = patch_on(*a, move);
  ASSERT_THAT(moved, IsOk());
  EXPECT_TRUE(moved->resting);
  a->Flush();
  EXPECT_EQ(
      db_.QueryInt("SELECT rest_until FROM caller_ids WHERE caller_id = " + std::string(kNumber)),
      static_cast<std::int64_t>(until));

  ASSERT_TRUE(redis_.Restart()) << redis_.error();  // rebuilt from PostgreSQL by the next start
  auto b = OpenInstance();
  ASSERT_TRUE(b);
  const std::string rs = std::to_string(until);
  const std::string field = "$" + std::to_string(rs.size()) + "\r\n" + rs + "\r\n";
  EXPECT_EQ(redis_.Command({"HGET", "cid:{east}:n:" + std::string(kNumber), "rs"}), field);
  EXPECT_EQ(redis_.Command({"ZSCORE", "cid:{east}:rest", kNumber}), field);
  EXPECT_EQ(redis_.Command({"HGET", "cid:{default}:n:2125550002", "rs"}), "$-1\r\n");
  auto view = Await<core::NumberView>([&](auto done) { b->GetNumber(number, done); });
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->spec.pool, "east");
  EXPECT_TRUE(view->resting);
  EXPECT_EQ(view->usage.rest_until, until);

  // Back in pool default, still resting: the other number takes the calls until the time.
  move.pool = "default";
  ASSERT_THAT(patch_on(*b, move), IsOk());
  EXPECT_EQ(call(*b), "2125550002");
  clock_.Set(core::FromCompact(until));
  EXPECT_EQ(call(*b), kNumber);  // never used: least recently used
  b->Flush();
  EXPECT_EQ(
      db_.QueryInt("SELECT rest_until FROM caller_ids WHERE caller_id = " + std::string(kNumber)),
      static_cast<std::int64_t>(until));  // kept; past now
}

// An instance killed while PostgreSQL was down left its backlog in its files; Redis then lost its
// data, and another instance rebuilt it from PostgreSQL without that backlog: the number's use
// made meanwhile is missing from its hourly count. Once an instance on the dead one's directory
// has written the backlog, it finds Redis lacking that allocation and has it rebuilt: the cap
// holds. (The tests below date the generation instead.)
TEST_F(RedisOnPostgresTest, ARedisRebuiltWithoutARecoveredBacklogIsRebuiltOnceItIsWritten) {
  const std::filesystem::path dir = SpillRoot();
  const std::string dead_dir = (dir / "dead").string();
  {
    auto dead = OpenInstance(0, dead_dir);
    ASSERT_NE(dead, nullptr);
    ASSERT_NO_FATAL_FAILURE(AddCappedNumbers(*dead, 2));
    ASSERT_NE(Call(*dead, Destination(0)), 0u);  // kNumber: 1 of 2
    dead->Flush();
    db_.Kill();
    clock_.Advance(std::chrono::minutes(1));  // the same hour
    // 2 of 2, in the backlog only; released, so no live reservation shows it (CheckAgainstJournal
    // looks for those).
    ASSERT_NE(Call(*dead, Destination(1)), 0u);
  }  // gone with PostgreSQL down: the backlog stays in its files
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  db_.Restart();

  auto other = OpenInstance(0, (dir / "other").string());
  ASSERT_NE(other, nullptr);
  auto rebuilt = Allocate(*other, "3105559999");  // rebuilt: kNumber at 1 of 2 there
  ASSERT_THAT(rebuilt, IsOk());
  HangUp(*other, rebuilt->reservation.id);
  // Not dated, as a generation an older binary published: Redis's lack of the allocation alone
  // (Lacks) tells.
  redis_.Command({"DEL", "cid:generation:loaded_at"});
  auto restarted = OpenInstance(0, dead_dir);  // writes the backlog, then checks at its ticks
  ASSERT_NE(restarted, nullptr);
  for (int i = 0; i < 20; ++i) {
    restarted->Tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // kNumber is at its cap: the call gets kOtherNumber (the `any` tier), not kNumber a third time.
  const auto third = Allocate(*other, Destination(2));
  ASSERT_THAT(third, IsOk());
  EXPECT_EQ(third->reservation.caller_id.ToString(), kOtherNumber) << "a third use of a cap of 2";
}

// As above, but the number of the backlog was given out again through the Redis loaded without
// it before the backlog was written: Redis's last use of it is newer than the backlog's, so no
// allocation looks missing there (Lacks). The load began after the backlog's allocations and
// before the backlog was written, so Redis is reloaded all the same; and the reload counts the
// hour's allocations in the history, since the stored count is short (the backlog's usage,
// written last, says 3 where the hour holds 4).
TEST_F(RedisOnPostgresTest, ARedisThatGaveTheBacklogsNumberOutAgainIsReloadedWithTheFullCount) {
  const std::filesystem::path dir = SpillRoot();
  auto other = ReloadWithoutABacklog(dir);
  ASSERT_NE(other, nullptr);
  const std::string generation = redis_.Command({"GET", "cid:generation:v2"});
  auto restarted = OpenInstance(0, (dir / "dead").string());  // writes the backlog, then checks
  ASSERT_NE(restarted, nullptr);
  // Checked once written, not at the next tick (none here): till then the instance allocates
  // through the Redis that lacks the backlog.
  for (int i = 0; i < 250 && redis_.Command({"GET", "cid:generation:v2"}) == generation; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(redis_.Command({"GET", "cid:generation:v2"}), generation) << "not dropped";
  ASSERT_NO_FATAL_FAILURE(ExpectTheCapKept(*other));
}

// As above, but the instance that wrote the backlog was killed before its first tick, so before
// it checked Redis: the backlog's files stay until the check, and the next start on the directory
// has nothing to write but checks, at once (3 of 3 reviews' kills in that window left the caps
// short; checked at the first tick, a second of traffic went past them first). No tick here.
TEST_F(RedisOnPostgresTest, ABacklogWrittenByAnInstanceKilledBeforeItCheckedIsCheckedByTheNext) {
  const std::filesystem::path dir = SpillRoot();
  auto other = ReloadWithoutABacklog(dir);
  ASSERT_NE(other, nullptr);
  {
    auto writer = OpenInstance(0, (dir / "dead").string());
    ASSERT_NE(writer, nullptr);
    writer->Flush();  // the backlog is written; no tick
  }
  auto restarted = OpenInstance(0, (dir / "dead").string());
  ASSERT_NE(restarted, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectTheCapKept(*restarted));
}

// A whole host restarted: Redis without its data, PostgreSQL, and an instance with a backlog in
// its directory. Its own reload waits for that backlog (AwaitJournalBacklog), so it read it: the
// check of the recovered backlog keeps that generation. Dated by the tick that took the backlog,
// after the reload began, the backlog looked written after the load, and Redis was loaded a
// second time (5 s of 503s instead of 2.6 in the review). On the system clock: the order of the
// commit, the load and the tick is what the check judges.
TEST_F(RedisOnPostgresTest, AReloadThatWaitedForTheRecoveredBacklogIsKept) {
  const std::filesystem::path dir = SpillRoot();
  const std::string dead_dir = (dir / "dead").string();
  core::SystemClock system;
  {
    auto dead = OpenInstance(0, dead_dir, &system);
    ASSERT_NE(dead, nullptr);
    ASSERT_NO_FATAL_FAILURE(AddCappedNumbers(*dead, 100));
    ASSERT_NE(Call(*dead, Destination(0)), 0u);
    dead->Flush();
    db_.Kill();
    ASSERT_NE(Call(*dead, Destination(1)), 0u);  // in the backlog only
  }
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  db_.Restart();
  auto restarted = OpenInstance(0, dead_dir, &system);
  ASSERT_NE(restarted, nullptr);
  ASSERT_NE(Call(*restarted, Destination(2)), 0u);  // after the reload, which waited
  const std::string generation = redis_.Command({"GET", "cid:generation:v2"});
  ASSERT_NE(generation, "$-1\r\n");
  for (int i = 0; i < 10; ++i) {
    restarted->Tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(redis_.Command({"GET", "cid:generation:v2"}), generation)
      << "the reload that read the backlog was dropped";
}

}  // namespace
}  // namespace cidrotor::store::postgres_test
