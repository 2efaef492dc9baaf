// init-db on an in-memory journal: the sample pool is loaded only into an empty store.
#include "cli/init_db.h"

#include <gtest/gtest.h>

#include "store/memory/memory_journal.h"

namespace cidrotor::cli {
namespace {

const core::TimePoint kNow = core::FromCompact(200'000'000);

TEST(InitDbTest, WithoutSampleDataOnlyOpensTheStore) {
  store::MemoryJournal journal;
  const auto report = InitDb(journal, kNow, /*sample_data=*/false);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_EQ(report->numbers_before, 0U);
  EXPECT_EQ(report->sample_added, 0U);
  EXPECT_FALSE(report->sample_skipped);
  EXPECT_EQ(journal.EntriesCommitted(), 0U);
}

TEST(InitDbTest, LoadsTheSamplePoolIntoAnEmptyStoreOnce) {
  store::MemoryJournal journal;
  const auto first = InitDb(journal, kNow, /*sample_data=*/true);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_EQ(first->sample_added, kSamplePoolSize);
  EXPECT_EQ(journal.EntriesCommitted(), kSamplePoolSize);

  const auto second = InitDb(journal, kNow, /*sample_data=*/true);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->numbers_before, kSamplePoolSize);
  EXPECT_TRUE(second->sample_skipped);
  EXPECT_EQ(second->sample_added, 0U);
  EXPECT_EQ(journal.EntriesCommitted(), kSamplePoolSize);
}

TEST(InitDbTest, AStoreThatCannotBeWrittenIsAnError) {
  store::MemoryJournal journal;
  journal.SetFailure(core::Error::Unavailable("disk full"));
  const auto report = InitDb(journal, kNow, /*sample_data=*/true);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().code(), core::ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace cidrotor::cli
