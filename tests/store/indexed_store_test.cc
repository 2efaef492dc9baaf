// The embedded Store: the core index behind a mutex, with every change made durable in a journal
// before the caller hears of it. MemoryJournal for behaviour and fault injection; the SQLite
// journal for restarts.
#include "store/memory/indexed_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <set>
#include <string>
#include <thread>

#include "core/calendar.h"
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
  void OpenInMemory(IndexedStoreOptions options = {}) {
    auto journal = std::make_unique<MemoryJournal>(MemoryJournal::Completion::kOwnThread);
    journal_ = journal.get();
    OpenWith(std::move(journal), options);
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
  MemoryJournal* journal_ = nullptr;
  std::unique_ptr<IndexedStore> store_;
};

TEST_F(IndexedStoreTest, AllocationIsJournaledBeforeItIsAnswered) {
  OpenInMemory();
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto allocation = Allocate("2125559999");
  ASSERT_THAT(allocation, IsOk());
  EXPECT_EQ(allocation->carrier, "AT&T");
  auto history = Await<std::vector<ReservationRecord>>([&](auto done) {
    journal_->ListReservations(ReservationQuery{false, 10}, clock_.Now(), done);
  });
  ASSERT_THAT(history, IsOk());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->at(0).reservation.id, allocation->reservation.id);
  EXPECT_TRUE(history->at(0).live);
}

TEST_F(IndexedStoreTest, FailedCommitUndoesTheAllocation) {
  OpenInMemory();
  ASSERT_THAT(Add("2125550001"), IsOk());
  journal_->SetFailure(core::Error::Unavailable("disk full"));
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kUnavailable));
  EXPECT_FALSE(store_->Health().can_allocate);
  journal_->SetFailure(std::nullopt);
  EXPECT_THAT(Allocate("2125559999"), IsOk());  // the number was put back
  EXPECT_TRUE(store_->Health().can_allocate);
}

TEST_F(IndexedStoreTest, FailedAddLeavesNoNumber) {
  OpenInMemory();
  journal_->SetFailure(core::Error::Unavailable("disk full"));
  EXPECT_THAT(Add("2125550001"), HasError(ErrorCode::kUnavailable));
  journal_->SetFailure(std::nullopt);
  EXPECT_THAT(Await<core::NumberView>([&](auto done) {
                store_->GetNumber(*core::PhoneNumber::ParsePoolNumber("2125550001"), done);
              }),
              HasError(ErrorCode::kNotFound));
}

TEST_F(IndexedStoreTest, FailedUpdateAndDeleteAreUndone) {
  OpenInMemory();
  ASSERT_THAT(Add("2125550001"), IsOk());
  const core::PhoneNumber number = *core::PhoneNumber::ParsePoolNumber("2125550001");
  journal_->SetFailure(core::Error::Unavailable("disk full"));
  core::NumberPatch off;
  off.active = false;
  EXPECT_THAT(Await<core::NumberView>([&](auto done) { store_->UpdateNumber(number, off, done); }),
              HasError(ErrorCode::kUnavailable));
  EXPECT_THAT(Await<void>([&](auto done) { store_->DeleteNumber(number, done); }),
              HasError(ErrorCode::kUnavailable));
  journal_->SetFailure(std::nullopt);
  auto view = Await<core::NumberView>([&](auto done) { store_->GetNumber(number, done); });
  ASSERT_THAT(view, IsOk());       // the delete was undone
  EXPECT_TRUE(view->spec.active);  // and so was the deactivation
  EXPECT_THAT(Allocate("2125559999"), IsOk());
}

TEST_F(IndexedStoreTest, AgentRateLimitCountsOnlyAllocations) {
  IndexedStoreOptions options;
  options.rate_limit_per_agent = 2;
  OpenInMemory(options);
  for (int i = 0; i < 5; ++i) ASSERT_THAT(Add("212555000" + std::to_string(i)), IsOk());
  ASSERT_THAT(Allocate("2125559999", "agent7"), IsOk());
  ASSERT_THAT(Allocate("2125559999", "agent7"), IsOk());
  auto limited = Allocate("2125559999", "agent7");
  ASSERT_THAT(limited, HasError(ErrorCode::kRateLimited));
  EXPECT_EQ(limited.error().retry_after_seconds(), 60u);
  EXPECT_THAT(Allocate("2125559999", "agent8"), IsOk());
  clock_.Advance(core::Seconds(60));
  EXPECT_THAT(Allocate("2125559999", "agent7"), IsOk());
}

TEST_F(IndexedStoreTest, ReleaseIsJournaledWithItsOutcome) {
  OpenInMemory();
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto allocation = Allocate("2125559999");
  ASSERT_THAT(allocation, IsOk());
  auto released = Release(allocation->reservation.id);
  ASSERT_THAT(released, IsOk());
  EXPECT_TRUE(released->released);
  EXPECT_FALSE(Release(allocation->reservation.id)->released);
  auto history = Await<std::vector<ReservationRecord>>([&](auto done) {
    store_->ListReservations(ReservationQuery{false, 10}, done);
  });
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->at(0).outcome, core::CallOutcome::kAnswered);
  EXPECT_TRUE(history->at(0).released_at.has_value());
  auto live = Await<std::vector<ReservationRecord>>([&](auto done) {
    store_->ListReservations(ReservationQuery{true, 10}, done);
  });
  EXPECT_TRUE(live->empty());
}

TEST_F(IndexedStoreTest, ConcurrentAllocationsNeverShareANumber) {
  OpenInMemory();
  for (int i = 0; i < 20; ++i) ASSERT_THAT(Add("21255500" + std::to_string(10 + i)), IsOk());
  std::mutex mu;
  std::multiset<std::string> allocated;
  int unavailable = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto result = Allocate("2125559999");
        std::lock_guard lock(mu);
        if (result) {
          allocated.insert(result->reservation.caller_id.ToString());
        } else if (result.error().code() == ErrorCode::kNoCallerIdAvailable) {
          ++unavailable;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allocated.size(), 20u);
  EXPECT_EQ(std::set<std::string>(allocated.begin(), allocated.end()).size(), 20u);
  EXPECT_EQ(unavailable, 380);
}

TEST_F(IndexedStoreTest, DeletingAReservedNumberEndsItsReservation) {
  OpenInMemory();
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto allocation = Allocate("2125559999");
  ASSERT_THAT(allocation, IsOk());
  auto deleted = Await<void>(
      [&](auto done) { store_->DeleteNumber(allocation->reservation.caller_id, done); });
  ASSERT_THAT(deleted, IsOk());
  auto stats = Await<StoreStats>([&](auto done) { store_->GetStats(done); });
  EXPECT_EQ(stats->total_numbers, 0u);
  EXPECT_EQ(stats->allocations_total, 1u);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
}

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

}  // namespace
}  // namespace cidrotor::store
