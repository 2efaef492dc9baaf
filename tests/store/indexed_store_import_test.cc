// IndexedStore::ImportNumbers: numbers allocatable at once, on_duplicate semantics, journal
// entries, and an undo when the commit fails.
#include <gtest/gtest.h>

#include <future>

#include "core/calendar.h"
#include "store/memory/indexed_store.h"
#include "store/memory/memory_journal.h"
#include "support/await.h"
#include "support/manual_clock.h"
#include "support/matchers.h"

namespace cidrotor::store {
namespace {

using testing::IsOk;

using testing::Await;

ImportItem Item(std::uint64_t digits, const std::string& carrier = "AT&T") {
  ImportItem item;
  item.spec.caller_id = core::PhoneNumber::FromValidDigits(digits);
  item.spec.carrier = carrier;
  return item;
}

class IndexedStoreImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto journal = std::make_unique<MemoryJournal>(MemoryJournal::Completion::kOwnThread);
    journal_ = journal.get();
    auto opened = IndexedStore::Open(clock_, calendar_, {}, std::move(journal));
    ASSERT_THAT(opened, IsOk());
    store_ = std::move(*opened);
  }
  core::Result<ImportResult> Import(std::vector<ImportItem> items, OnDuplicate d) {
    return Await<ImportResult>([&](Callback<ImportResult> done) {
      store_->ImportNumbers(std::move(items), d, std::move(done));
    });
  }
  std::string CarrierOf(std::uint64_t digits) {
    auto view = Await<core::NumberView>([&](Callback<core::NumberView> done) {
      store_->GetNumber(core::PhoneNumber::FromValidDigits(digits), std::move(done));
    });
    return view ? view->spec.carrier : "<missing>";
  }

  testing::ManualClock clock_{core::TimePoint(core::Seconds(1'795'615'200))};
  core::FixedOffsetCalendar calendar_;
  MemoryJournal* journal_ = nullptr;
  std::unique_ptr<IndexedStore> store_;
};

TEST_F(IndexedStoreImportTest, ImportedNumbersAreAllocatableAtOnce) {
  std::vector<ImportItem> items;
  for (std::uint64_t d = 3105550000; d < 3105560000; ++d) items.push_back(Item(d));  // 2 chunks
  auto result = Import(std::move(items), OnDuplicate::kUpdate);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->imported, 10'000u);
  EXPECT_EQ(journal_->EntriesCommitted(), 10'000u);
  core::AllocationRequest request;
  request.destination = *core::PhoneNumber::ParseDestination("3105559876");
  auto allocation = Await<core::Allocation>(
      [&](Callback<core::Allocation> done) { store_->Allocate(request, std::move(done)); });
  ASSERT_THAT(allocation, IsOk());
  EXPECT_EQ(allocation->reservation.match, core::MatchTier::kExchange);
}

TEST_F(IndexedStoreImportTest, UpdateSkipAndFail) {
  ASSERT_THAT(Import({Item(2125550100, "A")}, OnDuplicate::kUpdate), IsOk());
  auto skip = Import({Item(2125550100, "B"), Item(2125550101, "B")}, OnDuplicate::kSkip);
  ASSERT_THAT(skip, IsOk());
  EXPECT_EQ(skip->skipped, 1u);
  EXPECT_EQ(skip->imported, 1u);
  EXPECT_EQ(CarrierOf(2125550100), "A");

  auto fail = Import({Item(2125550102, "C"), Item(2125550100, "C")}, OnDuplicate::kFail);
  ASSERT_THAT(fail, IsOk());
  EXPECT_EQ(fail->duplicates, (std::vector<std::size_t>{1}));
  EXPECT_EQ(fail->imported, 1u);
  EXPECT_EQ(CarrierOf(2125550100), "A");

  auto update = Import({Item(2125550100, "D")}, OnDuplicate::kUpdate);
  ASSERT_THAT(update, IsOk());
  EXPECT_EQ(update->updated, 1u);
  EXPECT_EQ(CarrierOf(2125550100), "D");
}

TEST_F(IndexedStoreImportTest, FailedCommitIsUndone) {
  ASSERT_THAT(Import({Item(2125550100, "A")}, OnDuplicate::kUpdate), IsOk());
  journal_->SetFailure(core::Error::Unavailable("disk full"));
  auto result = Import({Item(2125550100, "B"), Item(2125550101, "B")}, OnDuplicate::kUpdate);
  EXPECT_FALSE(result.has_value());
  journal_->SetFailure(std::nullopt);
  EXPECT_EQ(CarrierOf(2125550100), "A");
  EXPECT_EQ(CarrierOf(2125550101), "<missing>");
}

}  // namespace
}  // namespace cidrotor::store
