// The COPY importer on a real PostgreSQL: new rows, on_duplicate update / skip / fail (the
// caller's Exists() check, as cli/import.cc does), the rows handed on per committed batch, batches
// copied straight into the table or merged, the numbers read back with their usage kept, the
// warm-up start of new rows (core::ArrivingUsage) while existing ones keep theirs, and rests
// (never written by an import).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "pg_test_database.h"
#include "store/journal_test_util.h"
#include "store/postgres/bulk_import.h"
#include "store/postgres/postgres_journal.h"

namespace cidrotor::store::journal_test {
namespace {

using postgres_test::PgTestDatabase;

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
  item.spec = Spec(digits);
  item.spec.carrier = carrier;
  item.last_used = last_used;
  return item;
}

class PostgresBulkImportTest : public ::testing::Test {
 protected:
  // Imports `items` in batches of 2; returns the totals and the rows handed on.
  ImportResult Import(std::vector<ImportItem> items, OnDuplicate on_duplicate,
                      std::vector<std::uint64_t>* written = nullptr,
                      core::CompactTime warm_from_today = 0) {
    postgres::BulkImportOptions options;
    options.connection = db_.settings();
    options.on_duplicate = on_duplicate;
    options.batch_rows = 2;
    options.warm_from_today = warm_from_today;
    options.on_rows_written = [written](std::span<const ImportItem> rows) {
      for (const ImportItem& row : rows) {
        if (written != nullptr) written->push_back(row.spec.caller_id.digits());
      }
    };
    auto importer = postgres::BulkImporter::Open(options);
    EXPECT_THAT(importer, IsOk());
    if (!importer) return {};
    for (ImportItem& item : items) {
      if (on_duplicate == OnDuplicate::kFail) {
        auto exists = (*importer)->Exists(item.spec.caller_id);
        EXPECT_THAT(exists, IsOk());
        if (exists && *exists) continue;  // the CLI rejects the row
      }
      EXPECT_THAT((*importer)->Add(std::move(item)), IsOk());
    }
    EXPECT_THAT((*importer)->Finish(), IsOk());
    return (*importer)->result();
  }

  Collect Scan() {
    Collect sink;
    EXPECT_THAT(postgres::ScanNumbers(db_.settings(), kT0, sink), IsOk());
    return sink;
  }

  PgTestDatabase db_;
};

TEST_F(PostgresBulkImportTest, NewRowsAreCopiedWithTheirColumns) {
  ImportItem capped = Item(3'105'550'100, "Tab\tand \\ back", 12'345);
  capped.spec.hourly_cap = 7;
  capped.spec.daily_cap = 70;
  capped.spec.active = false;
  capped.spec.pool = "east";
  std::vector<std::uint64_t> written;
  const ImportResult r = Import({capped, Item(2'125'550'100, "Verizon"), Item(4'155'550'100, "")},
                                OnDuplicate::kUpdate, &written);
  EXPECT_EQ(r.imported, 3u);
  EXPECT_EQ(r.updated, 0u);
  EXPECT_THAT(written, ::testing::ElementsAre(3'105'550'100u, 2'125'550'100u, 4'155'550'100u));

  Collect sink = Scan();
  ASSERT_EQ(sink.numbers.size(), 3u);
  const auto& [spec, usage] = sink.numbers.at(3'105'550'100);
  EXPECT_EQ(spec.carrier, "Tab\tand \\ back");
  EXPECT_EQ(spec.hourly_cap, 7);
  EXPECT_EQ(spec.daily_cap, 70);
  EXPECT_FALSE(spec.active);
  EXPECT_EQ(spec.pool, "east");
  EXPECT_EQ(spec.state, "CA");
  EXPECT_EQ(usage.last_used, 12'345u);
  EXPECT_EQ(sink.numbers.at(2'125'550'100).first.hourly_cap, 0);  // NULL: the default
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM caller_ids WHERE area_code = '310'"), 1);
}

TEST_F(PostgresBulkImportTest, DuplicatesAreUpdatedKeepingUsageOrSkippedOrRejected) {
  // A number with usage counters, as the journal writes it.
  {
    auto journal = PostgresJournal::Open({.connection = db_.settings()});
    ASSERT_THAT(journal, IsOk());
    RecordingSink ignored;
    ASSERT_THAT((*journal)->Load(kT0, ignored), IsOk());
    ASSERT_THAT(AppendAndWait(**journal, {Upsert(Spec(3'105'550'100), Usage(kT0, 3, 9))}), IsOk());
  }
  const core::CompactTime used = core::ToCompact(kT0);

  std::vector<std::uint64_t> written;
  ImportResult r = Import({Item(3'105'550'100, "Skipped"), Item(3'105'550'101, "New")},
                          OnDuplicate::kSkip, &written);
  EXPECT_EQ(r.imported, 1u);
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_THAT(written, ::testing::ElementsAre(3'105'550'101u));  // only what was written
  EXPECT_EQ(Scan().numbers.at(3'105'550'100).first.carrier, "AT&T");

  written.clear();
  r = Import({Item(3'105'550'100, "Updated"), Item(3'105'550'102, "New")}, OnDuplicate::kUpdate,
             &written);
  EXPECT_EQ(r.imported, 1u);
  EXPECT_EQ(r.updated, 1u);
  EXPECT_THAT(written, ::testing::ElementsAre(3'105'550'100u, 3'105'550'102u));
  Collect sink = Scan();
  const auto& [spec, usage] = sink.numbers.at(3'105'550'100);
  EXPECT_EQ(spec.carrier, "Updated");
  EXPECT_EQ(usage.last_used, used);  // the row had no last_used: kept
  EXPECT_EQ(usage.hourly_used, 3);   // counters are never imported over
  EXPECT_EQ(usage.daily_used, 9);

  r = Import({Item(3'105'550'100, "Rejected"), Item(3'105'550'103, "New")}, OnDuplicate::kFail);
  EXPECT_EQ(r.imported, 1u);
  EXPECT_EQ(r.updated + r.skipped, 0u);
  sink = Scan();
  EXPECT_EQ(sink.numbers.at(3'105'550'100).first.carrier, "Updated");
  EXPECT_EQ(sink.numbers.size(), 4u);
}

// A number deleted while its usage still mattered (deleted_numbers, store/deleted_usage.h) and
// imported again takes that usage back, into an empty store too (the direct COPY would not):
// wiping a pool and importing it again the same day resets no caps. The row's own last_used
// still goes over it; a number present keeps its own.
TEST_F(PostgresBulkImportTest, ANumberDeletedAndImportedAgainTakesBackItsUsage) {
  const core::CompactTime now = core::ToCompact(
      std::chrono::time_point_cast<core::Milliseconds>(std::chrono::system_clock::now()));
  const core::NumberUsage used = Usage(core::FromCompact(now - 60), 3, 7);
  {
    auto journal = PostgresJournal::Open({.connection = db_.settings()});
    ASSERT_THAT(journal, IsOk());
    RecordingSink ignored;
    ASSERT_THAT((*journal)->Load(kT0, ignored), IsOk());
    ASSERT_THAT(AppendAndWait(**journal,
                              {Upsert(Spec(3'105'550'100), used), Upsert(Spec(3'105'550'101), used),
                               Upsert(Spec(3'105'550'102), used)}),
                IsOk());
    ASSERT_THAT(
        AppendAndWait(**journal, {NumberDeleted{Phone(3'105'550'100), {used, now + 3600}, kT0},
                                  NumberDeleted{Phone(3'105'550'101), {used, now + 3600}, kT0},
                                  NumberDeleted{Phone(3'105'550'102), {}, kT0}}),
        IsOk());
  }
  ASSERT_EQ(Scan().numbers.size(), 0u);
  const ImportResult r =
      Import({Item(3'105'550'100, "A"), Item(3'105'550'101, "A", 12'345), Item(3'105'550'102, "A")},
             OnDuplicate::kUpdate);
  EXPECT_EQ(r.imported, 3u);
  Collect sink = Scan();
  const core::NumberUsage& revived = sink.numbers.at(3'105'550'100).second;
  EXPECT_EQ(revived.last_used, used.last_used);
  EXPECT_EQ(revived.hour_start, used.hour_start);
  EXPECT_EQ(revived.hourly_used, 3);
  EXPECT_EQ(revived.day_start, used.day_start);
  EXPECT_EQ(revived.daily_used, 7);
  EXPECT_EQ(sink.numbers.at(3'105'550'101).second.daily_used, 7);
  EXPECT_EQ(sink.numbers.at(3'105'550'101).second.last_used, 12'345u) << "the row's own";
  EXPECT_EQ(sink.numbers.at(3'105'550'102).second.daily_used, 0) << "nothing kept of it";

  // Imported again while present: an update, which keeps the number's own usage (3 and 7 are
  // its own now; nothing is taken back a second time).
  ASSERT_EQ(db_.QueryInt("UPDATE caller_ids SET daily_used = 5 WHERE caller_id = 3105550100 "
                         "RETURNING daily_used"),
            5);
  EXPECT_EQ(Import({Item(3'105'550'100, "B")}, OnDuplicate::kUpdate).updated, 1u);
  EXPECT_EQ(Scan().numbers.at(3'105'550'100).second.daily_used, 5);
}

// A row that does not give a field (a file without that column) leaves a stored number's value.
TEST_F(PostgresBulkImportTest, AnUpdateKeepsTheFieldsTheRowDoesNotGive) {
  ImportItem full = Item(3'105'550'100, "A");
  full.spec.pool = "east";
  full.spec.state = "CA";
  full.spec.hourly_cap = 5;
  full.spec.daily_cap = 50;
  full.spec.active = false;
  ASSERT_EQ(Import({full}, OnDuplicate::kUpdate).imported, 1u);
  ImportItem seed = Item(3'105'550'100, "B");
  seed.given = kImportCarrier | kImportHourlyCap | kImportDailyCap;
  ImportItem other = Item(3'105'550'101, "New");  // makes the batch take the staging path
  other.given = kImportCarrier;
  std::vector<std::uint64_t> written;
  const ImportResult r = Import({seed, other}, OnDuplicate::kUpdate, &written);
  EXPECT_EQ(r.updated, 1u);
  EXPECT_EQ(r.imported, 1u);
  const Collect sink = Scan();
  const core::NumberSpec& stored = sink.numbers.at(3'105'550'100).first;
  EXPECT_EQ(stored.carrier, "B");
  EXPECT_EQ(stored.hourly_cap, 0);
  EXPECT_EQ(stored.daily_cap, 0);
  EXPECT_EQ(stored.pool, "east");
  EXPECT_EQ(stored.state, "CA");
  EXPECT_FALSE(stored.active);
  EXPECT_TRUE(sink.numbers.at(3'105'550'101).first.active);  // a new number takes the defaults
  EXPECT_EQ(sink.numbers.at(3'105'550'101).first.pool, "default");
}

// After a batch of new rows the next one is copied straight into the table; when it meets a stored
// number that COPY fails, and the batch is merged through the staging table instead.
TEST_F(PostgresBulkImportTest, BatchMeetingAStoredNumberAfterNewOnesIsMerged) {
  Import({Item(3'105'550'200, "First")}, OnDuplicate::kUpdate);
  std::vector<ImportItem> items;
  // Batches of 2: merged (the store is not empty), copied but merged after all (it meets 200),
  // merged, copied.
  for (std::uint64_t d : {100, 101, 102, 200, 103, 104, 105}) {
    items.push_back(Item(3'105'550'000 + d, d == 200 ? "Skipped" : "New"));
  }
  std::vector<std::uint64_t> written;
  const ImportResult r = Import(items, OnDuplicate::kSkip, &written);
  EXPECT_EQ(r.imported, 6u);
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_THAT(written, ::testing::ElementsAre(3'105'550'100u, 3'105'550'101u, 3'105'550'102u,
                                              3'105'550'103u, 3'105'550'104u, 3'105'550'105u));
  Collect sink = Scan();
  EXPECT_EQ(sink.numbers.size(), 7u);
  EXPECT_EQ(sink.numbers.at(3'105'550'200).first.carrier, "First");
  EXPECT_EQ(sink.numbers.at(3'105'550'105).first.carrier, "New");
}

// A new row without a last_used (absent or 0) warms up from the import's day, one with a
// last_used is established; an existing number keeps its warm_from, whatever the row says. Both
// paths: straight into the empty table, then merged through the staging table.
TEST_F(PostgresBulkImportTest, NewRowsWithoutAHistoryWarmUpAndExistingOnesKeepTheirs) {
  constexpr core::CompactTime kToday = 220'000'000;
  const auto warm_from = [this](std::uint64_t digits) {
    return db_.QueryInt("SELECT warm_from FROM caller_ids WHERE caller_id = " +
                        std::to_string(digits));
  };
  ImportResult r = Import({Item(3'105'550'100, "New"), Item(3'105'550'101, "Used", 12'345),
                           Item(3'105'550'102, "Zero", 0)},
                          OnDuplicate::kUpdate, nullptr, kToday);
  EXPECT_EQ(r.imported, 3u);
  EXPECT_EQ(warm_from(3'105'550'100), kToday);
  EXPECT_EQ(warm_from(3'105'550'101), 0);
  EXPECT_EQ(warm_from(3'105'550'102), kToday);

  // A day later: the existing rows (one re-imported with a last_used now) keep theirs.
  r = Import({Item(3'105'550'100, "Again", 23'456), Item(3'105'550'101, "Again"),
              Item(3'105'550'103, "New"), Item(3'105'550'104, "Used", 12'345)},
             OnDuplicate::kUpdate, nullptr, kToday + 86'400);
  EXPECT_EQ(r.imported, 2u);
  EXPECT_EQ(r.updated, 2u);
  Collect sink = Scan();
  EXPECT_EQ(sink.numbers.at(3'105'550'100).first.carrier, "Again");
  EXPECT_EQ(sink.numbers.at(3'105'550'100).second.last_used, 23'456u);
  EXPECT_EQ(sink.numbers.at(3'105'550'100).second.warm_from, kToday);
  EXPECT_EQ(sink.numbers.at(3'105'550'101).second.warm_from, 0u);
  EXPECT_EQ(sink.numbers.at(3'105'550'102).second.warm_from, kToday);
  EXPECT_EQ(sink.numbers.at(3'105'550'103).second.warm_from, kToday + 86'400);
  EXPECT_EQ(sink.numbers.at(3'105'550'104).second.warm_from, 0u);

  // Without a day given, new numbers are established.
  Import({Item(3'105'550'105, "New")}, OnDuplicate::kUpdate);
  EXPECT_EQ(warm_from(3'105'550'105), 0);
}

// An import never writes rest_until: new rows (copied straight in or merged) are not resting, an
// existing number keeps its rest (an admin's PATCH) whatever the import, and the scan reads it.
TEST_F(PostgresBulkImportTest, ImportsLeaveRestsAsTheyAre) {
  Import({Item(3'105'550'100, "New"), Item(3'105'550'101, "New")}, OnDuplicate::kUpdate);
  db_.Exec("UPDATE caller_ids SET rest_until = 220000000 WHERE caller_id = 3105550100");
  ImportResult r = Import({Item(3'105'550'100, "Again", 23'456), Item(3'105'550'101, "Again"),
                           Item(3'105'550'102, "New")},
                          OnDuplicate::kUpdate);
  EXPECT_EQ(r.imported, 1u);
  EXPECT_EQ(r.updated, 2u);
  Collect sink = Scan();
  EXPECT_EQ(sink.numbers.at(3'105'550'100).first.carrier, "Again");
  EXPECT_EQ(sink.numbers.at(3'105'550'100).second.last_used, 23'456u);
  EXPECT_EQ(sink.numbers.at(3'105'550'100).second.rest_until, 220'000'000u);
  EXPECT_EQ(sink.numbers.at(3'105'550'101).second.rest_until, 0u);
  EXPECT_EQ(sink.numbers.at(3'105'550'102).second.rest_until, 0u);
}

TEST_F(PostgresBulkImportTest, FirstBatchMayBeSmaller) {
  postgres::BulkImportOptions options;
  options.connection = db_.settings();
  options.batch_rows = 3;
  options.first_batch_rows = 1;
  std::vector<std::size_t> batches;
  options.on_rows_written = [&](std::span<const ImportItem> rows) {
    batches.push_back(rows.size());
  };
  auto importer = postgres::BulkImporter::Open(options);
  ASSERT_THAT(importer, IsOk());
  for (std::uint64_t d = 0; d < 5; ++d) {
    ASSERT_THAT((*importer)->Add(Item(3'105'550'100 + d, "New")), IsOk());
  }
  ASSERT_THAT((*importer)->Finish(), IsOk());
  EXPECT_THAT(batches, ::testing::ElementsAre(1u, 3u, 1u));
  EXPECT_EQ((*importer)->result().imported, 5u);
}

TEST_F(PostgresBulkImportTest, UnreachableServerFailsOpen) {
  postgres::BulkImportOptions options;
  options.connection = db_.settings();
  options.connection.port = 1;  // nothing listens on a privileged port here
  EXPECT_THAT(postgres::BulkImporter::Open(options), HasError(core::ErrorCode::kUnavailable));
}

}  // namespace
}  // namespace cidrotor::store::journal_test
