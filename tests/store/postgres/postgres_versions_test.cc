// The order of a number's admin changes on PostgreSQL (schema 10, number_versions): each cluster
// instance's writer commits its own backlog, so changes reach the database in either order, or
// at the same moment; each carries Redis's order (store/journal.h ChangeVersion) and the
// database keeps the newest, deletes included.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pg_test_database.h"
#include "store/journal_test_util.h"
#include "store/postgres/postgres_journal.h"

namespace cidrotor::store::postgres_test {
namespace {

using journal_test::AppendAndWait;
using journal_test::kT0;
using journal_test::Phone;
using journal_test::RecordingSink;
using journal_test::Spec;
using testing::IsOk;

constexpr std::uint64_t kNumber = 3'105'550'100;
// Redis's clock in microseconds on kT0.
constexpr ChangeVersion kV0 = 1'709'294'400ULL * 1'000'000;

NumberUpserted Change(std::uint64_t number, const std::string& carrier, ChangeVersion version) {
  core::NumberSpec spec = Spec(number);
  spec.carrier = carrier;
  return NumberUpserted{spec, {}, version};
}

NumberDeleted Delete(std::uint64_t number, ChangeVersion version) {
  return NumberDeleted{Phone(number), {}, kT0, version};
}

// Whether any of `journals` goes degraded (looked at every 2 ms) until Stop().
class DegradedWatch {
 public:
  explicit DegradedWatch(std::vector<const PostgresJournal*> journals)
      : thread_([this, journals = std::move(journals)] {
          while (!stop_) {
            for (const PostgresJournal* journal : journals) {
              if (journal->Degraded()) degraded_ = true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
          }
        }) {}
  ~DegradedWatch() { Stop(); }
  DegradedWatch(const DegradedWatch&) = delete;
  DegradedWatch& operator=(const DegradedWatch&) = delete;
  bool Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return degraded_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> degraded_{false};
  std::thread thread_;
};

class PostgresVersionsTest : public ::testing::Test {
 protected:
  // A commit held up on purpose (the racing tests) may take a while on a loaded machine: only a
  // failed one may degrade a journal here, not the watchdog's wait (1 s by default).
  PostgresOptions Options() const {
    return {.connection = db_.settings(), .commit_wait = std::chrono::milliseconds(20'000)};
  }
  void SetUp() override {
    auto journal = PostgresJournal::Open(Options());
    ASSERT_THAT(journal, IsOk());
    RecordingSink sink;
    ASSERT_THAT((*journal)->Load(kT0, sink), IsOk());  // migrates
    journal_ = std::move(*journal);
  }

  void Write(std::vector<JournalEntry> entries) {
    ASSERT_THAT(AppendAndWait(*journal_, std::move(entries)), IsOk());
  }
  // kNumber's carrier, "" when it has no row.
  std::string Carrier() {
    const std::int64_t found = db_.QueryInt(
        "SELECT CASE carrier WHEN 'old' THEN 1 WHEN 'new' THEN 2 WHEN 'again' THEN 3 ELSE 0 END "
        "FROM caller_ids WHERE caller_id = " +
        std::to_string(kNumber));
    static const char* const kNames[] = {"?", "old", "new", "again"};
    return found < 0 ? "" : kNames[found];
  }
  // A connection whose open transaction holds `number`'s caller_ids row (FOR UPDATE): a batch
  // that changes the number waits there until the transaction ends (its COMMIT).
  std::optional<postgres::Connection> HoldRow(std::uint64_t number) {
    auto lock = postgres::Connection::Open(db_.settings());
    if (!lock || !lock->Exec("BEGIN", "begin") ||
        !lock->Exec(
            "SELECT 1 FROM caller_ids WHERE caller_id = " + std::to_string(number) + " FOR UPDATE",
            "hold a row")) {
      ADD_FAILURE() << "could not hold the row of " << number;
      return std::nullopt;
    }
    return std::move(*lock);
  }
  // B's batch `b` through journal_, held on `held`'s row (HoldRow) mid-batch; meanwhile A's
  // batch `a` through a second journal (another instance's writer); then the row is let go.
  // Whether neither journal had a batch fail (PostgreSQL cancels a deadlock's victim: written
  // again, it succeeds, so only the count of failed batches tells) nor went degraded meanwhile.
  bool RaceCleanly(std::vector<JournalEntry> b, std::vector<JournalEntry> a, std::uint64_t held) {
    auto other = PostgresJournal::Open(Options());
    EXPECT_THAT(other, IsOk());
    auto lock = HoldRow(held);
    if (!other || !lock) return false;
    DegradedWatch watch({journal_.get(), other->get()});
    std::promise<core::Result<void>> b_done;
    journal_->Append(std::move(b), [&](core::Result<void> r) { b_done.set_value(r); });
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    std::promise<core::Result<void>> a_done;
    (*other)->Append(std::move(a), [&](core::Result<void> r) { a_done.set_value(r); });
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    EXPECT_THAT(lock->Exec("COMMIT", "commit"), IsOk());
    EXPECT_THAT(b_done.get_future().get(), IsOk());
    EXPECT_THAT(a_done.get_future().get(), IsOk());
    journal_->Flush();
    (*other)->Flush();
    return !watch.Stop() && journal_->BatchesFailed() == 0 && (*other)->BatchesFailed() == 0;
  }
  std::int64_t Tombstones() {
    return db_.QueryInt("SELECT count(*) FROM number_versions WHERE deleted");
  }

  PgTestDatabase db_;
  std::unique_ptr<PostgresJournal> journal_;
};

TEST_F(PostgresVersionsTest, AChangeOlderThanTheRowChangesNothing) {
  Write({Change(kNumber, "new", kV0 + 20)});
  Write({Change(kNumber, "old", kV0 + 10)});
  EXPECT_EQ(Carrier(), "new");
  Write({Change(kNumber, "again", kV0 + 30)});
  EXPECT_EQ(Carrier(), "again");
  EXPECT_EQ(db_.QueryInt("SELECT version FROM number_versions"),
            static_cast<std::int64_t>(kV0 + 30));
}

TEST_F(PostgresVersionsTest, ADeleteOlderThanTheRowLeavesIt) {
  Write({Change(kNumber, "new", kV0 + 20)});
  Write({Delete(kNumber, kV0 + 10)});  // the number was added again after it, elsewhere
  EXPECT_EQ(Carrier(), "new");
}

TEST_F(PostgresVersionsTest, AChangeOlderThanTheNumbersDeleteDoesNotBringItBack) {
  Write({Change(kNumber, "old", kV0 + 10)});
  Write({Delete(kNumber, kV0 + 30)});
  Write({Change(kNumber, "old", kV0 + 20)});  // another instance's backlog, written last
  EXPECT_EQ(Carrier(), "");
  Write({Change(kNumber, "again", kV0 + 40)});  // added again after the delete
  EXPECT_EQ(Carrier(), "again");
  // Loaded as it stands: a Redis rebuilt from it would not hand the deleted number out.
  RecordingSink sink;
  ASSERT_THAT(journal_->Load(kT0, sink), IsOk());
  ASSERT_EQ(sink.numbers.size(), 1U);
  EXPECT_EQ(sink.numbers[0].first.carrier, "again");
}

TEST_F(PostgresVersionsTest, UnversionedChangesApplyAsTheyCome) {
  Write({Change(kNumber, "new", kV0 + 20)});
  Write({Change(kNumber, "old", 0)});
  EXPECT_EQ(Carrier(), "old");
  Write({Delete(kNumber, 0)});
  EXPECT_EQ(Carrier(), "");
  EXPECT_EQ(Tombstones(), 0);
  Write({Change(kNumber, "again", kV0 + 30)});
  EXPECT_EQ(Carrier(), "again");
}

// A delete older than the number's newest (another instance's delete, committed first) keeps
// and drops no usage: the newer delete's kept usage stays, for the number added again.
TEST_F(PostgresVersionsTest, AnOlderDeleteLeavesTheNewerOnesKeptUsage) {
  Write({Change(kNumber, "old", kV0 + 10)});
  NumberDeleted newer = Delete(kNumber, kV0 + 30);
  newer.kept.usage = journal_test::Usage(kT0, 4, 40);
  newer.kept.keep_until = core::ToCompact(kT0) + 86'400;
  Write({newer});
  Write({Delete(kNumber, kV0 + 20)});  // keeps nothing: would drop the row
  EXPECT_EQ(db_.QueryInt("SELECT daily_used FROM deleted_numbers WHERE caller_id = " +
                         std::to_string(kNumber)),
            40);
  NumberDeleted older = Delete(kNumber, kV0 + 25);
  older.kept.usage = journal_test::Usage(kT0, 1, 1);
  older.kept.keep_until = core::ToCompact(kT0) + 86'400;
  Write({older});  // keeps another usage: would replace it
  EXPECT_EQ(db_.QueryInt("SELECT daily_used FROM deleted_numbers WHERE caller_id = " +
                         std::to_string(kNumber)),
            40);
}

// The history's pruning takes deleted numbers' versions older than its cutoff, and only those.
TEST_F(PostgresVersionsTest, PruningTakesTombstonesPastTheirCutoff) {
  Write({Change(kNumber + 2, "old", kV0)});  // a number's version, not a tombstone
  Write({Delete(kNumber, kV0), Delete(kNumber + 1, kV0 + 2'000'000)});
  EXPECT_EQ(Tombstones(), 2);
  PruneCutoffs cutoffs;
  cutoffs.tombstones_before = kT0 + std::chrono::seconds(1);
  std::promise<core::Result<PruneResult>> pruned;
  journal_->PruneHistory(cutoffs, [&](core::Result<PruneResult> r) { pruned.set_value(r); });
  ASSERT_THAT(pruned.get_future().get(), IsOk());
  EXPECT_EQ(Tombstones(), 1);
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM number_versions WHERE caller_id = " +
                         std::to_string(kNumber)),
            0);
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM number_versions"), 2);
}

// Two writers at the same moment: A's batch deletes the number (newer) and is held open (a row
// lock another connection holds on a number it also changes) while B's older change of it runs.
// B waits for A's claim of the number and then loses to it: the number stays deleted. Without
// the claim, B's statement judged by what its snapshot saw (no tombstone yet) and put the
// number back.
TEST_F(PostgresVersionsTest, AnOlderChangeRacingANewerDeleteLosesToIt) {
  constexpr std::uint64_t kHeld = kNumber + 9;
  Write({Change(kNumber, "old", kV0 + 10), Change(kHeld, "old", kV0 + 10)});
  auto other = PostgresJournal::Open(Options());
  ASSERT_THAT(other, IsOk());
  auto lock = HoldRow(kHeld);
  ASSERT_TRUE(lock.has_value());
  std::promise<core::Result<void>> deleted;
  journal_->Append({Delete(kNumber, kV0 + 30), Change(kHeld, "new", kV0 + 30)},
                   [&](core::Result<void> r) { deleted.set_value(r); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // A deleted, now waits on kHeld
  std::promise<core::Result<void>> changed;
  (*other)->Append({Change(kNumber, "new", kV0 + 20)},
                   [&](core::Result<void> r) { changed.set_value(r); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // B's statement runs, waits
  ASSERT_THAT(lock->Exec("COMMIT", "commit"), IsOk());
  EXPECT_THAT(deleted.get_future().get(), IsOk());
  EXPECT_THAT(changed.get_future().get(), IsOk());
  journal_->Flush();
  (*other)->Flush();
  EXPECT_EQ(Carrier(), "") << "the older change brought the deleted number back";
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM caller_ids WHERE caller_id = " +
                         std::to_string(kHeld) + " AND carrier = 'new'"),
            1);
}

// Two writers changing one number while one of them also allocated it earlier in its batch (it
// holds the number's caller_ids row from the usage UPDATE): each claims the number's version row
// at the start of its batch, so the other waits there instead of forming a cycle (a deadlock,
// which cancelled a batch: written again, or after a reconnect and a degraded spell).
TEST_F(PostgresVersionsTest, TwoWritersChangingANumberOneHasAllocatedDoNotDeadlock) {
  constexpr std::uint64_t kHeld = kNumber + 9;
  Write({Change(kNumber, "old", kV0 + 10), Change(kHeld, "old", kV0 + 10)});
  core::Reservation call = journal_test::MakeReservation(1, kNumber, kT0, std::chrono::seconds(60));
  // B: an allocation of kNumber, a change of kHeld (held), then a change of kNumber; A: an older
  // change of kNumber.
  EXPECT_TRUE(RaceCleanly({journal_test::Made(call, journal_test::Usage(kT0, 1, 1)),
                           Change(kHeld, "new", kV0 + 30), Change(kNumber, "new", kV0 + 30)},
                          {Change(kNumber, "old", kV0 + 20)}, kHeld));
  EXPECT_EQ(Carrier(), "new");
}

// Two writers changing two numbers in opposite orders (B: the larger first): B's batch takes both
// version rows first, in caller_id order, so A waits for B instead of holding one of them.
TEST_F(PostgresVersionsTest, TwoWritersChangingTwoNumbersInOppositeOrdersDoNotDeadlock) {
  constexpr std::uint64_t kLarger = kNumber + 5;
  Write({Change(kNumber, "old", kV0 + 10), Change(kLarger, "old", kV0 + 10)});
  EXPECT_TRUE(RaceCleanly({Change(kLarger, "new", kV0 + 30), Change(kNumber, "new", kV0 + 30)},
                          {Change(kNumber, "old", kV0 + 20), Change(kLarger, "old", kV0 + 20)},
                          kLarger));
  EXPECT_EQ(Carrier(), "new");
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM caller_ids WHERE carrier = 'new'"), 2);
}

// A batch PostgreSQL cancels as a deadlock's victim (here: it changed kNumber and waits for
// kHeld, whose holder then wants kNumber; the holder never checks for deadlocks itself, so the
// batch is the victim) is written again at once on the same connection: no reconnect, no
// degraded spell, no replay. Before, the journal took the cancel for an outage.
TEST_F(PostgresVersionsTest, ABatchCancelledAsADeadlocksVictimIsWrittenAgainAtOnce) {
  constexpr std::uint64_t kHeld = kNumber + 9;
  Write({Change(kNumber, "old", 0), Change(kHeld, "old", 0)});
  auto lock = HoldRow(kHeld);
  ASSERT_TRUE(lock.has_value());
  ASSERT_THAT(lock->Exec("SET LOCAL deadlock_timeout = '60s'", "set deadlock_timeout"), IsOk());
  DegradedWatch watch({journal_.get()});
  std::promise<core::Result<void>> written;
  journal_->Append({Change(kNumber, "new", 0), Change(kHeld, "new", 0)},
                   [&](core::Result<void> r) { written.set_value(r); });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // kNumber taken, waits on kHeld
  // Waits for the batch's lock on kNumber: the cycle, which PostgreSQL breaks within its
  // deadlock_timeout (1 s) by cancelling the batch.
  ASSERT_THAT(lock->Exec("SELECT 1 FROM caller_ids WHERE caller_id = " + std::to_string(kNumber) +
                             " FOR UPDATE",
                         "close the cycle"),
              IsOk());
  ASSERT_THAT(lock->Exec("COMMIT", "commit"), IsOk());
  EXPECT_THAT(written.get_future().get(), IsOk());
  journal_->Flush();
  EXPECT_FALSE(watch.Stop()) << "the cancelled batch was taken for an outage";
  EXPECT_GE(journal_->BatchesFailed(), 1U) << "no deadlock: the test proves nothing";
  EXPECT_EQ(Carrier(), "new");
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM caller_ids WHERE carrier = 'new'"), 2);
}

}  // namespace
}  // namespace cidrotor::store::postgres_test
