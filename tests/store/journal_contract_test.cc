// The journal contract (journal_contract.h) on the embedded mode's journals: in memory (both
// completion modes) and SQLite.
#include "journal_contract.h"

#include "store/memory/memory_journal.h"
#include "store/sqlite/sqlite_journal.h"

namespace cidrotor::store::journal_test {
namespace {

struct MemoryJournalFactory {
  std::unique_ptr<Journal> Make() { return std::make_unique<MemoryJournal>(); }
};

struct MemoryJournalOwnThreadFactory {
  std::unique_ptr<Journal> Make() {
    return std::make_unique<MemoryJournal>(MemoryJournal::Completion::kOwnThread);
  }
};

struct SqliteJournalFactory {
  TempDir dir;
  std::unique_ptr<Journal> Make() {
    auto journal = SqliteJournal::Open({.path = dir.File("journal.db")});
    EXPECT_THAT(journal, IsOk());
    return journal ? std::move(*journal) : nullptr;
  }
};

using EmbeddedJournals =
    ::testing::Types<MemoryJournalFactory, MemoryJournalOwnThreadFactory, SqliteJournalFactory>;
INSTANTIATE_TYPED_TEST_SUITE_P(Embedded, JournalContractTest, EmbeddedJournals);

}  // namespace
}  // namespace cidrotor::store::journal_test
