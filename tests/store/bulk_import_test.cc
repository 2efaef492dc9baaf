// BulkImporter on a real SQLite file: on_duplicate semantics, whole batches only when a batch
// fails half-way (a lock held by another connection stands in for a killed import), and a rerun
// that completes the import.
#include "store/sqlite/bulk_import.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_db.h"
#include "support/matchers.h"

namespace cidrotor::store::sqlite {
namespace {

using testing::IsOk;

const core::TimePoint kNow = core::FromCompact(200'000'000);

class Collect final : public LoadSink {
 public:
  void OnNumber(const core::NumberSpec& spec, const core::NumberUsage& usage) override {
    numbers[spec.caller_id.digits()] = {spec, usage};
  }
  void OnLiveReservation(const core::Reservation&) override {}
  std::map<std::uint64_t, std::pair<core::NumberSpec, core::NumberUsage>> numbers;
};

ImportItem Item(std::uint64_t digits, const std::string& carrier,
                std::optional<core::CompactTime> last_used = std::nullopt) {
  ImportItem item;
  item.spec.caller_id = core::PhoneNumber::FromValidDigits(digits);
  item.spec.carrier = carrier;
  item.last_used = last_used;
  return item;
}

class BulkImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bulk-import-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    path_ = dir_ + "/cidrotor.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<BulkImporter> Open(OnDuplicate on_duplicate, std::size_t batch_rows = 1000) {
    BulkImportOptions options;
    options.path = path_;
    options.on_duplicate = on_duplicate;
    options.batch_rows = batch_rows;
    options.busy_timeout = std::chrono::milliseconds(20);
    options.synchronous_full = false;
    options.warm_from_today = warm_from_today_;
    options.on_batch = [this](const ImportResult& r) {
      if (on_batch_) on_batch_(r);
    };
    auto importer = BulkImporter::Open(options);
    EXPECT_THAT(importer, IsOk());
    return importer ? std::move(*importer) : nullptr;
  }
  std::map<std::uint64_t, std::pair<core::NumberSpec, core::NumberUsage>> Stored() {
    Collect sink;
    EXPECT_THAT(ScanNumbers(path_, kNow, sink), IsOk());
    return sink.numbers;
  }

  std::string dir_;
  std::string path_;
  std::function<void(const ImportResult&)> on_batch_;
  core::CompactTime warm_from_today_ = 0;
};

TEST_F(BulkImportTest, UpdateReplacesSpecAndKeepsLastUsedUnlessGiven) {
  auto first = Open(OnDuplicate::kUpdate);
  ASSERT_THAT(first->Add(Item(2125550100, "A", 1000)), IsOk());
  ASSERT_THAT(first->Add(Item(2125550101, "A", 1000)), IsOk());
  ASSERT_THAT(first->Finish(), IsOk());
  EXPECT_EQ(first->result().imported, 2u);
  first.reset();

  auto second = Open(OnDuplicate::kUpdate);
  ASSERT_THAT(second->Add(Item(2125550101, "B")), IsOk());
  ASSERT_THAT(second->Add(Item(2125550100, "B", 2000)), IsOk());
  ASSERT_THAT(second->Add(Item(2125550102, "B")), IsOk());
  ASSERT_THAT(second->Finish(), IsOk());
  EXPECT_EQ(second->result().imported, 1u);
  EXPECT_EQ(second->result().updated, 2u);
  second.reset();

  const auto stored = Stored();
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored.at(2125550100).first.carrier, "B");
  EXPECT_EQ(stored.at(2125550100).second.last_used, 2000u);
  EXPECT_EQ(stored.at(2125550101).second.last_used, 1000u);  // no last_used given: kept
  EXPECT_EQ(stored.at(2125550102).second.last_used, 0u);
}

// A row that does not give a field (a file without that column) leaves a stored number's value:
// re-importing the seed's five columns never reactivates a number or moves it to another pool.
TEST_F(BulkImportTest, AnUpdateKeepsTheFieldsTheRowDoesNotGive) {
  auto first = Open(OnDuplicate::kUpdate);
  ImportItem full = Item(2125550100, "A");
  full.spec.pool = "east";
  full.spec.state = "NY";
  full.spec.hourly_cap = 5;
  full.spec.daily_cap = 50;
  full.spec.active = false;
  ASSERT_THAT(first->Add(full), IsOk());
  ASSERT_THAT(first->Finish(), IsOk());
  first.reset();

  auto second = Open(OnDuplicate::kUpdate);
  ImportItem seed = Item(2125550100, "B");  // carrier and caps given, the caps empty (defaults)
  seed.given = kImportCarrier | kImportHourlyCap | kImportDailyCap;
  ASSERT_THAT(second->Add(seed), IsOk());
  ASSERT_THAT(second->Finish(), IsOk());
  EXPECT_EQ(second->result().updated, 1u);
  second.reset();
  const core::NumberSpec stored = Stored().at(2125550100).first;
  EXPECT_EQ(stored.carrier, "B");
  EXPECT_EQ(stored.hourly_cap, 0);
  EXPECT_EQ(stored.daily_cap, 0);
  EXPECT_EQ(stored.pool, "east");
  EXPECT_EQ(stored.state, "NY");
  EXPECT_FALSE(stored.active);

  auto third = Open(OnDuplicate::kUpdate);
  ImportItem active = Item(2125550100, "C");
  active.spec.active = true;
  active.given = kImportActive;
  ASSERT_THAT(third->Add(active), IsOk());
  ASSERT_THAT(third->Finish(), IsOk());
  third.reset();
  const core::NumberSpec reactivated = Stored().at(2125550100).first;
  EXPECT_TRUE(reactivated.active);
  EXPECT_EQ(reactivated.carrier, "B");
  EXPECT_EQ(reactivated.pool, "east");
}

TEST_F(BulkImportTest, NewRowsWithoutAHistoryWarmUpAndExistingOnesKeepTheirs) {
  warm_from_today_ = 200'000;
  auto first = Open(OnDuplicate::kUpdate);
  ASSERT_THAT(first->Add(Item(2125550100, "A")), IsOk());        // new, no history: warms
  ASSERT_THAT(first->Add(Item(2125550101, "A", 1000)), IsOk());  // with a last use: established
  ASSERT_THAT(first->Add(Item(2125550102, "A", 0)), IsOk());     // last_used 0 is no history
  ASSERT_THAT(first->Finish(), IsOk());
  first.reset();

  warm_from_today_ = 300'000;  // a later import
  auto second = Open(OnDuplicate::kUpdate);
  ASSERT_THAT(second->Add(Item(2125550100, "B", 2000)), IsOk());
  ASSERT_THAT(second->Add(Item(2125550101, "B")), IsOk());
  ASSERT_THAT(second->Add(Item(2125550103, "B")), IsOk());
  ASSERT_THAT(second->Finish(), IsOk());
  second.reset();

  const auto stored = Stored();
  EXPECT_EQ(stored.at(2125550100).second.warm_from, 200'000u);  // kept through the update
  EXPECT_EQ(stored.at(2125550101).second.warm_from, 0u);
  EXPECT_EQ(stored.at(2125550102).second.warm_from, 200'000u);
  EXPECT_EQ(stored.at(2125550103).second.warm_from, 300'000u);
}

TEST_F(BulkImportTest, SkipLeavesExistingNumbersAlone) {
  auto first = Open(OnDuplicate::kSkip);
  ASSERT_THAT(first->Add(Item(2125550100, "A")), IsOk());
  ASSERT_THAT(first->Finish(), IsOk());
  first.reset();
  auto second = Open(OnDuplicate::kSkip);
  EXPECT_EQ(second->Exists(core::PhoneNumber::FromValidDigits(2125550100)).value(), true);
  EXPECT_EQ(second->Exists(core::PhoneNumber::FromValidDigits(2125550101)).value(), false);
  ASSERT_THAT(second->Add(Item(2125550100, "B")), IsOk());
  ASSERT_THAT(second->Add(Item(2125550101, "B")), IsOk());
  ASSERT_THAT(second->Finish(), IsOk());
  EXPECT_EQ(second->result().skipped, 1u);
  EXPECT_EQ(second->result().imported, 1u);
  second.reset();
  EXPECT_EQ(Stored().at(2125550100).first.carrier, "A");
}

TEST_F(BulkImportTest, FailedBatchLeavesWholeBatchesAndRerunCompletes) {
  // Batches of 2; after the first commits, another connection takes the write lock, so the
  // second batch fails (busy) and is rolled back, as if the import had been killed there.
  Database blocker;
  on_batch_ = [&](const ImportResult& r) {
    if (r.imported != 2) return;
    auto db = Database::Open(path_, Database::Access::kReadWrite);
    ASSERT_THAT(db, IsOk());
    blocker = std::move(*db);
    ASSERT_THAT(blocker.Exec("BEGIN IMMEDIATE", "block"), IsOk());
  };
  auto importer = Open(OnDuplicate::kUpdate, /*batch_rows=*/2);
  core::Result<void> added;
  std::uint64_t digits = 2125550100;
  for (int i = 0; i < 5 && added; ++i) added = importer->Add(Item(digits++, "X"));
  EXPECT_FALSE(added.has_value());
  importer.reset();
  ASSERT_THAT(blocker.Exec("ROLLBACK", "unblock"), IsOk());
  blocker.Close();
  on_batch_ = nullptr;
  EXPECT_EQ(Stored().size(), 2u);  // the first batch, whole; nothing of the second

  auto rerun = Open(OnDuplicate::kUpdate, 2);
  for (std::uint64_t d = 2125550100; d < 2125550105; ++d)
    ASSERT_THAT(rerun->Add(Item(d, "X")), IsOk());
  ASSERT_THAT(rerun->Finish(), IsOk());
  EXPECT_EQ(rerun->result().imported, 3u);
  EXPECT_EQ(rerun->result().updated, 2u);
  rerun.reset();
  EXPECT_EQ(Stored().size(), 5u);
}

}  // namespace
}  // namespace cidrotor::store::sqlite
