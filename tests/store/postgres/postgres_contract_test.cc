// The journal contract (journal_contract.h) on the PostgreSQL journal, each test in a fresh
// schema of the fixture's server.
#include "pg_test_database.h"
#include "store/journal_contract.h"
#include "store/postgres/postgres_journal.h"

namespace cidrotor::store::journal_test {
namespace {

struct PostgresJournalFactory {
  postgres_test::PgTestDatabase db;
  std::unique_ptr<Journal> Make() {
    auto journal = PostgresJournal::Open({.connection = db.settings()});
    EXPECT_THAT(journal, IsOk());
    return journal ? std::move(*journal) : nullptr;
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, JournalContractTest, PostgresJournalFactory);

}  // namespace
}  // namespace cidrotor::store::journal_test
