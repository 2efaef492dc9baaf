// HistoryPruner (store/history_pruner.h): a pass at most once a minute, with the retention's
// cutoffs, none of the history when every retention is zero.
#include "store/history_pruner.h"

#include <gtest/gtest.h>

#include "journal_test_util.h"
#include "store/memory/memory_journal.h"

namespace cidrotor::store {
namespace {

using journal_test::AppendAndWait;
using journal_test::kT0;
using journal_test::ListLogsSync;
using journal_test::Log;
using journal_test::Logs;
using std::chrono::hours;
using std::chrono::seconds;

constexpr std::chrono::seconds kDay{86'400};

ApiLogEntry LogAt(core::TimePoint at) {
  ApiLogEntry log = Log(0);
  log.timestamp = at;
  return log;
}

std::size_t LogCount(MemoryJournal& journal) { return ListLogsSync(journal, Logs(1000))->size(); }

TEST(HistoryPrunerTest, DeletesWhatIsPastTheRetentionAtMostOnceAMinute) {
  MemoryJournal journal;
  HistoryPruner pruner(journal, HistoryRetention{30 * kDay, 90 * kDay});
  // The newest row of the table always stays: the last one appended here is a recent one.
  ASSERT_TRUE(AppendAndWait(journal, {LogAt(kT0 - 31 * kDay), LogAt(kT0 - 29 * kDay), LogAt(kT0)}));
  pruner.Tick(kT0);
  EXPECT_EQ(LogCount(journal), 2u);  // the 31-day-old row went

  ASSERT_TRUE(AppendAndWait(journal, {LogAt(kT0 - 31 * kDay), LogAt(kT0)}));
  pruner.Tick(kT0 + seconds(59));  // within the minute: no pass
  EXPECT_EQ(LogCount(journal), 4u);
  pruner.Tick(kT0 + seconds(60));
  EXPECT_EQ(LogCount(journal), 3u);
  pruner.Tick(kT0 + 2 * kDay);  // the 29-day-old row is 31 days old now
  EXPECT_EQ(LogCount(journal), 2u);
}

TEST(HistoryPrunerTest, ZeroRetentionKeepsEverything) {
  MemoryJournal journal;
  HistoryPruner pruner(journal, HistoryRetention{});
  ASSERT_TRUE(AppendAndWait(journal, {LogAt(kT0 - 3'650 * kDay)}));
  pruner.Tick(kT0);
  EXPECT_EQ(LogCount(journal), 1u);
}

TEST(HistoryPrunerTest, ReservationRetentionAloneLeavesTheLogs) {
  MemoryJournal journal;
  HistoryPruner pruner(journal, HistoryRetention{seconds(0), 90 * kDay});
  ASSERT_TRUE(AppendAndWait(journal, {LogAt(kT0 - 3'650 * kDay)}));
  pruner.Tick(kT0);
  EXPECT_EQ(LogCount(journal), 1u);
}

}  // namespace
}  // namespace cidrotor::store
