// The embedded Store over the SQLite journal: what survives a restart. The behaviours it shares
// with RedisStore are in the contract suite (store_contract_test.cc).
#include "store/memory/indexed_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/calendar.h"
#include "forwarding_journal.h"
#include "store/memory/memory_journal.h"
#include "store/sqlite/sqlite_journal.h"
#include "support/await.h"
#include "support/manual_clock.h"
#include "support/matchers.h"

namespace cidrotor::store {
namespace {

using core::ErrorCode;
using testing::HasError;
using testing::IsOk;

const core::TimePoint kStart = core::TimePoint(core::Seconds(1'795'615'200));

using testing::Await;

core::NumberSpec Spec(const std::string& number, std::uint16_t hourly = 0) {
  core::NumberSpec spec;
  spec.caller_id = *core::PhoneNumber::ParsePoolNumber(number);
  spec.hourly_cap = hourly;
  spec.carrier = "AT&T";
  return spec;
}

core::AllocationRequest To(const std::string& destination, const std::string& agent = "auto") {
  core::AllocationRequest request;
  request.destination = *core::PhoneNumber::ParseDestination(destination);
  request.agent = agent;
  return request;
}

class IndexedStoreTest : public ::testing::Test {
 protected:
  void OpenWith(std::unique_ptr<Journal> journal, IndexedStoreOptions options = {}) {
    auto opened = IndexedStore::Open(clock_, calendar_, options, std::move(journal));
    ASSERT_THAT(opened, IsOk());
    store_ = std::move(*opened);
  }

  core::Result<core::NumberView> Add(const std::string& number, std::uint16_t hourly = 0) {
    return Await<core::NumberView>(
        [&](auto done) { store_->AddNumber(Spec(number, hourly), done); });
  }
  core::Result<core::Allocation> Allocate(const std::string& to,
                                          const std::string& agent = "auto") {
    return Await<core::Allocation>([&](auto done) { store_->Allocate(To(to, agent), done); });
  }
  core::Result<core::ReleaseResult> Release(std::uint64_t id) {
    core::ReleaseRequest request;
    request.reservation_id = id;
    request.outcome = core::CallOutcome::kAnswered;
    return Await<core::ReleaseResult>([&](auto done) { store_->Release(request, done); });
  }

  testing::ManualClock clock_{kStart};
  core::FixedOffsetCalendar calendar_;
  std::unique_ptr<IndexedStore> store_;
};

// The behaviours every Store shares (allocation, release, caps, rate limit, undo of a failed
// commit, import) are in the contract suite (store_contract_test.cc), run against this store and
// RedisStore alike. Here: what only the embedded store does, restarting from its SQLite file.

class IndexedStoreRestartTest : public IndexedStoreTest {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("indexed_store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void OpenSqlite(IndexedStoreOptions options = {}) {
    store_.reset();  // flushes and closes the previous instance
    auto journal = SqliteJournal::Open(SqliteOptions{(dir_ / "cidrotor.db").string()});
    ASSERT_THAT(journal, IsOk());
    OpenWith(std::move(*journal), options);
  }

  std::filesystem::path dir_;
};

TEST_F(IndexedStoreRestartTest, LiveReservationsAndCountersSurviveARestart) {
  OpenSqlite();
  ASSERT_THAT(Add("2125550001", 2), IsOk());
  ASSERT_THAT(Add("2125550002"), IsOk());
  auto held = Allocate("2125559999");
  ASSERT_THAT(held, IsOk());
  auto used = Allocate("2125559999");
  ASSERT_THAT(used, IsOk());
  ASSERT_TRUE(Release(used->reservation.id)->released);

  OpenSqlite();
  // The held reservation is still held: only the other number is handed out.
  auto after = Allocate("2125559999");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->reservation.caller_id, used->reservation.caller_id);
  EXPECT_GT(after->reservation.id, used->reservation.id);  // ids continue
  auto view = Await<core::NumberView>(
      [&](auto done) { store_->GetNumber(held->reservation.caller_id, done); });
  ASSERT_THAT(view, IsOk());
  EXPECT_TRUE(view->reserved);
  EXPECT_EQ(view->hourly_used_now, 1);
  // And it comes back when its TTL passes, across the restart.
  clock_.Advance(core::Seconds(300));
  EXPECT_THAT(Allocate("2125559999"), IsOk());
}

TEST_F(IndexedStoreRestartTest, HourlyCountSurvivesARestart) {
  OpenSqlite();
  ASSERT_THAT(Add("2125550001", 2), IsOk());
  for (int i = 0; i < 2; ++i) {
    auto a = Allocate("2125559999");
    ASSERT_THAT(a, IsOk());
    ASSERT_TRUE(Release(a->reservation.id)->released);
  }
  OpenSqlite();
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  clock_.Advance(std::chrono::hours(1));
  EXPECT_THAT(Allocate("2125559999"), IsOk());
}

// The agent rate limit holds across a restart: the allocations of each agent's last minute are
// read back from the journal.
TEST_F(IndexedStoreRestartTest, TheAgentRateLimitHoldsAcrossARestart) {
  IndexedStoreOptions options;
  options.rate_limit_per_agent = 2;
  OpenSqlite(options);
  ASSERT_THAT(Add("2125550001"), IsOk());
  const auto call = [&](const std::string& agent) {
    auto a = Allocate("2125559999", agent);
    if (a) {
      EXPECT_TRUE(Release(a->reservation.id)->released);
    }
    return a;
  };
  for (int i = 0; i < 2; ++i) ASSERT_THAT(call("bob"), IsOk());
  OpenSqlite(options);
  EXPECT_THAT(call("bob"), HasError(ErrorCode::kRateLimited));
  EXPECT_THAT(call("alice"), IsOk());
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_THAT(call("bob"), IsOk());
}

// Streams its numbers against LoadSink's order (descending, then the highest once more), as a
// journal that broke the contract would.
class DisorderedJournal final : public ForwardingJournal {
 public:
  using ForwardingJournal::ForwardingJournal;
  core::Result<LoadSummary> Load(core::TimePoint now, LoadSink& sink) override {
    struct Collect final : LoadSink {
      explicit Collect(LoadSink& sink) : next(sink) {}
      void OnNumber(const core::NumberSpec& spec, const core::NumberUsage& usage) override {
        numbers.emplace_back(spec, usage);
      }
      void OnLiveReservation(const core::Reservation& reservation) override {
        next.OnLiveReservation(reservation);
      }
      LoadSink& next;
      std::vector<std::pair<core::NumberSpec, core::NumberUsage>> numbers;
    };
    Collect collect(sink);
    auto summary = ForwardingJournal::Load(now, collect);
    if (!summary || collect.numbers.empty()) return summary;
    collect.numbers.push_back(collect.numbers.back());
    std::reverse(collect.numbers.begin(), collect.numbers.end());
    for (const auto& [spec, usage] : collect.numbers) sink.OnNumber(spec, usage);
    return summary;
  }
};

// The start-up loads numbers that come in ascending order without looking each up first; any
// other order is looked up (an upsert): the index never holds a number twice.
TEST_F(IndexedStoreTest, NumbersLoadedOutOfOrderOrTwiceAreEachHeldOnce) {
  auto shared = std::make_shared<MemoryJournal>(MemoryJournal::Completion::kInline);
  OpenWith(std::make_unique<ForwardingJournal>(shared));
  for (const char* number : {"2125550001", "2125550002", "2125550003"}) {
    ASSERT_THAT(Add(number), IsOk());
  }
  store_.reset();
  OpenWith(std::make_unique<DisorderedJournal>(shared));
  auto stats = Await<StoreStats>([&](auto done) { store_->GetStats(done); });
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->total_numbers, 3U);
  std::set<std::string> given;
  for (int i = 0; i < 3; ++i) {
    auto allocation = Allocate("2125559999");
    ASSERT_THAT(allocation, IsOk());
    given.insert(allocation->reservation.caller_id.ToString());
  }
  EXPECT_EQ(given.size(), 3U);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  ASSERT_THAT(Await<void>([&](auto done) {
                store_->DeleteNumber(*core::PhoneNumber::ParsePoolNumber("2125550003"), done);
              }),
              IsOk());
  EXPECT_THAT(Await<core::NumberView>([&](auto done) {
                store_->GetNumber(*core::PhoneNumber::ParsePoolNumber("2125550003"), done);
              }),
              HasError(ErrorCode::kNotFound))
      << "a second entry of the number left behind";
}

// A change whose commit failed is undone, but not what later changes did meanwhile: an
// allocation answered from a later batch keeps its count, so the hourly cap holds.
// What a delete keeps is forgotten once its time is over (a wiped pool leaves an entry per number
// for a day).
TEST_F(IndexedStoreTest, DeletedNumbersUsageIsSweptOnceItsTimeIsOver) {
  OpenWith(std::make_unique<MemoryJournal>());
  for (int i = 0; i < 20; ++i) {
    const std::string number = "21255500" + std::to_string(10 + i);
    ASSERT_THAT(Add(number), IsOk());
    auto call = Allocate("2125559999");
    ASSERT_THAT(call, IsOk());
    ASSERT_THAT(Release(call->reservation.id), IsOk());
    ASSERT_THAT(Await<void>([&](auto done) {
                  store_->DeleteNumber(*core::PhoneNumber::ParsePoolNumber(number), done);
                }),
                IsOk());
  }
  EXPECT_EQ(store_->KeptDeletedNumbers(), 20u);
  clock_.Advance(std::chrono::hours(2));
  store_->Tick();
  EXPECT_EQ(store_->KeptDeletedNumbers(), 20u) << "their day is not over";
  clock_.Advance(std::chrono::hours(24));
  store_->Tick();
  EXPECT_EQ(store_->KeptDeletedNumbers(), 0u);
}

TEST_F(IndexedStoreTest, TheUndoOfAFailedChangeKeepsLaterAllocations) {
  auto owned = std::make_unique<MemoryJournal>(MemoryJournal::Completion::kOwnThread);
  MemoryJournal& journal = *owned;
  OpenWith(std::move(owned));
  ASSERT_THAT(Add("2125550001", 1), IsOk());  // one call an hour
  const auto number = *core::PhoneNumber::ParsePoolNumber("2125550001");
  // The PATCH's batch fails (a lock held elsewhere), and is reported after a later allocation.
  journal.PauseCompletions(true);
  journal.SetFailure(core::Error::Unavailable("database is locked"));
  std::promise<core::Result<core::NumberView>> patched;
  core::NumberPatch patch;
  patch.carrier = "Changed";
  store_->UpdateNumber(number, patch, [&](auto r) { patched.set_value(std::move(r)); });
  journal.SetFailure(std::nullopt);
  std::promise<core::Result<core::Allocation>> allocated;
  store_->Allocate(To("2125559999"), [&](auto r) { allocated.set_value(std::move(r)); });
  journal.PauseCompletions(false);
  EXPECT_THAT(patched.get_future().get(), HasError(ErrorCode::kUnavailable));
  auto call = allocated.get_future().get();
  ASSERT_THAT(call, IsOk());
  ASSERT_TRUE(Release(call->reservation.id)->released);
  auto view = Await<core::NumberView>([&](auto done) { store_->GetNumber(number, done); });
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->spec.carrier, "AT&T");  // the PATCH undone
  EXPECT_EQ(view->hourly_used_now, 1);    // the allocation kept
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
}

// A commit that fails (a full disk) takes the whole allocation back: the number's hour and day
// counts and the agent's slot too. Left advanced, a minute of refused calls at dialer rates
// capped the whole pool until the day ended, and limited agents for calls they never made.
TEST_F(IndexedStoreTest, AFailedAllocationTakesBackItsCountsAndTheAgentsSlot) {
  auto owned = std::make_unique<MemoryJournal>(MemoryJournal::Completion::kOwnThread);
  MemoryJournal& journal = *owned;
  IndexedStoreOptions options;
  options.rate_limit_per_agent = 1;
  OpenWith(std::move(owned), options);
  ASSERT_THAT(Add("2125550001", 1), IsOk());  // one call an hour
  journal.SetFailure(core::Error::Unavailable("disk full"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(Allocate("2125559999", "agent7"), HasError(ErrorCode::kUnavailable));
  }
  journal.SetFailure(std::nullopt);
  auto view = Await<core::NumberView>([&](auto done) {
    store_->GetNumber(*core::PhoneNumber::ParsePoolNumber("2125550001"), done);
  });
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->hourly_used_now, 0);
  EXPECT_EQ(view->usage.last_used, 0u);          // never used, as before
  auto call = Allocate("2125559999", "agent7");  // neither capped nor rate-limited
  ASSERT_THAT(call, IsOk());
  EXPECT_EQ(call->reservation.caller_id.ToString(), "2125550001");
}

// A delete whose commit fails is undone with the number's live reservation: the call is still
// on the line, and the number must not be handed out until it ends.
TEST_F(IndexedStoreTest, AFailedDeleteOfAReservedNumberKeepsItsReservation) {
  auto owned = std::make_unique<MemoryJournal>(MemoryJournal::Completion::kOwnThread);
  MemoryJournal& journal = *owned;
  OpenWith(std::move(owned));
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto held = Allocate("2125559999");
  ASSERT_THAT(held, IsOk());
  journal.SetFailure(core::Error::Unavailable("disk full"));
  const auto number = *core::PhoneNumber::ParsePoolNumber("2125550001");
  EXPECT_THAT(Await<void>([&](auto done) { store_->DeleteNumber(number, done); }),
              HasError(ErrorCode::kUnavailable));
  journal.SetFailure(std::nullopt);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  auto view = Await<core::NumberView>([&](auto done) { store_->GetNumber(number, done); });
  ASSERT_THAT(view, IsOk());
  EXPECT_TRUE(view->reserved);
  EXPECT_TRUE(Release(held->reservation.id)->released);
}

// A clock stepped back across an hour's start (NTP, a VM resumed) must not reopen the hour before:
// each number keeps one hour's count, which the new hour already overwrote, so the old hour would
// start again from zero. Time stands still for the index until the clock catches up.
TEST_F(IndexedStoreTest, AClockSteppedBackDoesNotReopenAnEndedHour) {
  using std::chrono::seconds;
  clock_.Set(kStart - seconds(10));
  OpenWith(std::make_unique<MemoryJournal>());
  ASSERT_THAT(Add("2125550001", 2), IsOk());  // two calls an hour
  const auto call = [&] {
    auto a = Allocate("2125559999");
    if (a) {
      EXPECT_TRUE(Release(a->reservation.id)->released);
    }
    return a.has_value();
  };
  ASSERT_TRUE(call());
  ASSERT_TRUE(call());
  EXPECT_FALSE(call()) << "the hour before kStart is full";
  clock_.Set(kStart + seconds(1));
  ASSERT_TRUE(call());              // the new hour's first
  clock_.Set(kStart - seconds(3));  // stepped back into the full hour
  EXPECT_TRUE(call()) << "counted in the new hour: its second";
  EXPECT_FALSE(call()) << "past the cap of the hour it is counted in";
  clock_.Set(kStart + seconds(2));
  EXPECT_FALSE(call());
  clock_.Set(kStart + std::chrono::hours(1));
  EXPECT_TRUE(call());
}

// An import keeps one chunk in the journal at a time: an allocation queued behind it waits for one
// chunk's commit, not a whole batch's. A chunk that fails ends the import: the chunks before it
// stay, the one that failed is undone, the ones after it are never applied.
TEST_F(IndexedStoreTest, AnImportHasOneChunkInTheJournalAtATimeAndStopsAtAFailedOne) {
  auto owned = std::make_unique<MemoryJournal>(MemoryJournal::Completion::kOwnThread);
  MemoryJournal& journal = *owned;
  OpenWith(std::move(owned));
  constexpr std::uint64_t kRows = 20'000;  // three chunks of at most 8,192
  std::vector<ImportItem> items;
  for (std::uint64_t i = 0; i < kRows; ++i) {
    ImportItem item;
    item.spec = Spec(std::to_string(2'125'500'000 + i));
    items.push_back(std::move(item));
  }
  journal.PauseCompletions(true);
  std::promise<core::Result<ImportResult>> imported;
  store_->ImportNumbers(std::move(items), OnDuplicate::kUpdate,
                        [&](auto r) { imported.set_value(std::move(r)); });
  EXPECT_EQ(journal.QueueDepth(), 8'192U) << "only the first chunk is queued";
  journal.SetFailure(core::Error::Unavailable("disk full"));  // the second chunk fails
  journal.PauseCompletions(false);
  const auto result = imported.get_future().get();
  EXPECT_THAT(result, HasError(ErrorCode::kUnavailable));
  journal.SetFailure(std::nullopt);
  auto stats = Await<StoreStats>([&](auto done) { store_->GetStats(done); });
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->total_numbers, 8'192U) << "the first chunk stays, the rest never applied";
}

// A commit that hangs fails allocations at once (and /health), and an allocation committed after
// its caller most likely gave up is released and answered as a failure: no number stays reserved
// for nobody until its TTL.
TEST_F(IndexedStoreTest, AStalledOrLateCommitLeavesNoNumberReserved) {
  auto owned = std::make_unique<MemoryJournal>(MemoryJournal::Completion::kOwnThread);
  MemoryJournal& journal = *owned;
  IndexedStoreOptions options;
  options.commit_deadline = std::chrono::milliseconds(50);
  OpenWith(std::move(owned), options);
  ASSERT_THAT(Add("2125550001"), IsOk());

  journal.SetStalled(true);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kUnavailable));
  EXPECT_FALSE(store_->Health().can_allocate);
  journal.SetStalled(false);
  EXPECT_TRUE(store_->Health().can_allocate);

  journal.PauseCompletions(true);
  std::promise<core::Result<core::Allocation>> allocated;
  store_->Allocate(To("2125559999"), [&](auto r) { allocated.set_value(std::move(r)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  journal.PauseCompletions(false);
  const auto late = allocated.get_future().get();
  ASSERT_THAT(late, HasError(ErrorCode::kUnavailable));
  EXPECT_THAT(late.error().detail(), ::testing::HasSubstr("released"));
  EXPECT_THAT(Allocate("2125559999"), IsOk()) << "the late one was released";
}

// A journal that completes inside Append (MemoryJournal::kInline), on the thread that holds the
// store's lock: a many-chunk import goes on from there, neither locking again nor recursing.
TEST_F(IndexedStoreTest, AManyChunkImportCompletesOnAJournalThatCompletesInline) {
  auto owned = std::make_unique<MemoryJournal>(MemoryJournal::Completion::kInline);
  MemoryJournal& journal = *owned;
  OpenWith(std::move(owned));
  const auto import = [&](std::uint64_t first) {
    std::vector<ImportItem> items;
    for (std::uint64_t i = 0; i < 20'000; ++i) {
      ImportItem item;
      item.spec = Spec(std::to_string(first + i));
      items.push_back(std::move(item));
    }
    return Await<ImportResult>(
        [&](auto done) { store_->ImportNumbers(std::move(items), OnDuplicate::kUpdate, done); });
  };
  auto result = import(2'125'500'000);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->imported, 20'000U);
  journal.SetFailure(core::Error::Unavailable("disk full"));  // undone inline, under the lock
  EXPECT_THAT(import(3'105'500'000), HasError(ErrorCode::kUnavailable));
  journal.SetFailure(std::nullopt);
  auto stats = Await<StoreStats>([&](auto done) { store_->GetStats(done); });
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->total_numbers, 20'000U);
}

// A listing and the counts read the whole pool (a few hundred ms for a deep page of a million
// numbers): they run on the store's thread for scans, never on the caller's, an HTTP I/O thread
// whose other connections (allocations too) would wait for them.
TEST_F(IndexedStoreTest, AListingAndTheCountsRunOffTheCallersThread) {
  OpenWith(std::make_unique<MemoryJournal>(MemoryJournal::Completion::kInline));
  ASSERT_THAT(Add("2125550100"), IsOk());
  std::promise<std::thread::id> listed;
  store_->ListNumbers(NumberFilter{}, [&](core::Result<NumberPage> page) {
    EXPECT_EQ(page ? page->total : 0U, 1U);
    listed.set_value(std::this_thread::get_id());
  });
  std::promise<std::thread::id> counted;
  store_->GetStats([&](core::Result<StoreStats> stats) {
    EXPECT_EQ(stats ? stats->total_numbers : 0U, 1U);
    counted.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(listed.get_future().get(), std::this_thread::get_id());
  EXPECT_NE(counted.get_future().get(), std::this_thread::get_id());
}

// Listings and counts wait for one thread; past a bound of them waiting, another is refused at
// once (503) rather than queued without limit, and those accepted are all answered.
TEST_F(IndexedStoreTest, WholePoolReadsPastTheBoundAreRefusedAtOnce) {
  OpenWith(std::make_unique<MemoryJournal>(MemoryJournal::Completion::kInline));
  ASSERT_THAT(Add("2125550100"), IsOk());
  std::promise<void> unblock;
  std::shared_future<void> unblocked = unblock.get_future().share();
  std::promise<void> running;
  store_->GetStats([&](core::Result<StoreStats>) {  // holds the scan thread
    running.set_value();
    unblocked.wait();
  });
  running.get_future().wait();
  std::atomic<int> answered{0};
  int accepted = 0;
  std::optional<core::Error> refusal;
  for (int i = 0; i < 1'000 && !refusal; ++i) {
    // A refusal is answered on this thread before ListNumbers returns; the accepted ones wait.
    store_->ListNumbers(NumberFilter{}, [&](core::Result<NumberPage> page) {
      if (!page) {
        refusal = page.error();
      } else {
        answered.fetch_add(1);
      }
    });
    if (!refusal) ++accepted;
  }
  unblock.set_value();
  ASSERT_TRUE(refusal.has_value()) << "no bound: " << accepted << " reads queued";
  EXPECT_EQ(refusal->code(), core::ErrorCode::kUnavailable);
  EXPECT_THAT(refusal->detail(), ::testing::HasSubstr("try again"));
  EXPECT_GE(accepted, 1);
  EXPECT_LE(accepted, 100);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (answered.load() < accepted && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(answered.load(), accepted);
}

// One process serves the embedded store: every turn of a periodic job is its own.
TEST_F(IndexedStoreTest, TakesEveryTurnOfAPeriodicJob) {
  OpenWith(std::make_unique<MemoryJournal>());
  for (int i = 0; i < 2; ++i) {
    auto claimed = Await<bool>(
        [&](auto done) { store_->ClaimTurn("auto-rest", std::chrono::milliseconds(200), done); });
    ASSERT_THAT(claimed, IsOk());
    EXPECT_TRUE(*claimed);
  }
}

// The answer statistics come from the SQLite file (the queries are the journal contract's).
TEST_F(IndexedStoreRestartTest, AnswerStatsComeFromTheJournal) {
  OpenSqlite();
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto call = Allocate("2125559999");
  ASSERT_THAT(call, IsOk());
  ASSERT_THAT(Release(call->reservation.id), IsOk());  // answered
  store_->Flush();

  AnswerStatsQuery query;
  query.since = kStart - std::chrono::hours(1);
  query.now = kStart;
  auto stats = Await<AnswerStats>([&](auto done) { store_->GetAnswerStats(query, done); });
  ASSERT_THAT(stats, IsOk());
  ASSERT_EQ(stats->numbers.size(), 1u);
  EXPECT_EQ(stats->numbers[0].caller_id, call->reservation.caller_id);
  EXPECT_EQ(stats->numbers[0].calls, 1u);
  EXPECT_EQ(stats->numbers[0].answered, 1u);
  ASSERT_EQ(stats->pools.size(), 1u);
  EXPECT_EQ(stats->pools[0].pool, "default");
  EXPECT_EQ(stats->pools[0].active, 1u);
  EXPECT_EQ(stats->pools[0].resting, 0u);
}

}  // namespace
}  // namespace cidrotor::store
