// `init-db` (cli::InitDb works on any Journal) on the PostgreSQL journal: it migrates the schema
// and loads the sample pool into an empty store only.
#include <gtest/gtest.h>

#include "cli/init_db.h"
#include "pg_test_database.h"
#include "store/journal_test_util.h"
#include "store/postgres/postgres_journal.h"
#include "store/postgres/schema.h"

namespace cidrotor::store::journal_test {
namespace {

TEST(PostgresInitDbTest, MigratesAndLoadsTheSamplePoolIntoAnEmptyStoreOnly) {
  postgres_test::PgTestDatabase db;
  auto journal = PostgresJournal::Open({.connection = db.settings()});
  ASSERT_THAT(journal, IsOk());
  auto first = cli::InitDb(**journal, kT0, /*sample_data=*/true);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->sample_added, cli::kSamplePoolSize);
  EXPECT_EQ(db.QueryInt("SELECT max(version) FROM schema_migrations"), postgres::kSchemaVersion);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM caller_ids"),
            static_cast<std::int64_t>(cli::kSamplePoolSize));

  auto second = cli::InitDb(**journal, kT0, /*sample_data=*/true);
  ASSERT_THAT(second, IsOk());
  EXPECT_TRUE(second->sample_skipped);
  EXPECT_EQ(second->numbers_before, cli::kSamplePoolSize);
}

}  // namespace
}  // namespace cidrotor::store::journal_test
