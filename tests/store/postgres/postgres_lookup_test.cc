// The lookup's links on PostgreSQL (schema 4): the migration that fills them in for the history a
// schema-3 database already holds, and the writer keeping them exact when two instances' batches
// commit in the other order than their allocations were made (journal_contract.h has the
// behaviour every journal shares).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "pg_test_database.h"
#include "store/journal_test_util.h"
#include "store/postgres/batch_writer.h"
#include "store/postgres/postgres_journal.h"
#include "store/postgres/schema.h"

namespace cidrotor::store::postgres_test {
namespace {

using journal_test::AppendAndWait;
using journal_test::kT0;
using journal_test::Made;
using journal_test::MakeReservation;
using journal_test::Phone;
using journal_test::RecordingSink;
using journal_test::Spec;
using journal_test::Upsert;
using journal_test::Usage;
using std::chrono::seconds;
using ::testing::ElementsAre;
using testing::IsOk;
using ::testing::Pair;

constexpr std::uint64_t kNumber = 3'105'550'100;

core::Result<LookupData> LookUp(Journal& journal, std::uint64_t caller_id,
                                std::optional<std::uint64_t> from = std::nullopt,
                                std::chrono::seconds window = kLookupDefaultWindow) {
  LookupQuery query;
  query.caller_id = Phone(caller_id);
  if (from) query.from = Phone(*from);
  query.window = window;
  std::promise<core::Result<LookupData>> promise;
  auto future = promise.get_future();
  journal.QueryLookup(query, kT0, [&](core::Result<LookupData> r) { promise.set_value(r); });
  return future.get();
}

// Reservation `id` of kNumber to `destination` at kT0 + `second` s.
core::Reservation Call(std::uint64_t id, std::uint64_t destination, int second = 0) {
  core::Reservation r = MakeReservation(id, kNumber, kT0 + seconds(second), seconds(300));
  r.destination = Phone(destination);
  return r;
}

// What Load reports to a sink that WantsNewest: (number, its newest reservation) pairs.
std::vector<std::pair<std::uint64_t, std::uint64_t>> LoadNewest(Journal& journal) {
  class Sink final : public LoadSink {
   public:
    void OnNumber(const core::NumberSpec& /*spec*/, const core::NumberUsage& /*usage*/) override {}
    void OnLiveReservation(const core::Reservation& /*reservation*/) override {}
    bool WantsNewest() const override { return true; }
    void OnNumberNewest(core::PhoneNumber caller_id, std::uint64_t reservation_id) override {
      newest.emplace_back(caller_id.digits(), reservation_id);
    }
    std::vector<std::pair<std::uint64_t, std::uint64_t>> newest;
  } sink;
  EXPECT_THAT(journal.Load(kT0, sink), IsOk());
  return sink.newest;
}

class PostgresLookupTest : public ::testing::Test {
 protected:
  std::unique_ptr<PostgresJournal> Open() {
    auto journal = PostgresJournal::Open({.connection = db_.settings()});
    EXPECT_THAT(journal, IsOk());
    if (!journal) return nullptr;
    RecordingSink sink;
    EXPECT_THAT((*journal)->Load(kT0, sink), IsOk());  // migrates
    return std::move(*journal);
  }
  std::int64_t Previous(std::uint64_t id) {
    return db_.QueryInt("SELECT COALESCE(previous_id, 0) FROM reservations WHERE id = " +
                        std::to_string(id));
  }
  std::int64_t Newest(std::uint64_t number) {
    return db_.QueryInt(
        "SELECT COALESCE(last_reservation_id, 0) FROM caller_ids WHERE caller_id = " +
        std::to_string(number));
  }

  PgTestDatabase db_;
};

TEST_F(PostgresLookupTest, Schema4LinksTheHistoryOfASchema3Database) {
  // A schema-3 database: today's schema without the migrations since.
  Open().reset();
  db_.DowngradeTo(3);
  // kNumber: four calls, ids not in time order (instances take id blocks), two at the same
  // millisecond (the lower id first); kNumber + 1: one call; kNumber + 2: none; a reservation
  // of a number deleted since.
  db_.Exec(
      "INSERT INTO caller_ids(caller_id, area_code) VALUES (3105550100, '310'), "
      "(3105550101, '310'), (3105550102, '310');"
      "INSERT INTO reservations(id, caller_id, reserved_at, reserved_until, destination) VALUES "
      "(1030, 3105550100, 1000, 2000, '2125550001'), (5, 3105550100, 2000, 3000, '2125550002'),"
      "(2050, 3105550100, 3000, 4000, '2125550003'), (7, 3105550100, 3000, 4000, '2125550004'),"
      "(6, 3105550101, 1500, 2500, '2125550005'), (8, 3105550199, 1500, 2500, '2125550006')");

  auto conn = postgres::Connection::Open(db_.settings());
  ASSERT_THAT(conn, IsOk());
  EXPECT_THAT(postgres::Migrate(*conn), ::testing::Optional(3));

  EXPECT_EQ(Previous(1030), 0);
  EXPECT_EQ(Previous(5), 1030);
  EXPECT_EQ(Previous(7), 5);
  EXPECT_EQ(Previous(2050), 7);
  EXPECT_EQ(Previous(6), 0);
  EXPECT_EQ(Previous(8), 0);
  EXPECT_EQ(Newest(kNumber), 2050);
  EXPECT_EQ(Newest(kNumber + 1), 6);
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM caller_ids WHERE caller_id = 3105550102 AND "
                         "last_reservation_id IS NULL"),
            1);

  // The lookup walks what the migration linked, and the writer goes on from it; a Redis rebuilt
  // now gets each number's newest (its 'lr') from the migrated column.
  auto journal = Open();
  ASSERT_NE(journal, nullptr);
  EXPECT_THAT(LoadNewest(*journal), ElementsAre(Pair(kNumber, 2050u), Pair(kNumber + 1, 6u)));
  // Back to these rows' 1970 times: the whole history.
  const auto all_of_it = std::chrono::duration_cast<std::chrono::seconds>(kT0.time_since_epoch());
  auto found = LookUp(*journal, kNumber, 2'125'550'001, all_of_it);
  ASSERT_THAT(found, IsOk());
  EXPECT_TRUE(found->known);
  ASSERT_TRUE(found->last && found->called);
  EXPECT_EQ(found->last->reservation.id, 2050u);
  EXPECT_EQ(found->called->reservation.id, 1030u);
  ASSERT_THAT(AppendAndWait(*journal, {Made(Call(9, 2'125'550'009, 60), Usage(kT0, 1, 1))}),
              IsOk());
  EXPECT_EQ(Previous(9), 2050);
  EXPECT_EQ(Newest(kNumber), 9);
}

// Two instances allocate the number one after the other (Redis gives each allocation the one
// before), but the later one's batch commits first.
TEST_F(PostgresLookupTest, BatchesCommittedOutOfOrderLeaveTheNewestReservationLast) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  ASSERT_THAT(
      AppendAndWait(*a, {Upsert(Spec(kNumber)), Made(Call(1, 2'125'550'001), Usage(kT0, 1, 1))}),
      IsOk());
  // 2 (a's) and 3 (b's) in the same second: only the counters tell which is later.
  ReservationMade second = Made(Call(2, 2'125'550'002), Usage(kT0, 2, 2));
  second.previous_id = 1;
  ReservationMade third = Made(Call(3, 2'125'550'003), Usage(kT0, 3, 3));
  third.previous_id = 2;
  ASSERT_THAT(AppendAndWait(*b, {third}), IsOk());
  ASSERT_THAT(AppendAndWait(*a, {second}), IsOk());

  EXPECT_EQ(Newest(kNumber), 3);
  EXPECT_THAT(LoadNewest(*b), ElementsAre(Pair(kNumber, 3u)));  // what a rebuild puts in 'lr'
  EXPECT_EQ(db_.QueryInt("SELECT daily_used FROM caller_ids WHERE caller_id = 3105550100"), 3)
      << "the older batch leaves the counters too";
  EXPECT_EQ(Previous(3), 2);
  EXPECT_EQ(Previous(2), 1);
  auto found = LookUp(*a, kNumber, 2'125'550'001);
  ASSERT_THAT(found, IsOk());
  ASSERT_TRUE(found->last && found->called);
  EXPECT_EQ(found->last->reservation.id, 3u);
  EXPECT_EQ(found->called->reservation.id, 1u);

  // A later second decides too, whatever the counters say (TIMEZONE changed: a new day window
  // that starts before the stored one), and the next allocation links to the newest.
  ReservationMade fourth = Made(Call(4, 2'125'550'004, 3600), Usage(kT0 + seconds(3600), 1, 1));
  fourth.usage.day_start -= 3600;
  ASSERT_THAT(AppendAndWait(*a, {fourth}), IsOk());
  EXPECT_EQ(Newest(kNumber), 4);
  EXPECT_EQ(Previous(4), 3);
}

// An admin's change read the number before an allocation another instance made next (Redis is
// one order), but its batch commits after the allocation's (each instance has its own writer; the
// database sees only the order of the commits): the change's spec lands, its older counters do
// not (a Redis rebuild from them allowed one call over the cap).
TEST_F(PostgresLookupTest, AChangeCommittedAfterANewerAllocationKeepsItsCounters) {
  auto journal = Open();
  ASSERT_TRUE(journal);
  ASSERT_THAT(
      AppendAndWait(*journal, {Upsert(Spec(kNumber), Usage(kT0, 1, 1)),
                               Made(Call(2, 2'125'550'002, 1), Usage(kT0 + seconds(1), 2, 2))}),
      IsOk());
  ASSERT_THAT(AppendAndWait(*journal, {Upsert(Spec(kNumber, 7), Usage(kT0, 1, 1))}), IsOk());
  EXPECT_EQ(db_.QueryInt("SELECT hourly_limit FROM caller_ids WHERE caller_id = 3105550100"), 7);
  EXPECT_EQ(db_.QueryInt("SELECT daily_used FROM caller_ids WHERE caller_id = 3105550100"), 2);
  EXPECT_EQ(db_.QueryInt("SELECT hourly_used FROM caller_ids WHERE caller_id = 3105550100"), 2);
  // A change that read the newest counters (or newer ones: the next day) writes them.
  ASSERT_THAT(AppendAndWait(*journal, {Upsert(Spec(kNumber, 8), Usage(kT0 + seconds(2), 3, 3))}),
              IsOk());
  EXPECT_EQ(db_.QueryInt("SELECT daily_used FROM caller_ids WHERE caller_id = 3105550100"), 3);
}

// Two instances take blocks of ids: one with few calls makes its new ones with ids far below the
// other's older ones. The history still comes newest first, by the time of the allocation.
TEST_F(PostgresLookupTest, TheHistoryComesNewestFirstByTimeNotById) {
  auto journal = Open();
  ASSERT_TRUE(journal);
  ASSERT_THAT(AppendAndWait(*journal, {Upsert(Spec(kNumber)),
                                       Made(Call(2'049, 2'125'550'001, 0), Usage(kT0, 1, 1)),
                                       Made(Call(2'050, 2'125'550'002, 1), Usage(kT0, 2, 2)),
                                       Made(Call(5, 2'125'550'003, 2), Usage(kT0, 3, 3))}),
              IsOk());
  auto newest = journal_test::ListReservationsSync(*journal, journal_test::AllReservations(2),
                                                   kT0 + seconds(3));
  ASSERT_THAT(newest, IsOk());
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ((*newest)[0].reservation.id, 5u);  // the latest call, whatever its id
  EXPECT_EQ((*newest)[1].reservation.id, 2'050u);
}

// Redis knows no previous one (its first allocation of the number since a rebuild), so the writer
// takes the number's newest: not when that is a later reservation which links to this one.
TEST_F(PostgresLookupTest, AnUnlinkedReservationCommittedLateDoesNotLinkToALaterOne) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  ASSERT_THAT(
      AppendAndWait(*a, {Upsert(Spec(kNumber)), Made(Call(1, 2'125'550'001), Usage(kT0, 1, 1))}),
      IsOk());
  ReservationMade third = Made(Call(3, 2'125'550'003, 1), Usage(kT0 + seconds(1), 3, 3));
  third.previous_id = 2;
  ASSERT_THAT(AppendAndWait(*b, {third}), IsOk());
  ASSERT_THAT(AppendAndWait(*a, {Made(Call(2, 2'125'550'002), Usage(kT0, 2, 2))}), IsOk());
  EXPECT_EQ(Previous(2), 0) << "not 3: 3 -> 2 -> 3 would be a cycle";
  EXPECT_EQ(Newest(kNumber), 3);

  // In order, an unlinked one takes the newest; and within one batch, the one before it there.
  ASSERT_THAT(AppendAndWait(*a, {Made(Call(4, 2'125'550'004, 2), Usage(kT0 + seconds(2), 4, 4)),
                                 Made(Call(5, 2'125'550'005, 2), Usage(kT0 + seconds(2), 5, 5))}),
              IsOk());
  EXPECT_EQ(Previous(4), 3);
  EXPECT_EQ(Previous(5), 4);
  EXPECT_EQ(Newest(kNumber), 5);
}

// A batch whose commit was cut off is written again as a replay (batch_writer.h), possibly after
// another instance's later allocation of the number committed: the replay changes nothing then.
TEST_F(PostgresLookupTest, AReplayAfterALaterAllocationLeavesTheLinksAlone) {
  auto other = Open();
  ASSERT_NE(other, nullptr);
  ASSERT_THAT(AppendAndWait(
                  *other, {Upsert(Spec(kNumber)), Made(Call(1, 2'125'550'001), Usage(kT0, 1, 1))}),
              IsOk());
  auto conn = postgres::Connection::Open(db_.settings());
  ASSERT_THAT(conn, IsOk());
  ASSERT_THAT(postgres::BatchWriter::PrepareStatements(*conn), IsOk());
  postgres::BatchWriter writer;
  const JournalEntry second = Made(Call(2, 2'125'550'002), Usage(kT0, 2, 2));  // unlinked
  const JournalEntry* batch[] = {&second};
  ASSERT_THAT(writer.WriteBatch(*conn, batch), IsOk());  // committed, but its writer never knew
  ReservationMade third = Made(Call(3, 2'125'550'003), Usage(kT0, 3, 3));
  third.previous_id = 2;
  ASSERT_THAT(AppendAndWait(*other, {third}), IsOk());

  ASSERT_THAT(writer.WriteBatch(*conn, batch, {}, postgres::Replay::kYes), IsOk());
  EXPECT_EQ(Previous(2), 1);
  EXPECT_EQ(Previous(3), 2);
  EXPECT_EQ(Newest(kNumber), 3);
  EXPECT_EQ(db_.QueryInt("SELECT daily_used FROM caller_ids WHERE caller_id = 3105550100"), 3);
}

TEST_F(PostgresLookupTest, ALookupStopsAtAPrunedReservationAndAtMaxDepth) {
  auto journal = Open();
  ASSERT_NE(journal, nullptr);
  std::vector<JournalEntry> entries = {Upsert(Spec(kNumber))};
  for (std::uint64_t id = 1; id <= 5; ++id) {
    entries.push_back(Made(Call(id, 2'125'550'000 + id), Usage(kT0, 1, 1)));
  }
  ASSERT_THAT(AppendAndWait(*journal, std::move(entries)), IsOk());

  LookupQuery query;
  query.caller_id = Phone(kNumber);
  query.from = Phone(2'125'550'002);
  query.max_depth = 3;  // 5, 4, 3
  std::promise<core::Result<LookupData>> promise;
  journal->QueryLookup(query, kT0, [&](core::Result<LookupData> r) { promise.set_value(r); });
  auto shallow = promise.get_future().get();
  ASSERT_THAT(shallow, IsOk());
  ASSERT_TRUE(shallow->last.has_value());
  EXPECT_EQ(shallow->last->reservation.id, 5u);
  EXPECT_TRUE(shallow->last->live);
  EXPECT_FALSE(shallow->called.has_value());

  auto deep = LookUp(*journal, kNumber, 2'125'550'002);
  ASSERT_THAT(deep, IsOk());
  ASSERT_TRUE(deep->called.has_value());
  EXPECT_EQ(deep->called->reservation.id, 2u);

  db_.Exec("DELETE FROM reservations WHERE id = 3");
  auto cut = LookUp(*journal, kNumber, 2'125'550'002);
  ASSERT_THAT(cut, IsOk());
  EXPECT_FALSE(cut->called.has_value());
  db_.Exec("DELETE FROM reservations WHERE id = 5");
  auto gone = LookUp(*journal, kNumber, 2'125'550'004);
  ASSERT_THAT(gone, IsOk());
  EXPECT_TRUE(gone->known);
  EXPECT_FALSE(gone->last.has_value());
  EXPECT_FALSE(gone->called.has_value());
  auto unknown = LookUp(*journal, kNumber + 1);
  ASSERT_THAT(unknown, IsOk());
  EXPECT_FALSE(unknown->known);
}

TEST_F(PostgresLookupTest, ALookupWhilePostgresIsDownAnswersUnavailable) {
  PostgresOptions options{.connection = db_.settings()};
  options.connection.connect_timeout = std::chrono::milliseconds(500);
  auto opened = PostgresJournal::Open(options);
  ASSERT_THAT(opened, IsOk());
  db_.Kill();
  const auto start = std::chrono::steady_clock::now();
  auto found = LookUp(**opened, kNumber);
  EXPECT_THAT(found, testing::HasError(core::ErrorCode::kUnavailable));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));
  db_.Restart();
  auto back = LookUp(**opened, kNumber);
  EXPECT_THAT(back, IsOk());
}

// A migration may run longer than the statement timeout (migration 4 rewrites every
// reservation): ExecLong lifts it for its statements only.
TEST_F(PostgresLookupTest, ExecLongOutlastsTheStatementTimeoutForItsStatementsOnly) {
  postgres::ConnectionSettings settings = db_.settings();
  settings.statement_timeout = std::chrono::milliseconds(200);
  auto conn = postgres::Connection::Open(settings);
  ASSERT_THAT(conn, IsOk());
  EXPECT_THAT(conn->ExecLong("SELECT pg_sleep(0.5); SELECT pg_sleep(0.5)", "sleep",
                             std::chrono::seconds(10)),
              IsOk());
  EXPECT_THAT(conn->Exec("SELECT pg_sleep(0.5)", "sleep"),
              testing::HasError(core::ErrorCode::kUnavailable));
}

}  // namespace
}  // namespace cidrotor::store::postgres_test
