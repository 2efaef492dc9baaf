// `cidrotor backup FILE`: a consistent copy taken while the store is open and being written (as
// under `serve`), readable as a store of its own; and a clear failure when there is no store.
#include "cli/backup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/export.h"
#include "cli/init_db.h"
#include "core/calendar.h"
#include "core/clock.h"
#include "store/journal.h"
#include "store/sqlite/sqlite_journal.h"

namespace cidrotor::cli {
namespace {

const core::TimePoint kNow = core::FromCompact(220'000'000);

class CountingSink final : public store::LoadSink {
 public:
  void OnNumber(const core::NumberSpec&, const core::NumberUsage&) override { ++numbers; }
  void OnLiveReservation(const core::Reservation&) override {}
  int numbers = 0;
};

class BackupCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "backup-cmd-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Appends `count` numbers through the journal (the group-commit path serve uses).
  static void AddNumbers(store::Journal& journal, int first, int count) {
    std::vector<store::JournalEntry> entries;
    for (int i = 0; i < count; ++i) {
      core::NumberSpec spec;
      spec.caller_id = core::PhoneNumber::FromValidDigits(2'125'550'000ULL + first + i);
      entries.push_back(store::NumberUpserted{spec, {}});
    }
    journal.Append(std::move(entries), {});
    journal.Flush();
  }

  std::filesystem::path dir_;
};

TEST_F(BackupCommandTest, CopiesAnOpenStoreConsistentlyAndTheCopyLoads) {
  auto journal = store::SqliteJournal::Open({.path = (dir_ / kDatabaseFileName).string()});
  ASSERT_TRUE(journal.has_value()) << journal.error().ToString();
  AddNumbers(**journal, 0, 100);

  std::ostringstream out, err;
  const auto copy = dir_ / "copy.db";
  ASSERT_EQ(RunBackup({dir_, copy.string()}, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("100 numbers"), std::string::npos) << out.str();
  AddNumbers(**journal, 100, 5);  // later commits are not in the copy

  auto restored = store::SqliteJournal::Open({.path = copy.string()});
  ASSERT_TRUE(restored.has_value()) << restored.error().ToString();
  CountingSink sink;
  ASSERT_TRUE((*restored)->Load(kNow, sink).has_value());
  EXPECT_EQ(sink.numbers, 100);
  EXPECT_FALSE(std::filesystem::exists(copy.string() + ".partial"));
  // The call history is its owner's alone, whatever the umask.
  EXPECT_EQ(std::filesystem::status(copy).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(BackupCommandTest, MissingStoreFailsWithExitOneAndSaysWhere) {
  std::ostringstream out, err;
  EXPECT_EQ(RunBackup({dir_ / "nothing-here", (dir_ / "copy.db").string()}, out, err), 1);
  EXPECT_NE(err.str().find("no database at"), std::string::npos) << err.str();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "copy.db"));
}

// So does export: a wrong --data-dir used to create an empty store there and export 0 numbers.
TEST_F(BackupCommandTest, ExportOfAMissingStoreFailsAndCreatesNothing) {
  ExportOptions options;
  options.data_dir = dir_ / "nothing-here";
  options.output = (dir_ / "pool.csv").string();
  std::ostringstream out, err;
  core::SystemClock clock;
  core::FixedOffsetCalendar calendar;
  EXPECT_EQ(RunExport(options, clock, calendar, out, err), 1);
  EXPECT_NE(err.str().find("no database at"), std::string::npos) << err.str();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "nothing-here"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "pool.csv"));
}

// `backup var/cidrotor.db` or `export var/cidrotor.db` (FILE read as the file to save) once
// replaced or truncated the running store: refused with exit 2, by any name for it or its WAL,
// and the store stays whole.
TEST_F(BackupCommandTest, BackupOrExportOverTheStoreItselfIsRefused) {
  auto journal = store::SqliteJournal::Open({.path = (dir_ / kDatabaseFileName).string()});
  ASSERT_TRUE(journal.has_value()) << journal.error().ToString();
  AddNumbers(**journal, 0, 10);
  std::filesystem::create_directory(dir_ / "sub");
  std::filesystem::create_hard_link(dir_ / kDatabaseFileName, dir_ / "sub" / "link.db");
  const std::vector<std::string> targets = {
      (dir_ / kDatabaseFileName).string(), (dir_ / "sub" / ".." / kDatabaseFileName).string(),
      (dir_ / (std::string(kDatabaseFileName) + "-wal")).string(),
      (dir_ / "sub" / "link.db").string(), (dir_ / "cidrotor.lock").string()};
  for (const std::string& target : targets) {
    std::ostringstream out, err;
    EXPECT_EQ(RunBackup({dir_, target}, out, err), 2) << target;
    EXPECT_NE(err.str().find("is the store itself"), std::string::npos) << err.str();
    ExportOptions options;
    options.data_dir = dir_;
    options.output = target;
    core::SystemClock clock;
    core::FixedOffsetCalendar calendar;
    EXPECT_EQ(RunExport(options, clock, calendar, out, err), 2) << target;
  }
  std::ostringstream out, err;
  EXPECT_EQ(RunBackup({dir_, (dir_ / "sub" / "copy.db").string()}, out, err), 0) << err.str();
  CountingSink sink;
  ASSERT_TRUE((*journal)->Load(kNow, sink).has_value());
  EXPECT_EQ(sink.numbers, 10);
}

// An export that fails halfway (here its read of the store; a full disk alike) used to leave
// FILE cut short, a copy that still imports: the previous export stays as it was.
TEST_F(BackupCommandTest, AFailedExportLeavesThePreviousOneWhole) {
  const auto file = dir_ / "pool.csv";
  std::ofstream(file) << "the previous export\n";
  ExportOptions options;
  options.data_dir = dir_;
  options.output = file.string();
  options.scan = [](core::TimePoint, store::LoadSink& sink) -> core::Result<std::uint64_t> {
    core::NumberSpec spec;
    spec.caller_id = core::PhoneNumber::FromValidDigits(2'125'550'000ULL);
    sink.OnNumber(spec, {});
    return core::Fail(core::Error::Unavailable("the store went away"));
  };
  std::ostringstream out, err;
  core::SystemClock clock;
  core::FixedOffsetCalendar calendar;
  EXPECT_EQ(RunExport(options, clock, calendar, out, err), 1);
  std::ifstream in(file);
  std::string first_line;
  std::getline(in, first_line);
  EXPECT_EQ(first_line, "the previous export");
  EXPECT_FALSE(std::filesystem::exists(file.string() + ".partial"));
}

// Backup renamed its copy over whatever FILE was: a FIFO here, /dev/null as root.
TEST_F(BackupCommandTest, BackupToAPipeOrDeviceIsRefusedAndLeavesIt) {
  auto journal = store::SqliteJournal::Open({.path = (dir_ / kDatabaseFileName).string()});
  ASSERT_TRUE(journal.has_value()) << journal.error().ToString();
  const auto fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::ostringstream out, err;
  EXPECT_EQ(RunBackup({dir_, fifo.string()}, out, err), 2);
  EXPECT_NE(err.str().find("not a regular file"), std::string::npos) << err.str();
  EXPECT_TRUE(std::filesystem::is_fifo(fifo));
}

}  // namespace
}  // namespace cidrotor::cli
