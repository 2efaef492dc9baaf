// What only the SQLite journal does: the schema and its migrations, durability across reopening,
// group commit, failed commits, the log queue bound, and rows written by other tools. The shared
// behaviour is in journal_contract_test.cc. Real files in a temporary directory; failures are
// injected through a second connection (a trigger, a held write lock), never by sleeping.
#include "store/sqlite/sqlite_journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "journal_test_util.h"
#include "store/sqlite/schema.h"
#include "support/await.h"
#include "support/log_capture.h"

namespace cidrotor::store::journal_test {
namespace {

using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A second, plain connection to the journal's file: to look at the schema and to inject faults.
class SideConnection {
 public:
  explicit SideConnection(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~SideConnection() { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error ? error : "");
    sqlite3_free(error);
  }

  std::vector<std::string> Column(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(stmt, 0);
      out.emplace_back(text ? reinterpret_cast<const char*>(text) : "NULL");
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Takes a migrated store back to schema `version` (>= 1): drops what each later migration added
// and its bookkeeping row, so a test can check the upgrade from there.
void DowngradeTo(SideConnection& side, int version) {
  static const char* const kUndo[] = {
      /* 2 */ "DROP TABLE pool_settings",
      /* 3 */ "DROP INDEX reservations_lead",
      /* 4 */
      "ALTER TABLE caller_ids DROP COLUMN last_reservation_id;"
      "ALTER TABLE reservations DROP COLUMN previous_id",
      /* 5 */ "ALTER TABLE caller_ids DROP COLUMN warm_from",
      /* 6 */ "ALTER TABLE caller_ids DROP COLUMN rest_until",
      /* 7 */ "DROP TABLE deleted_numbers",
      /* 8 */ "DROP TABLE retired_numbers",
  };
  static_assert(std::size(kUndo) == sqlite::kSchemaVersion - 1, "a migration without its undo");
  for (int v = sqlite::kSchemaVersion; v > version; --v) side.Exec(kUndo[v - 2]);
  side.Exec("DELETE FROM schema_migrations WHERE version > " + std::to_string(version));
}

class SqliteJournalTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteJournal> OpenJournal() { return OpenJournal({.path = path_}); }
  std::unique_ptr<SqliteJournal> OpenJournal(SqliteOptions options) {
    auto journal = SqliteJournal::Open(std::move(options));
    EXPECT_THAT(journal, IsOk());
    return journal ? std::move(*journal) : nullptr;
  }

  // What a release's waiter was told, and how many times.
  struct ReleaseHeard {
    std::atomic<int> calls{0};
    core::Result<void> result = core::Fail(core::Error::Unavailable("not called"));
  };
  // Commits a number with reservation 7, then appends its release (answered before its commit,
  // as IndexedStore::Release does), its waiter's outcome going to `heard`.
  static void ReserveThenRelease(SqliteJournal& journal, SideConnection& side,
                                 const std::string& before_release, ReleaseHeard& heard) {
    ASSERT_THAT(AppendAndWait(journal, {Upsert(Spec(2'125'550'100)),
                                        Made(MakeReservation(7, 2'125'550'100, kT0, seconds(60)))}),
                IsOk());
    side.Exec(before_release);
    journal.Append({Released(7, kT0 + seconds(30))}, [&heard](core::Result<void> r) {
      heard.result = std::move(r);
      ++heard.calls;
    });
  }

  // Polls `done` for up to 5 s; whether it became true.
  template <class Done>
  static bool Eventually(const Done& done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
  }

  // A trigger that makes every release fail to commit, for ReserveThenRelease.
  static constexpr const char* kRefuseReleases =
      "CREATE TRIGGER refuse_release BEFORE UPDATE OF released_at ON reservations BEGIN SELECT "
      "RAISE(ABORT, 'injected'); END";

  TempDir dir_;
  const std::string path_ = dir_.File("cidrotor.db");
};

TEST_F(SqliteJournalTest, OpenCreatesTheSchemaInWalMode) {
  auto journal = OpenJournal();
  SideConnection side(path_);
  EXPECT_THAT(side.Column("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
              ElementsAre("api_logs", "caller_ids", "campaign_pools", "deleted_numbers",
                          "pool_settings", "reservations", "retired_numbers", "schema_migrations"));
  EXPECT_THAT(side.Column("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT "
                          "NULL ORDER BY name"),
              ElementsAre("caller_ids_area_code", "deleted_numbers_keep", "reservations_lead",
                          "reservations_until"));
  EXPECT_THAT(side.Column("SELECT version FROM schema_migrations"),
              ElementsAre("1", "2", "3", "4", "5", "6", "7", "8"));
  EXPECT_THAT(side.Column("PRAGMA journal_mode"), ElementsAre("wal"));
  EXPECT_THAT(side.Column("SELECT name FROM pragma_table_info('caller_ids') ORDER BY cid"),
              ElementsAre("caller_id", "carrier", "area_code", "hourly_limit", "daily_limit",
                          "is_active", "pool", "state", "last_used", "hour_start", "hourly_used",
                          "day_start", "daily_used", "created_at", "meta", "last_reservation_id",
                          "warm_from", "rest_until"));
}

TEST_F(SqliteJournalTest, ReopeningIsIdempotentAndKeepsTheData) {
  {
    auto journal = OpenJournal();
    // No Flush: the destructor must write what was appended.
    journal->Append({Upsert(Spec(3'105'550'100, 0, 300), Usage(kT0, 2, 5))}, nullptr);
  }
  auto journal = OpenJournal();
  RecordingSink sink;
  ASSERT_THAT(journal->Load(kT0, sink), IsOk());
  ASSERT_EQ(sink.numbers.size(), 1u);
  EXPECT_EQ(sink.numbers[0].first.daily_cap, 300u);
  EXPECT_EQ(sink.numbers[0].second.daily_used, 5u);
  SideConnection side(path_);
  EXPECT_THAT(side.Column("SELECT version FROM schema_migrations"),
              ElementsAre("1", "2", "3", "4", "5", "6", "7", "8"));
}

TEST_F(SqliteJournalTest, RefusesADatabaseFromANewerVersion) {
  OpenJournal().reset();
  const int newer = sqlite::kSchemaVersion + 1;
  SideConnection(path_).Exec("INSERT INTO schema_migrations VALUES (" + std::to_string(newer) +
                             ", 0)");

  auto journal = SqliteJournal::Open({.path = path_});
  ASSERT_THAT(journal, HasError(core::ErrorCode::kUnavailable));
  EXPECT_THAT(journal.error().detail(), HasSubstr("schema version " + std::to_string(newer)));
  EXPECT_THAT(journal.error().detail(),
              HasSubstr("version " + std::to_string(sqlite::kSchemaVersion)));
  EXPECT_THAT(journal.error().detail(), HasSubstr(path_));
}

TEST_F(SqliteJournalTest, MigratesADatabaseAtAnOlderVersion) {
  {
    SideConnection side(path_);  // version 0: the bookkeeping table exists, no migration ran
    side.Exec("CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER)");
  }
  auto journal = OpenJournal();
  ASSERT_NE(journal, nullptr);
  SideConnection side(path_);
  EXPECT_THAT(side.Column("SELECT max(version) FROM schema_migrations"),
              ElementsAre(std::to_string(sqlite::kSchemaVersion)));
  EXPECT_THAT(side.Column("SELECT count(*) FROM caller_ids"), ElementsAre("0"));
  EXPECT_THAT(side.Column("SELECT count(*) FROM pool_settings"), ElementsAre("0"));
}

// A store made by the first release (schema 1) gains the pool_settings table and the leads' index,
// and keeps its rows.
TEST_F(SqliteJournalTest, MigratesAVersionOneStoreAndKeepsItsRows) {
  {
    auto journal = OpenJournal();
    ASSERT_THAT(AppendAndWait(*journal, {Upsert(Spec(3'105'550'100))}), IsOk());
  }
  {
    SideConnection side(path_);
    DowngradeTo(side, 1);
  }
  auto journal = OpenJournal();
  ASSERT_NE(journal, nullptr);
  SideConnection side(path_);
  EXPECT_THAT(side.Column("SELECT version FROM schema_migrations ORDER BY version"),
              ElementsAre("1", "2", "3", "4", "5", "6", "7", "8"));
  EXPECT_THAT(side.Column("SELECT count(*) FROM caller_ids"), ElementsAre("1"));
  // Numbers added before warm-up existed are established (migration 5).
  EXPECT_THAT(side.Column("SELECT warm_from FROM caller_ids"), ElementsAre("0"));
  ASSERT_THAT(AppendAndWait(*journal, {PoolSettingsChanged{PoolSettings{"east", false}}}), IsOk());
  EXPECT_THAT(side.Column("SELECT fallback FROM pool_settings WHERE pool = 'east'"),
              ElementsAre("none"));
}

// A store of schema 3 has history without the lookup's links: migration 4 links it, so the
// lookup reaches the calls made before the upgrade.
TEST_F(SqliteJournalTest, MigratesAVersionThreeStoreAndLinksItsHistory) {
  {
    auto journal = OpenJournal();
    ASSERT_THAT(AppendAndWait(*journal, {Upsert(Spec(2'125'550'100)), Upsert(Spec(2'125'550'101)),
                                         Upsert(Spec(2'125'550'102))}),
                IsOk());
    core::Reservation second = MakeReservation(3, 2'125'550'100, kT0 - seconds(100), seconds(60));
    second.destination = Phone(2'125'559'876);
    ASSERT_THAT(
        AppendAndWait(
            *journal,
            {Made(MakeReservation(1, 2'125'550'100, kT0 - seconds(300), seconds(60))),
             Made(MakeReservation(2, 2'125'550'101, kT0 - seconds(200), seconds(60))), Made(second),
             Made(MakeReservation(4, 2'125'550'100, kT0 - seconds(50), seconds(60))),
             // The same millisecond as 2: id order breaks the tie.
             Made(MakeReservation(5, 2'125'550'101, kT0 - seconds(200), seconds(60)))}),
        IsOk());
  }
  {
    SideConnection side(path_);
    DowngradeTo(side, 3);
  }
  auto journal = OpenJournal();
  ASSERT_NE(journal, nullptr);
  SideConnection side(path_);
  EXPECT_THAT(side.Column("SELECT previous_id FROM reservations ORDER BY id"),
              ElementsAre("NULL", "NULL", "1", "3", "2"));
  EXPECT_THAT(side.Column("SELECT last_reservation_id FROM caller_ids ORDER BY caller_id"),
              ElementsAre("4", "5", "NULL"));
  LookupQuery query;
  query.caller_id = Phone(2'125'550'100);
  query.from = Phone(3'105'559'876);
  auto found =
      testing::Await<LookupData>([&](auto done) { journal->QueryLookup(query, kT0, done); });
  ASSERT_THAT(found, IsOk());
  ASSERT_TRUE(found->called.has_value());
  EXPECT_EQ(found->called->reservation.id, 4u);  // the newest of the two calls to 310-555-9876
  query.from = Phone(2'125'559'876);
  found = testing::Await<LookupData>([&](auto done) { journal->QueryLookup(query, kT0, done); });
  ASSERT_THAT(found, IsOk());
  ASSERT_TRUE(found->called.has_value());
  EXPECT_EQ(found->called->reservation.id, 3u);
}

TEST_F(SqliteJournalTest, OpenRefusesAnInMemoryDatabase) {
  EXPECT_THAT(SqliteJournal::Open({.path = ":memory:"}),
              HasError(core::ErrorCode::kInvalidArgument));
  EXPECT_THAT(SqliteJournal::Open({.path = ""}), HasError(core::ErrorCode::kInvalidArgument));
}

TEST_F(SqliteJournalTest, OpenFailsClearlyWhenTheDirectoryIsMissing) {
  const std::string path = dir_.File("no-such-dir/cidrotor.db");
  auto journal = SqliteJournal::Open({.path = path});
  ASSERT_THAT(journal, HasError(core::ErrorCode::kUnavailable));
  EXPECT_THAT(journal.error().detail(), HasSubstr(path));
  EXPECT_THAT(journal.error().detail(), HasSubstr("unable to open"));
}

TEST_F(SqliteJournalTest, FailedCommitFailsEveryWaiterRollsBackAndRecovers) {
  auto journal = OpenJournal();
  SideConnection side(path_);
  side.Exec(
      "CREATE TRIGGER fail_logs BEFORE INSERT ON api_logs BEGIN SELECT RAISE(ABORT, 'injected'); "
      "END");

  auto failed = AppendAndWait(*journal, {Upsert(Spec(3'105'550'100)), Log(1)});
  ASSERT_THAT(failed, HasError(core::ErrorCode::kUnavailable));
  EXPECT_THAT(failed.error().detail(), HasSubstr("injected"));
  EXPECT_FALSE(journal->Healthy());
  EXPECT_EQ(journal->BatchesFailed(), 1u);
  RecordingSink sink;
  ASSERT_THAT(journal->Load(kT0, sink), IsOk());
  EXPECT_TRUE(sink.numbers.empty());  // rolled back with the log row that failed

  side.Exec("DROP TRIGGER fail_logs");
  EXPECT_THAT(AppendAndWait(*journal, {Upsert(Spec(3'105'550'100)), Log(2)}), IsOk());
  EXPECT_TRUE(journal->Healthy());
}

TEST_F(SqliteJournalTest, CommitBlockedPastBusyTimeoutFailsAllItsWaiters) {
  auto journal = OpenJournal({.path = path_, .busy_timeout = std::chrono::milliseconds(20)});
  SideConnection side(path_);
  side.Exec("BEGIN IMMEDIATE");  // another process holds the write lock

  std::vector<core::Result<void>> results(3);
  std::atomic<int> remaining{3};
  for (int i = 0; i < 3; ++i) {
    journal->Append({Log(i)}, [&, i](core::Result<void> r) {
      results[static_cast<std::size_t>(i)] = std::move(r);
      remaining.fetch_sub(1);
    });
  }
  journal->Flush();
  EXPECT_EQ(remaining.load(), 0);
  for (const auto& r : results) {
    ASSERT_THAT(r, HasError(core::ErrorCode::kUnavailable));
    EXPECT_THAT(r.error().detail(), HasSubstr("locked"));
  }
  EXPECT_FALSE(journal->Healthy());
  // Stalled until a commit succeeds: the store refuses allocations at once rather than let each
  // wait for the lock again (each would hold its caller for the busy timeout).
  EXPECT_TRUE(journal->Stalled());

  side.Exec("COMMIT");
  EXPECT_THAT(AppendAndWait(*journal, {Log(9)}), IsOk());
  EXPECT_TRUE(journal->Healthy());
  EXPECT_FALSE(journal->Stalled());
}

// The store answers a release before its commit (IndexedStore::Release): one whose commit failed
// (here a lock another process held past the busy timeout) is written once the database can be,
// without another append to carry it; its waiter hears only of that. Lost, the call's outcome
// was unknown for good and the reservation live again after a restart (the FastAGI review).
TEST_F(SqliteJournalTest, AReleaseWhoseCommitFailedIsWrittenOnceTheDatabaseCanBe) {
  auto journal = OpenJournal({.path = path_, .busy_timeout = std::chrono::milliseconds(20)});
  SideConnection side(path_);
  ReleaseHeard heard;
  ASSERT_NO_FATAL_FAILURE(ReserveThenRelease(*journal, side, "BEGIN IMMEDIATE", heard));
  ASSERT_TRUE(Eventually([&] { return journal->BatchesFailed() >= 1; }));
  EXPECT_EQ(heard.calls.load(), 0) << "kept, not failed";
  EXPECT_EQ(journal->QueueDepth(), 1u);
  EXPECT_TRUE(journal->Stalled()) << "its own commit failed as any other";
  side.Exec("COMMIT");
  ASSERT_TRUE(Eventually([&] { return heard.calls.load() == 1; })) << "never written again";
  EXPECT_THAT(heard.result, IsOk());
  EXPECT_EQ(journal->QueueDepth(), 0u);
  EXPECT_TRUE(journal->Healthy());
  EXPECT_THAT(side.Column("SELECT outcome FROM reservations WHERE id = 7"),
              ElementsAre("answered"));
  RecordingSink sink;
  ASSERT_THAT(journal->Load(kT0 + seconds(40), sink), IsOk());
  EXPECT_TRUE(sink.live.empty()) << "live again after a restart";
}

// A kept release is tried again in a transaction of its own, which leaves the journal's health
// alone: one that can never be written (here a trigger refuses it) fails no other append and
// does not stall allocation; at the stop it is tried once more and then given up.
TEST_F(SqliteJournalTest, AKeptReleaseThatCannotBeWrittenFailsNothingElse) {
  auto journal = OpenJournal({.path = path_, .failed_commit_hold = std::chrono::milliseconds(500)});
  SideConnection side(path_);
  ReleaseHeard heard;
  ASSERT_NO_FATAL_FAILURE(ReserveThenRelease(*journal, side, kRefuseReleases, heard));
  journal->Flush();
  EXPECT_EQ(heard.calls.load(), 0);
  // Past the hold and the next try (retry_releases_every): changes commit as before.
  std::this_thread::sleep_for(std::chrono::milliseconds(1'200));
  EXPECT_GE(journal->BatchesFailed(), 2u) << "tried again";
  EXPECT_FALSE(journal->Stalled());
  EXPECT_THAT(AppendAndWait(*journal, {Upsert(Spec(2'125'550'101))}), IsOk());
  EXPECT_EQ(heard.calls.load(), 0);
  journal.reset();
  EXPECT_EQ(heard.calls.load(), 1);
  EXPECT_THAT(heard.result, HasError(core::ErrorCode::kUnavailable));
}

// A kept release still failing after retry_releases_for is given up without a stop: its waiter
// hears the failure (IndexedStore logs the release as not recorded), the queue forgets it, and
// the journal goes on.
TEST_F(SqliteJournalTest, AKeptReleaseIsGivenUpAfterRetryReleasesFor) {
  auto journal = OpenJournal({.path = path_,
                              .retry_releases_every = std::chrono::milliseconds(50),
                              .retry_releases_for = std::chrono::milliseconds(400)});
  SideConnection side(path_);
  ReleaseHeard heard;
  cidrotor::testing::LogCapture log;
  const auto appended = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(ReserveThenRelease(*journal, side, kRefuseReleases, heard));
  ASSERT_TRUE(Eventually([&] { return heard.calls.load() == 1; })) << "kept for ever";
  EXPECT_GE(std::chrono::steady_clock::now() - appended, std::chrono::milliseconds(400))
      << "given up before its time";
  EXPECT_THAT(heard.result, HasError(core::ErrorCode::kUnavailable));
  EXPECT_GE(journal->BatchesFailed(), 3u) << "not tried again meanwhile";
  EXPECT_EQ(journal->QueueDepth(), 0u);
  EXPECT_THAT(AppendAndWait(*journal, {Upsert(Spec(2'125'550'101))}), IsOk());
  journal.reset();
  EXPECT_EQ(heard.calls.load(), 1) << "completed twice";
  // One warning when kept, not one per try (every second for ten minutes by default).
  EXPECT_EQ(log.Count("releases not written"), 1U) << log.Text();
}

// After a commit failed for a lock another process holds, the writer waits for the lock only
// busy_timeout_after_failure until a commit succeeds: an append queued behind the failure (an
// allocation accepted before it) is answered about then, not after another busy_timeout (with a
// release's failure and its retry before it, an allocation waited ~6 s for its 503). Once a
// commit succeeds the full wait is back.
TEST_F(SqliteJournalTest, AfterAFailedCommitTheWriterWaitsForTheLockOnlyBriefly) {
  auto journal = OpenJournal({.path = path_,
                              .busy_timeout = std::chrono::milliseconds(1'000),
                              .busy_timeout_after_failure = std::chrono::milliseconds(50)});
  SideConnection side(path_);
  side.Exec("BEGIN IMMEDIATE");
  const auto waited = [&](std::uint64_t number) {
    const auto start = std::chrono::steady_clock::now();
    auto result = AppendAndWait(*journal, {Upsert(Spec(number))});
    EXPECT_THAT(result, HasError(core::ErrorCode::kUnavailable));
    return std::chrono::steady_clock::now() - start;
  };
  EXPECT_GE(waited(2'125'550'100), std::chrono::milliseconds(1'000));
  EXPECT_LT(waited(2'125'550'101), std::chrono::milliseconds(600)) << "busy_timeout again";
  side.Exec("COMMIT");
  EXPECT_THAT(AppendAndWait(*journal, {Upsert(Spec(2'125'550'102))}), IsOk());
  side.Exec("BEGIN IMMEDIATE");
  EXPECT_GE(waited(2'125'550'103), std::chrono::milliseconds(1'000)) << "the brief wait stayed";
  side.Exec("COMMIT");
}

// After a failed commit nothing may succeed for a while (no log rows, no releases): past
// failed_commit_hold one allocation goes through as the probe.
TEST_F(SqliteJournalTest, AFailedCommitStallsTheJournalForTheHoldAtMost) {
  auto journal = OpenJournal({.path = path_,
                              .busy_timeout = std::chrono::milliseconds(20),
                              .failed_commit_hold = std::chrono::milliseconds(200)});
  SideConnection side(path_);
  side.Exec("BEGIN IMMEDIATE");
  ASSERT_THAT(AppendAndWait(*journal, {Log(1)}), HasError(core::ErrorCode::kUnavailable));
  EXPECT_TRUE(journal->Stalled());
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_FALSE(journal->Stalled());
  side.Exec("COMMIT");
}

// The database file deleted (or replaced) under a running store: SQLite would go on committing
// into the unlinked file, and a restart would find no store. Every commit stops instead, clearly,
// from the first one after the delete.
TEST_F(SqliteJournalTest, ADeletedDatabaseFileStopsEveryCommit) {
  auto journal = OpenJournal();
  ASSERT_THAT(AppendAndWait(*journal, {Upsert(Spec(3'105'550'100))}), IsOk());
  std::filesystem::remove(path_);
  for (std::uint64_t number = 3'105'550'101; number <= 3'105'550'105; ++number) {
    auto after = AppendAndWait(*journal, {Upsert(Spec(number))});
    ASSERT_THAT(after, HasError(core::ErrorCode::kUnavailable)) << number;
    EXPECT_THAT(after.error().detail(), HasSubstr("deleted"));
    EXPECT_FALSE(journal->Healthy());
  }
}

// A file moved away stops the commits while it is away; moved back, they go on, into it.
TEST_F(SqliteJournalTest, ADatabaseFileMovedAwayStopsTheCommitsUntilItIsBack) {
  auto journal = OpenJournal();
  ASSERT_THAT(AppendAndWait(*journal, {Upsert(Spec(3'105'550'100))}), IsOk());
  const std::string away = path_ + ".away";
  std::filesystem::rename(path_, away);
  EXPECT_THAT(AppendAndWait(*journal, {Upsert(Spec(3'105'550'101))}),
              HasError(core::ErrorCode::kUnavailable));
  EXPECT_THAT(AppendAndWait(*journal, {Upsert(Spec(3'105'550'102))}),
              HasError(core::ErrorCode::kUnavailable));
  std::filesystem::rename(away, path_);
  EXPECT_THAT(AppendAndWait(*journal, {Upsert(Spec(3'105'550'103))}), IsOk());
  EXPECT_TRUE(journal->Healthy());
  journal.reset();
  SideConnection side(path_);
  EXPECT_THAT(side.Column("SELECT caller_id FROM caller_ids ORDER BY caller_id"),
              ElementsAre("3105550100", "3105550103"));
}

// A commit waiting past stall_limit (here for a lock another process holds) makes the journal
// Stalled() while it waits, and no longer once it ends.
TEST_F(SqliteJournalTest, ACommitRunningPastTheStallLimitIsStalledUntilItEnds) {
  auto journal = OpenJournal({.path = path_,
                              .busy_timeout = std::chrono::minutes(5),
                              .stall_limit = std::chrono::milliseconds(50)});
  SideConnection side(path_);
  side.Exec("BEGIN IMMEDIATE");
  std::atomic<bool> committed{false};
  journal->Append({Log(1)}, [&](core::Result<void> r) {
    EXPECT_THAT(r, IsOk());
    committed = true;
  });
  EXPECT_FALSE(journal->Stalled());
  const auto start = std::chrono::steady_clock::now();
  while (!journal->Stalled() &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(journal->Stalled());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  side.Exec("COMMIT");
  journal->Flush();
  EXPECT_TRUE(committed.load());
  EXPECT_FALSE(journal->Stalled());
  EXPECT_TRUE(journal->Healthy());
}

TEST_F(SqliteJournalTest, ConcurrentAppendsShareOneCommit) {
  // The write lock held by a second connection keeps the writer waiting, so every append made
  // meanwhile must wait for the same next commit.
  auto journal = OpenJournal({.path = path_, .busy_timeout = std::chrono::minutes(5)});
  SideConnection side(path_);
  side.Exec("BEGIN IMMEDIATE");

  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        journal->Append({Log(t * kPerThread + i)}, [&](core::Result<void> r) {
          if (r) ok.fetch_add(1);
        });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(journal->QueueDepth(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(journal->BatchesCommitted(), 0u);

  side.Exec("COMMIT");
  journal->Flush();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(journal->EntriesCommitted(), static_cast<std::uint64_t>(kThreads * kPerThread));
  // The first append may have gone alone into the commit that was waiting; the rest share one.
  EXPECT_LE(journal->BatchesCommitted(), 2u);
  EXPECT_EQ(journal->QueueDepth(), 0u);
}

TEST_F(SqliteJournalTest, BatchesAreCappedAtMaxBatchEntries) {
  auto journal = OpenJournal(
      {.path = path_, .max_batch_entries = 10, .busy_timeout = std::chrono::minutes(5)});
  SideConnection side(path_);
  side.Exec("BEGIN IMMEDIATE");
  for (int i = 0; i < 41; ++i) journal->Append({Log(i)}, nullptr);
  side.Exec("COMMIT");
  journal->Flush();
  EXPECT_EQ(journal->EntriesCommitted(), 41u);
  EXPECT_GE(journal->BatchesCommitted(), 5u);  // at most 10 entries per commit
}

TEST_F(SqliteJournalTest, LogOnlyAppendsAreDroppedPastTheBoundChangesNeverAre) {
  auto journal =
      OpenJournal({.path = path_, .max_log_queue = 3, .busy_timeout = std::chrono::minutes(5)});
  SideConnection side(path_);
  side.Exec("BEGIN IMMEDIATE");
  for (int i = 0; i < 3; ++i) journal->Append({Log(i)}, nullptr);

  core::Result<void> dropped;
  journal->Append({Log(3)}, [&](core::Result<void> r) { dropped = std::move(r); });
  EXPECT_THAT(dropped, HasError(core::ErrorCode::kUnavailable));  // at once, on this thread
  EXPECT_EQ(journal->DroppedLogs(), 1u);
  journal->Append({Upsert(Spec(3'105'550'100))}, nullptr);          // a change: kept
  journal->Append({Log(4), Upsert(Spec(3'105'550'101))}, nullptr);  // carries a change: kept
  EXPECT_EQ(journal->QueueDepth(), 6u);

  side.Exec("COMMIT");
  journal->Flush();
  EXPECT_EQ(journal->QueueDepth(), 0u);
  auto logs = ListLogsSync(*journal, Logs(100));
  ASSERT_THAT(logs, IsOk());
  EXPECT_EQ(logs->size(), 4u);
  RecordingSink sink;
  ASSERT_THAT(journal->Load(kT0, sink), IsOk());
  EXPECT_EQ(sink.numbers.size(), 2u);
}

// AppendLog buffers rows apart from the change queue: they are written with the next batch (or
// by Flush), dropped and counted past the same bound, and never delay a change.
TEST_F(SqliteJournalTest, AppendLogRowsRideTheNextBatchAndAreBounded) {
  auto journal =
      OpenJournal({.path = path_, .max_log_queue = 3, .busy_timeout = std::chrono::minutes(5)});
  SideConnection side(path_);
  side.Exec("BEGIN IMMEDIATE");  // holds the writer, so rows accumulate
  journal->Append({Upsert(Spec(3'105'550'100))}, nullptr);
  for (int i = 0; i < 4; ++i) journal->AppendLog(Log(i));
  EXPECT_EQ(journal->DroppedLogs(), 2u);  // the change counts toward the bound too
  EXPECT_EQ(journal->QueueDepth(), 3u);
  side.Exec("COMMIT");
  journal->Flush();
  EXPECT_EQ(journal->QueueDepth(), 0u);
  auto logs = ListLogsSync(*journal, Logs(100));
  ASSERT_THAT(logs, IsOk());
  ASSERT_EQ(logs->size(), 2u);
  EXPECT_EQ(logs->at(0).entry.agent, Log(1).agent);  // newest first
  journal->AppendLog(Log(9));
  journal->Flush();  // a Flush alone writes buffered rows
  EXPECT_EQ(ListLogsSync(*journal, Logs(100))->size(), 3u);
}

TEST_F(SqliteJournalTest, LoadsRowsWrittenByOtherToolsAndSkipsInvalidNumbers) {
  OpenJournal().reset();
  SideConnection side(path_);
  // A seed-style row: NULL caps (the defaults apply), NULL carrier and pool.
  side.Exec(
      "INSERT INTO caller_ids(caller_id, carrier, area_code, hourly_limit, daily_limit, pool)"
      " VALUES (2125550100, NULL, '212', NULL, NULL, NULL),"
      "        (1234567890, 'x', '123', 1, 1, 'default')");  // area code 123: not NANP
  side.Exec(
      "INSERT INTO reservations(id, caller_id, reserved_at, reserved_until, destination, match,"
      " outcome, released_at) VALUES (1, 2125550100, 0, 1, '3105559876', 'nonsense', 'weird', 1)");

  auto journal = OpenJournal();
  RecordingSink sink;
  auto summary = journal->Load(kT0, sink);
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->numbers, 1u);
  ASSERT_EQ(sink.numbers.size(), 1u);
  EXPECT_EQ(sink.numbers[0].first.caller_id, Phone(2'125'550'100));
  EXPECT_EQ(sink.numbers[0].first.hourly_cap, 0u);
  EXPECT_EQ(sink.numbers[0].first.daily_cap, 0u);
  EXPECT_EQ(sink.numbers[0].first.carrier, "");
  EXPECT_EQ(sink.numbers[0].first.pool, "default");
  EXPECT_TRUE(sink.numbers[0].first.active);
  EXPECT_EQ(summary->max_reservation_id, 1u);

  auto all = ListReservationsSync(*journal, AllReservations(), kT0);
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].outcome, core::CallOutcome::kOther);  // unknown outcome text
  EXPECT_EQ((*all)[0].reservation.match, core::MatchTier::kAny);
}

TEST_F(SqliteJournalTest, StoresSeedCompatibleColumns) {
  auto journal = OpenJournal();
  ApiLogEntry log = Log(0);
  log.response_time_us = 2'500;
  ASSERT_THAT(AppendAndWait(*journal, {Upsert(Spec(3'105'550'100, 0, 200)), log}), IsOk());
  SideConnection side(path_);
  EXPECT_THAT(side.Column("SELECT area_code || '|' || IFNULL(hourly_limit, 'NULL') || '|' ||"
                          " daily_limit || '|' || is_active FROM caller_ids"),
              ElementsAre("310|NULL|200|1"));
  EXPECT_THAT(side.Column("SELECT response_time_ms FROM api_logs"), ElementsAre("2.5"));
}

}  // namespace
}  // namespace cidrotor::store::journal_test
