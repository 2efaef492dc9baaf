// The backlog's local copy without PostgreSQL: every journal entry survives the file format, a
// record cut short or damaged ends the reading, checkpoints and repeated log rows are honoured,
// and a file is read only by one claimant once its journal is gone.
#include "store/postgres/backlog_spill.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "store/journal_test_util.h"
#include "store/postgres/spill_codec.h"

namespace cidrotor::store::postgres {
namespace {

using ::cidrotor::testing::IsOk;
using journal_test::kT0;
using std::chrono::seconds;

// One entry of every JournalEntry type, with every optional field set and some unset.
std::vector<JournalEntry> EveryKindOfEntry() {
  core::NumberUsage usage = journal_test::Usage(kT0, 3, 7);
  usage.warm_from = 220'000'000;
  usage.rest_until = 220'050'000;
  usage.last_used_ms = 999;
  core::NumberSpec spec = journal_test::Spec(3'105'550'100, 5, 40);
  spec.active = false;
  core::Reservation r = journal_test::MakeReservation(42, 3'105'550'100, kT0, seconds(300));
  r.lead_id = 12345;
  r.match = core::MatchTier::kState;
  r.campaign = "spring sale";
  r.agent = "agent \xC3\xA9";
  return {
      NumberUpserted{spec, usage, 1'700'000'000'000'001},
      NumberDeleted{journal_test::Phone(4'155'550'100), {usage, 220'100'000}, kT0, 77},
      ReservationMade{r, usage, 41},
      ReservationReleased{42, kT0 + seconds(9), core::CallOutcome::kVoicemail, 31, true},
      ReservationReleased{43, kT0, core::CallOutcome::kUnknown, std::nullopt, false},
      journal_test::Log(3),
      CampaignPoolChanged{"spring", "west"},
      CampaignPoolChanged{"autumn", std::nullopt},
      PoolSettingsChanged{{"west", false}},
  };
}

std::string Encoded(const SpilledAppend& append) {
  std::string out;
  EncodeSpilledAppend(append.seq, append.entries, out);
  return out;
}

TEST(SpillCodecTest, EveryEntryTypeReadsBackAsItWasWritten) {
  const SpilledAppend written{7, EveryKindOfEntry()};
  const std::string bytes = Encoded(written);
  const auto decoded = DecodeSpillRecord(bytes);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->size, bytes.size());
  const auto* read = std::get_if<SpilledAppend>(&decoded->record);
  ASSERT_NE(read, nullptr);
  EXPECT_EQ(read->seq, 7u);
  ASSERT_EQ(read->entries.size(), written.entries.size());
  for (std::size_t i = 0; i < written.entries.size(); ++i) {
    EXPECT_EQ(read->entries[i].index(), written.entries[i].index()) << i;
  }
  // The encoding writes every field, so equal bytes are equal entries.
  EXPECT_EQ(Encoded(*read), bytes);
  const auto& made = std::get<ReservationMade>(read->entries[2]);
  EXPECT_EQ(made.reservation.lead_id, 12345u);
  EXPECT_EQ(made.reservation.match, core::MatchTier::kState);
  EXPECT_EQ(made.reservation.agent, "agent \xC3\xA9");
  EXPECT_EQ(made.usage.last_used_ms, 999);
  EXPECT_EQ(std::get<NumberUpserted>(read->entries[0]).version, 1'700'000'000'000'001u);
  EXPECT_FALSE(std::get<NumberUpserted>(read->entries[0]).spec.active);
  EXPECT_EQ(std::get<ReservationReleased>(read->entries[3]).duration_seconds, 31u);
  EXPECT_FALSE(std::get<ReservationReleased>(read->entries[4]).duration_seconds.has_value());
  EXPECT_FALSE(std::get<CampaignPoolChanged>(read->entries[7]).pool.has_value());
  EXPECT_EQ(std::get<ApiLogEntry>(read->entries[5]).endpoint, journal_test::Log(3).endpoint);
}

TEST(SpillCodecTest, ARecordCutShortOrDamagedIsNotRead) {
  std::string bytes = Encoded({1, EveryKindOfEntry()});
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(DecodeSpillRecord(std::string_view(bytes).substr(0, cut)).has_value()) << cut;
  }
  for (std::size_t at : {std::size_t{0}, std::size_t{5}, std::size_t{12}, bytes.size() - 1}) {
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
    EXPECT_FALSE(DecodeSpillRecord(damaged).has_value()) << at;
  }
  // Zeros where the file system extended the file but never wrote it.
  EXPECT_FALSE(DecodeSpillRecord(std::string(64, '\0')).has_value());
}

class BacklogSpillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "spill-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    tmp_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(tmp_); }
  std::string dir() const { return (tmp_ / "backlog").string(); }
  std::vector<std::filesystem::path> Files() const {
    std::vector<std::filesystem::path> files;
    if (!std::filesystem::exists(dir())) return files;
    for (const auto& e : std::filesystem::directory_iterator(dir())) files.push_back(e.path());
    return files;
  }
  static std::string Records(std::initializer_list<std::uint64_t> append_seqs) {
    std::string out;
    for (const std::uint64_t seq : append_seqs) {
      const auto allocation = std::vector<JournalEntry>{journal_test::Made(
          journal_test::MakeReservation(seq, 3'105'550'000 + seq, kT0, seconds(300)))};
      EncodeSpilledAppend(seq, allocation, out);
    }
    return out;
  }

  std::filesystem::path tmp_;
};

TEST_F(BacklogSpillTest, AFileWithoutRecordsIsDeletedWithItsJournal) {
  {
    auto spill = BacklogSpill::Create(dir());
    ASSERT_THAT(spill, IsOk());
    EXPECT_FALSE((*spill)->HasRecords());
    EXPECT_EQ(Files().size(), 1u);
    ASSERT_THAT((*spill)->Write(Records({1})), IsOk());
    ASSERT_THAT((*spill)->Clear(), IsOk());  // its backlog committed
  }
  EXPECT_TRUE(Files().empty());
}

TEST_F(BacklogSpillTest, OnlyALeftFileIsRecoveredAndByOneClaimantAtATime) {
  auto live = BacklogSpill::Create(dir());
  ASSERT_THAT(live, IsOk());
  ASSERT_THAT((*live)->Write(Records({1, 2})), IsOk());
  {
    auto found = RecoverBacklogs(dir());
    ASSERT_THAT(found, IsOk());
    EXPECT_TRUE(found->appends.empty()) << "a live journal's file is its own";
  }
  live->reset();  // the journal dies: its file stays
  ASSERT_EQ(Files().size(), 1u);

  auto first = RecoverBacklogs(dir());
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->appends.size(), 2u);
  ASSERT_EQ(first->files.size(), 1u);
  auto second = RecoverBacklogs(dir());  // another instance starting meanwhile
  ASSERT_THAT(second, IsOk());
  EXPECT_TRUE(second->appends.empty()) << "claimed already";

  first->files[0]->Remove();  // written
  first->files.clear();
  auto third = RecoverBacklogs(dir());
  ASSERT_THAT(third, IsOk());
  EXPECT_TRUE(third->appends.empty());
  EXPECT_TRUE(Files().empty());
}

TEST_F(BacklogSpillTest, RecoverySkipsWhatACheckpointCoversReadsRowsOnceAndStopsAtATornRecord) {
  {
    auto spill = BacklogSpill::Create(dir());
    ASSERT_THAT(spill, IsOk());
    std::string records = Records({1, 2, 3});
    for (std::uint64_t index : {0, 1, 2}) {
      EncodeSpilledLog(index, journal_test::Log(static_cast<int>(index)), records);
    }
    EncodeSpillCheckpoint({2, 1}, records);  // appends 1-2 and row 0 are committed
    records += Records({4, 3});              // 3 copied again (after a failed write)
    // Rows 1 and 2 copied again (a batch put back after a lost connection), then row 3.
    for (std::uint64_t index : {1, 2, 3}) {
      EncodeSpilledLog(index, journal_test::Log(static_cast<int>(index)), records);
    }
    ASSERT_THAT((*spill)->Write(records), IsOk());
    // A crash in the middle of the next write.
    const std::string torn = Records({5});
    ASSERT_THAT((*spill)->Write(torn.substr(0, torn.size() / 2)), IsOk());
  }
  auto found = RecoverBacklogs(dir());
  ASSERT_THAT(found, IsOk());
  ASSERT_EQ(found->appends.size(), 2u);
  EXPECT_EQ(std::get<ReservationMade>(found->appends[0][0]).reservation.id, 3u);
  EXPECT_EQ(std::get<ReservationMade>(found->appends[1][0]).reservation.id, 4u);
  ASSERT_EQ(found->logs.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(found->logs[static_cast<std::size_t>(i)].timestamp,
              journal_test::Log(i + 1).timestamp);
  }
  EXPECT_GT(found->ignored_bytes, 0u);
}

// A journal goes on in a series of files: recovery reads them in their order, and a checkpoint in
// a later one covers the appends of the earlier ones.
TEST_F(BacklogSpillTest, ASeriesOfFilesIsReadInOrderWithItsLastCheckpoint) {
  {
    auto first = BacklogSpill::Create(dir());
    ASSERT_THAT(first, IsOk());
    ASSERT_THAT((*first)->Write(Records({1, 2, 3})), IsOk());
    auto second = (*first)->Next();
    ASSERT_THAT(second, IsOk());
    auto third = (*second)->Next();
    ASSERT_THAT(third, IsOk());
    ASSERT_THAT((*second)->Write(Records({4, 5})), IsOk());
    std::string records = Records({6});
    EncodeSpillCheckpoint({2, 0}, records);
    ASSERT_THAT((*third)->Write(records), IsOk());
    // Another journal's series beside it: read whole, before or after this one.
    auto other = BacklogSpill::Create(dir());
    ASSERT_THAT(other, IsOk());
    ASSERT_THAT((*other)->Write(Records({1})), IsOk());
  }
  ASSERT_EQ(Files().size(), 4u);
  auto found = RecoverBacklogs(dir());
  ASSERT_THAT(found, IsOk());
  std::vector<std::uint64_t> ids;
  for (const auto& append : found->appends) {
    ids.push_back(std::get<ReservationMade>(append[0]).reservation.id);
  }
  // This series' 3 to 6 together, the other's 1 before or after them.
  EXPECT_THAT(ids, ::testing::AnyOf(::testing::ElementsAre(3, 4, 5, 6, 1),
                                    ::testing::ElementsAre(1, 3, 4, 5, 6)));
}

// A damaged record (a bad sector, a stray write) in the middle of a file costs that record only:
// the records after it are read, and the file is kept, renamed, once its backlog is written.
TEST_F(BacklogSpillTest, ADamagedRecordIsSkippedAndTheFileKept) {
  const std::size_t one = Records({1}).size();
  std::filesystem::path path;
  {
    auto spill = BacklogSpill::Create(dir());
    ASSERT_THAT(spill, IsOk());
    ASSERT_THAT((*spill)->Write(Records({1, 2, 3, 4, 5})), IsOk());
    path = (*spill)->path();
  }
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(kSpillFileMagic.size() + one + one / 2));
    file.put('\x7f');
  }
  auto found = RecoverBacklogs(dir());
  ASSERT_THAT(found, IsOk());
  std::vector<std::uint64_t> ids;
  for (const auto& append : found->appends) {
    ids.push_back(std::get<ReservationMade>(append[0]).reservation.id);
  }
  EXPECT_THAT(ids, ::testing::ElementsAre(1, 3, 4, 5));
  EXPECT_EQ(found->ignored_bytes, one);
  ASSERT_EQ(found->files.size(), 1u);
  found->files[0]->Remove();
  EXPECT_TRUE(std::filesystem::exists(path.string() + ".damaged"));
  EXPECT_FALSE(std::filesystem::exists(path));
}

// A file its process left half made (killed between creating and naming it) holds no record:
// the next recovery deletes it.
TEST_F(BacklogSpillTest, AFileLeftHalfMadeIsDeleted) {
  std::filesystem::create_directories(dir());
  const auto half = std::filesystem::path(dir()) / ".backlog-1-0-000000.new";
  std::ofstream(half) << kSpillFileMagic;
  auto found = RecoverBacklogs(dir());
  ASSERT_THAT(found, IsOk());
  EXPECT_TRUE(found->files.empty());
  EXPECT_FALSE(std::filesystem::exists(half));
}

// A write that fails part-way (a full disk; here the file-size limit) leaves no partial record:
// the file is cut back to the last whole one, and the next write goes on from there.
TEST_F(BacklogSpillTest, AFailedWriteLeavesNoPartialRecord) {
  auto spill = BacklogSpill::Create(dir());
  ASSERT_THAT(spill, IsOk());
  ASSERT_THAT((*spill)->Write(Records({1})), IsOk());
  const std::uint64_t whole = (*spill)->size();
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
  rlimit limited = before;
  limited.rlim_cur = whole + Records({2}).size() / 2;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  const auto failed = (*spill)->Write(Records({2, 3}));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &before), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(failed.has_value());
  EXPECT_EQ((*spill)->size(), whole);
  EXPECT_EQ(std::filesystem::file_size((*spill)->path()), whole) << "a partial record stayed";
  ASSERT_THAT((*spill)->Write(Records({4})), IsOk());
  spill->reset();
  auto found = RecoverBacklogs(dir());
  ASSERT_THAT(found, IsOk());
  std::vector<std::uint64_t> ids;
  for (const auto& append : found->appends) {
    ids.push_back(std::get<ReservationMade>(append[0]).reservation.id);
  }
  EXPECT_THAT(ids, ::testing::ElementsAre(1, 4));
  EXPECT_EQ(found->ignored_bytes, 0u);
}

TEST_F(BacklogSpillTest, AFileOfAnotherVersionIsLeftAlone) {
  std::filesystem::create_directories(dir());
  const auto path = std::filesystem::path(dir()) / "backlog-1-0.spill";
  std::ofstream(path) << "cidrotor backlog spill 0\nwhatever";
  auto found = RecoverBacklogs(dir());
  ASSERT_THAT(found, IsOk());
  EXPECT_TRUE(found->appends.empty());
  EXPECT_TRUE(found->files.empty());
  EXPECT_TRUE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace cidrotor::store::postgres
