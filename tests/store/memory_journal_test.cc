// What only the in-memory journal does: synchronous completion and failure injection. The shared
// behaviour is in journal_contract_test.cc.
#include "store/memory/memory_journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "journal_test_util.h"

namespace cidrotor::store::journal_test {
namespace {

using std::chrono::seconds;

TEST(MemoryJournalTest, CompletesOnTheCallersThreadBeforeAppendReturns) {
  MemoryJournal journal;
  bool done = false;
  std::thread::id where;
  journal.Append({Upsert(Spec(3'105'550'100))}, [&](core::Result<void> r) {
    EXPECT_THAT(r, IsOk());
    where = std::this_thread::get_id();
    done = true;
  });
  EXPECT_TRUE(done);
  EXPECT_EQ(where, std::this_thread::get_id());
  EXPECT_EQ(journal.EntriesCommitted(), 1u);
}

TEST(MemoryJournalTest, SetFailureFailsAppendsWithoutApplyingThemUntilCleared) {
  MemoryJournal journal;
  journal.SetFailure(core::Error::Unavailable("disk on fire"));
  EXPECT_FALSE(journal.Healthy());
  EXPECT_THAT(AppendAndWait(journal, {Upsert(Spec(3'105'550'100))}),
              HasError(core::ErrorCode::kUnavailable));
  RecordingSink sink;
  EXPECT_THAT(journal.Load(kT0, sink), HasError(core::ErrorCode::kUnavailable));

  journal.SetFailure(std::nullopt);
  EXPECT_TRUE(journal.Healthy());
  EXPECT_THAT(AppendAndWait(journal, {Upsert(Spec(3'105'550'101))}), IsOk());
  auto loaded = journal.Load(kT0, sink);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->numbers, 1u);  // only the append made after the failure cleared
  ASSERT_EQ(sink.numbers.size(), 1u);
  EXPECT_EQ(sink.numbers[0].first.caller_id, Phone(3'105'550'101));
}

TEST(MemoryJournalTest, CallbackMayCallBackIntoTheJournal) {
  MemoryJournal journal;
  bool nested_done = false;
  journal.Append({Upsert(Spec(3'105'550'100))}, [&](core::Result<void>) {
    journal.Append({Log(1)}, [&](core::Result<void> r) { nested_done = r.has_value(); });
  });
  EXPECT_TRUE(nested_done);
  EXPECT_EQ(journal.QueueDepth(), 0u);
}

TEST(MemoryJournalTest, OwnThreadCompletionRunsOffTheCallersThreadInAppendOrder) {
  MemoryJournal journal(MemoryJournal::Completion::kOwnThread);
  std::mutex caller_lock;  // held across Append, as IndexedStore holds its own: must not deadlock
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  for (int i = 0; i < 3; ++i) {
    std::lock_guard lock(caller_lock);
    journal.Append({Log(i)}, [&, i](core::Result<void> r) {
      EXPECT_THAT(r, IsOk());
      std::lock_guard callback_lock(caller_lock);
      order.push_back(i);
      threads.push_back(std::this_thread::get_id());
    });
  }
  journal.Flush();
  EXPECT_EQ(journal.QueueDepth(), 0u);
  std::lock_guard lock(caller_lock);
  EXPECT_THAT(order, ::testing::ElementsAre(0, 1, 2));
  for (const auto& id : threads) EXPECT_NE(id, std::this_thread::get_id());
}

TEST(MemoryJournalTest, OwnThreadCompletionReportsSetFailure) {
  MemoryJournal journal(MemoryJournal::Completion::kOwnThread);
  journal.SetFailure(core::Error::Unavailable("disk on fire"));
  EXPECT_THAT(AppendAndWait(journal, {Upsert(Spec(3'105'550'100))}),
              HasError(core::ErrorCode::kUnavailable));
}

}  // namespace
}  // namespace cidrotor::store::journal_test
