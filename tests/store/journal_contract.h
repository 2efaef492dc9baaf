// The behaviour every Journal shares (store/journal.h): a type-parameterized suite, so a backend
// gets the whole contract by instantiating it with a factory (a type with
// `std::unique_ptr<Journal> Make()`, constructed per test): journal_contract_test.cc runs it on
// the in-memory and SQLite journals, postgres/postgres_contract_test.cc on PostgreSQL.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "journal_test_util.h"
#include "support/await.h"

namespace cidrotor::store {

// Failures print the answer statistics' rows by field, not as bytes.
inline void PrintTo(const NumberAnswers& a, std::ostream* os) {
  *os << "{" << a.caller_id.ToString() << ", pool \"" << a.pool << "\", active " << a.active
      << ", rest_until " << a.rest_until << ", calls " << a.calls << ", answered " << a.answered
      << "}";
}
inline void PrintTo(const PoolRestCounts& p, std::ostream* os) {
  *os << "{pool \"" << p.pool << "\", active " << p.active << ", resting " << p.resting << "}";
}

}  // namespace cidrotor::store

namespace cidrotor::store::journal_test {

using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

template <class Factory>
class JournalContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    journal_ = factory_.Make();
    ASSERT_NE(journal_, nullptr);
  }

  Journal& journal() { return *journal_; }

  RecordingSink LoadAt(core::TimePoint now, LoadSummary* summary = nullptr) {
    RecordingSink sink;
    auto loaded = journal_->Load(now, sink);
    EXPECT_THAT(loaded, IsOk());
    if (summary != nullptr && loaded) *summary = *loaded;
    return sink;
  }

  void MustAppend(std::vector<JournalEntry> entries) {
    ASSERT_THAT(AppendAndWait(*journal_, std::move(entries)), IsOk());
  }

  // QueryAnswerStats's answer; an empty one (with a failure) when it fails.
  AnswerStats AnswerStatsAt(core::TimePoint since, core::TimePoint now) {
    AnswerStatsQuery query;
    query.since = since;
    query.now = now;
    auto stats =
        testing::Await<AnswerStats>([&](auto done) { journal_->QueryAnswerStats(query, done); });
    EXPECT_THAT(stats, IsOk());
    return stats ? std::move(*stats) : AnswerStats{};
  }

  Factory factory_;
  std::unique_ptr<Journal> journal_;
};

TYPED_TEST_SUITE_P(JournalContractTest);

// A call of `number` made at `at` (id `id`), released a minute later with `outcome` (kUnknown: a
// release that reported none).
inline std::vector<JournalEntry> EndedCall(std::uint64_t id, std::uint64_t number,
                                           core::TimePoint at, core::CallOutcome outcome) {
  return {Made(MakeReservation(id, number, at, seconds(300))),
          Released(id, at + seconds(60), outcome)};
}

// A number of `pool`, resting until `rest_until` (0: never rested).
inline NumberUpserted RestedNumber(std::uint64_t digits, const std::string& pool,
                                   core::CompactTime rest_until = 0, bool active = true) {
  core::NumberSpec spec = Spec(digits);
  spec.pool = pool;
  spec.active = active;
  core::NumberUsage usage;
  usage.rest_until = rest_until;
  return Upsert(spec, usage);
}

MATCHER_P6(AnswersAre, caller_id, pool, active, rest_until, calls, answered, "") {
  return arg.caller_id == Phone(caller_id) && arg.pool == pool && arg.active == active &&
         arg.rest_until == static_cast<core::CompactTime>(rest_until) &&
         arg.calls == static_cast<std::uint32_t>(calls) &&
         arg.answered == static_cast<std::uint32_t>(answered);
}

MATCHER_P3(PoolRestsAre, pool, active, resting, "") {
  return arg.pool == pool && arg.active == static_cast<std::uint32_t>(active) &&
         arg.resting == static_cast<std::uint32_t>(resting);
}

MATCHER_P2(NumberIs, spec, usage, "") {
  const auto& [s, u] = arg;
  return s.caller_id == spec.caller_id && s.carrier == spec.carrier && s.pool == spec.pool &&
         s.state == spec.state && s.hourly_cap == spec.hourly_cap &&
         s.daily_cap == spec.daily_cap && s.active == spec.active &&
         u.last_used == usage.last_used && u.hour_start == usage.hour_start &&
         u.day_start == usage.day_start && u.hourly_used == usage.hourly_used &&
         u.daily_used == usage.daily_used && u.warm_from == usage.warm_from &&
         u.rest_until == usage.rest_until;
}

MATCHER_P(UsageIs, usage, "") {
  return arg.last_used == usage.last_used && arg.hour_start == usage.hour_start &&
         arg.day_start == usage.day_start && arg.hourly_used == usage.hourly_used &&
         arg.daily_used == usage.daily_used && arg.warm_from == usage.warm_from &&
         arg.rest_until == usage.rest_until;
}

MATCHER_P(ReservationIs, expected, "") {
  return arg.id == expected.id && arg.caller_id == expected.caller_id &&
         arg.destination == expected.destination && arg.campaign == expected.campaign &&
         arg.agent == expected.agent && arg.pool == expected.pool &&
         arg.lead_id == expected.lead_id && arg.match == expected.match &&
         arg.reserved_at == expected.reserved_at && arg.reserved_until == expected.reserved_until;
}

TYPED_TEST_P(JournalContractTest, EmptyJournalLoadsNothing) {
  LoadSummary summary{1, 1, 1};
  RecordingSink sink = this->LoadAt(kT0, &summary);
  EXPECT_THAT(sink.numbers, IsEmpty());
  EXPECT_THAT(sink.live, IsEmpty());
  EXPECT_EQ(summary.numbers, 0u);
  EXPECT_EQ(summary.live_reservations, 0u);
  EXPECT_EQ(summary.max_reservation_id, 0u);
}

TYPED_TEST_P(JournalContractTest, NumbersRoundTripInCallerIdOrderWithDefaultCapsAsZero) {
  core::NumberSpec capped = Spec(3'105'550'100, 20, 150);
  core::NumberSpec defaults = Spec(2'125'550'100);  // caps 0: the configured defaults
  core::NumberSpec inactive = Spec(9'175'550'100, 5, 0);
  inactive.active = false;
  inactive.carrier = "";
  inactive.state = "";
  inactive.pool = "outbound-east";
  const core::NumberUsage used = Usage(kT0 - seconds(90), 3, 17);
  this->MustAppend({Upsert(capped, used), Upsert(inactive), Upsert(defaults)});

  LoadSummary summary;
  RecordingSink sink = this->LoadAt(kT0, &summary);
  EXPECT_THAT(sink.numbers,
              ElementsAre(NumberIs(defaults, core::NumberUsage{}), NumberIs(capped, used),
                          NumberIs(inactive, core::NumberUsage{})));
  EXPECT_EQ(summary.numbers, 3u);
}

TYPED_TEST_P(JournalContractTest, AnUpsertKeepsTheWarmUpStartAndRestItIsGiven) {
  const core::NumberSpec warming = Spec(3'105'550'100);
  core::NumberUsage fresh;
  fresh.warm_from = core::ToCompact(kT0 - std::chrono::hours(30));
  core::NumberUsage used = Usage(kT0 - seconds(90), 1, 2);
  used.warm_from = fresh.warm_from;
  used.rest_until = core::ToCompact(kT0 + std::chrono::hours(48));  // an admin's rest
  core::NumberUsage established = Usage(kT0 - seconds(50), 1, 1);
  this->MustAppend({Upsert(warming, fresh), Upsert(Spec(2'125'550'100), established)});
  this->MustAppend({Upsert(warming, used)});

  RecordingSink sink = this->LoadAt(kT0);
  EXPECT_THAT(sink.numbers,
              ElementsAre(NumberIs(Spec(2'125'550'100), established), NumberIs(warming, used)));
}

TYPED_TEST_P(JournalContractTest, UpsertReplacesANumberAndDeleteRemovesIt) {
  this->MustAppend({Upsert(Spec(3'105'550'100, 10)), Upsert(Spec(3'105'550'101))});
  core::NumberSpec changed = Spec(3'105'550'100, 0, 99);
  changed.carrier = "Verizon";
  this->MustAppend({Upsert(changed, Usage(kT0, 1, 1)), NumberDeleted{Phone(3'105'550'101)}});

  RecordingSink sink = this->LoadAt(kT0);
  EXPECT_THAT(sink.numbers, ElementsAre(NumberIs(changed, Usage(kT0, 1, 1))));
}

// A deleted number's usage is kept until its keep_until (store/deleted_usage.h): loaded while it
// is kept and the number is not in the store again; a later delete replaces it, or forgets it
// when it keeps nothing.
TYPED_TEST_P(JournalContractTest, ADeletedNumbersUsageIsKeptUntilItsTime) {
  const core::NumberUsage used = Usage(kT0, 2, 5);
  core::NumberUsage rested = used;
  rested.rest_until = core::ToCompact(kT0) + 7'200;
  rested.warm_from = core::ToCompact(kT0) / 86'400 * 86'400;
  const core::CompactTime until = core::ToCompact(kT0) + 3'600;
  this->MustAppend({Upsert(Spec(3'105'550'100), used), Upsert(Spec(3'105'550'101), used),
                    Upsert(Spec(3'105'550'102), used), Upsert(Spec(3'105'550'103), used)});
  this->MustAppend({NumberDeleted{Phone(3'105'550'100), {rested, until}, kT0},
                    NumberDeleted{Phone(3'105'550'101), {used, until + 60}, kT0},
                    NumberDeleted{Phone(3'105'550'102), {used, until}, kT0},
                    NumberDeleted{Phone(3'105'550'103), {}, kT0}});
  // 101 is added again (what is kept of it stays out of the load); 102's is forgotten by a
  // delete that keeps nothing.
  this->MustAppend({Upsert(Spec(3'105'550'101)), Upsert(Spec(3'105'550'102)),
                    NumberDeleted{Phone(3'105'550'102), {}, kT0}});

  RecordingSink sink = this->LoadAt(kT0 + seconds(3'599));
  ASSERT_EQ(sink.deleted.size(), 1u);
  EXPECT_EQ(sink.deleted[0].first, Phone(3'105'550'100));
  EXPECT_THAT(sink.deleted[0].second.usage, UsageIs(rested));
  EXPECT_EQ(sink.deleted[0].second.keep_until, until);
  EXPECT_THAT(this->LoadAt(kT0 + seconds(3'600)).deleted, IsEmpty()) << "its time is over";

  // A later delete replaces what an earlier one kept.
  this->MustAppend({Upsert(Spec(3'105'550'100), used)});
  this->MustAppend({NumberDeleted{Phone(3'105'550'100), {used, until + 600}, kT0 + seconds(60)}});
  sink = this->LoadAt(kT0 + seconds(3'600));
  ASSERT_EQ(sink.deleted.size(), 1u);
  EXPECT_THAT(sink.deleted[0].second.usage, UsageIs(used));
  EXPECT_EQ(sink.deleted[0].second.keep_until, until + 600);
}

TYPED_TEST_P(JournalContractTest, ReservationIsLoadedLiveWithTheNumbersNewUsage) {
  this->MustAppend({Upsert(Spec(3'105'550'100))});
  const core::Reservation r = MakeReservation(7, 3'105'550'100, kT0, seconds(300));
  const core::NumberUsage after = Usage(kT0, 1, 1);
  this->MustAppend({Made(r, after)});

  LoadSummary summary;
  RecordingSink sink = this->LoadAt(kT0 + seconds(299), &summary);
  EXPECT_THAT(sink.live, ElementsAre(ReservationIs(r)));
  EXPECT_THAT(sink.numbers, ElementsAre(NumberIs(Spec(3'105'550'100), after)));
  EXPECT_EQ(summary.live_reservations, 1u);
  EXPECT_EQ(summary.max_reservation_id, 7u);
}

TYPED_TEST_P(JournalContractTest, ReleasedExpiredAndOrphanedReservationsAreNotLive) {
  this->MustAppend({Upsert(Spec(3'105'550'100)), Upsert(Spec(3'105'550'101)),
                    Upsert(Spec(3'105'550'102)), Upsert(Spec(3'105'550'103))});
  const core::Reservation released = MakeReservation(1, 3'105'550'100, kT0, seconds(300));
  const core::Reservation expired = MakeReservation(2, 3'105'550'101, kT0, seconds(60));
  const core::Reservation live = MakeReservation(3, 3'105'550'102, kT0, seconds(300));
  const core::Reservation orphan = MakeReservation(4, 3'105'550'103, kT0, seconds(300));
  this->MustAppend({Made(released), Made(expired), Made(live), Made(orphan)});
  this->MustAppend({Released(1, kT0 + seconds(30)), NumberDeleted{Phone(3'105'550'103)}});

  LoadSummary summary;
  RecordingSink sink = this->LoadAt(kT0 + seconds(60), &summary);  // `expired` ends exactly now
  EXPECT_THAT(sink.live, ElementsAre(ReservationIs(live)));
  EXPECT_EQ(summary.max_reservation_id, 4u);  // ids continue above every stored one
}

TYPED_TEST_P(JournalContractTest, ReleaseAppendedRightAfterTheAllocationLandsReleased) {
  this->MustAppend({Upsert(Spec(3'105'550'100))});
  // No waiting between the two appends: append order alone must put the release second.
  this->journal().Append({Made(MakeReservation(5, 3'105'550'100, kT0, seconds(300)))}, nullptr);
  this->journal().Append({Released(5, kT0 + seconds(20), core::CallOutcome::kBusy, 7)}, nullptr);
  this->journal().Flush();

  EXPECT_THAT(this->LoadAt(kT0 + seconds(21)).live, IsEmpty());
  auto all = ListReservationsSync(this->journal(), AllReservations(), kT0 + seconds(21));
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].released_at, kT0 + seconds(20));
  EXPECT_EQ((*all)[0].outcome, core::CallOutcome::kBusy);
  EXPECT_EQ((*all)[0].duration_seconds, 7u);
  EXPECT_FALSE((*all)[0].live);
}

TYPED_TEST_P(JournalContractTest, SecondReleaseKeepsTheFirstOutcome) {
  this->MustAppend(
      {Upsert(Spec(3'105'550'100)), Made(MakeReservation(1, 3'105'550'100, kT0, seconds(300)))});
  this->MustAppend({Released(1, kT0 + seconds(10), core::CallOutcome::kAnswered, 9)});
  this->MustAppend({Released(1, kT0 + seconds(50), core::CallOutcome::kFailed, std::nullopt)});

  auto all = ListReservationsSync(this->journal(), AllReservations(), kT0 + seconds(60));
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].released_at, kT0 + seconds(10));
  EXPECT_EQ((*all)[0].outcome, core::CallOutcome::kAnswered);
  EXPECT_EQ((*all)[0].duration_seconds, 9u);
}

// A late outcome (the hang-up of a call that outlived its TTL, journal.h) is recorded on a
// reservation that had ended by then, and on nothing else: not on one still live (a wrong id must
// not end it), not on an id never stored.
TYPED_TEST_P(JournalContractTest, ALateOutcomeIsRecordedOnlyOnAReservationEndedByThen) {
  this->MustAppend({Upsert(Spec(3'105'550'100)),
                    Made(MakeReservation(1, 3'105'550'100, kT0, seconds(300))),
                    Made(MakeReservation(2, 3'105'550'100, kT0 + seconds(400), seconds(300)))});
  const auto late = [](std::uint64_t id, std::uint32_t duration) {
    ReservationReleased e =
        Released(id, kT0 + seconds(500), core::CallOutcome::kAnswered, duration);
    e.late = true;
    return e;
  };
  this->MustAppend({late(2, 60), late(1, 480), late(99, 1)});

  auto all = ListReservationsSync(this->journal(), AllReservations(), kT0 + seconds(500));
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 2u);
  const ReservationRecord& live = (*all)[0];  // newest first
  EXPECT_EQ(live.reservation.id, 2u);
  EXPECT_FALSE(live.released_at.has_value());
  EXPECT_EQ(live.outcome, core::CallOutcome::kUnknown);
  EXPECT_TRUE(live.live);
  const ReservationRecord& ended = (*all)[1];
  EXPECT_EQ(ended.released_at, kT0 + seconds(500));
  EXPECT_EQ(ended.outcome, core::CallOutcome::kAnswered);
  EXPECT_EQ(ended.duration_seconds, 480u);
}

TYPED_TEST_P(JournalContractTest, ReleaseWithoutOutcomeOrDurationReadsBackEmpty) {
  this->MustAppend({Upsert(Spec(3'105'550'100)),
                    Made(MakeReservation(1, 3'105'550'100, kT0, seconds(300))),
                    Released(1, kT0 + seconds(1), core::CallOutcome::kUnknown, std::nullopt)});
  auto all = ListReservationsSync(this->journal(), AllReservations(), kT0 + seconds(2));
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].outcome, core::CallOutcome::kUnknown);
  EXPECT_EQ((*all)[0].duration_seconds, std::nullopt);
  EXPECT_EQ((*all)[0].released_at, kT0 + seconds(1));
}

TYPED_TEST_P(JournalContractTest, ListReservationsNewestFirstLiveOnlyOrAll) {
  std::vector<JournalEntry> entries;
  for (std::uint64_t id = 1; id <= 6; ++id) {
    entries.push_back(Upsert(Spec(3'105'550'100 + id)));
    entries.push_back(Made(MakeReservation(id, 3'105'550'100 + id, kT0, seconds(100 * id))));
  }
  entries.push_back(Released(6, kT0 + seconds(5)));
  this->MustAppend(std::move(entries));
  const core::TimePoint now = kT0 + seconds(250);  // 1 and 2 expired, 6 released

  auto live = ListReservationsSync(this->journal(), LiveReservations(100), now);
  ASSERT_THAT(live, IsOk());
  std::vector<std::uint64_t> ids;
  for (const auto& r : *live) {
    ids.push_back(r.reservation.id);
    EXPECT_TRUE(r.live);
  }
  EXPECT_THAT(ids, ElementsAre(5, 4, 3));
  EXPECT_THAT((*live)[0].reservation,
              ReservationIs(MakeReservation(5, 3'105'550'105, kT0, seconds(500))));

  auto all = ListReservationsSync(this->journal(), AllReservations(4), now);
  ASSERT_THAT(all, IsOk());
  ids.clear();
  std::vector<bool> live_flags;
  for (const auto& r : *all) {
    ids.push_back(r.reservation.id);
    live_flags.push_back(r.live);
  }
  EXPECT_THAT(ids, ElementsAre(6, 5, 4, 3));
  EXPECT_THAT(live_flags, ElementsAre(false, true, true, true));
}

// Ids are not in time order across instances (each takes a block of them): live ones come by the
// time they end, latest first (the newest, TTLs being equal), ties by id; the limit keeps those.
TYPED_TEST_P(JournalContractTest, LiveReservationsComeLatestEndingFirst) {
  std::vector<JournalEntry> entries;
  const std::vector<std::pair<std::uint64_t, int>> id_and_second = {
      {1, 30}, {2, 40}, {1025, 10}, {1026, 20}, {1027, 40}};
  for (const auto& [id, second] : id_and_second) {
    const std::uint64_t number = 3'105'550'000 + id;
    entries.push_back(Upsert(Spec(number)));
    entries.push_back(Made(MakeReservation(id, number, kT0 + seconds(second), seconds(300))));
  }
  this->MustAppend(std::move(entries));

  auto live = ListReservationsSync(this->journal(), LiveReservations(4), kT0 + seconds(50));
  ASSERT_THAT(live, IsOk());
  std::vector<std::uint64_t> ids;
  for (const auto& r : *live) ids.push_back(r.reservation.id);
  EXPECT_THAT(ids, ElementsAre(1027, 2, 1, 1026));
}

TYPED_TEST_P(JournalContractTest, ListLogsPagesNewestFirst) {
  std::vector<JournalEntry> entries;
  for (int i = 0; i < 25; ++i) entries.push_back(Log(i));
  this->MustAppend(std::move(entries));

  std::vector<int> agents;  // Log(i) has agent "agent<i>"
  std::optional<std::uint64_t> before;
  std::uint64_t previous_id = 0;
  for (int page = 0; page < 4; ++page) {
    auto logs = ListLogsSync(this->journal(), Logs(10, before));
    ASSERT_THAT(logs, IsOk());
    EXPECT_EQ(logs->size(), page < 2 ? 10u : page == 2 ? 5u : 0u);
    for (const StoredLog& log : *logs) {
      if (previous_id != 0) {
        EXPECT_LT(log.id, previous_id);
      }
      previous_id = log.id;
      agents.push_back(std::stoi(log.entry.agent.substr(5)));
    }
    if (!logs->empty()) before = logs->back().id;
  }
  ASSERT_EQ(agents.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(agents[static_cast<std::size_t>(i)], 24 - i);

  auto newest = ListLogsSync(this->journal(), Logs(1));
  ASSERT_THAT(newest, IsOk());
  ASSERT_EQ(newest->size(), 1u);
  const ApiLogEntry expected = Log(24);
  const ApiLogEntry& got = (*newest)[0].entry;
  EXPECT_EQ(got.timestamp, expected.timestamp);
  EXPECT_EQ(got.endpoint, expected.endpoint);
  EXPECT_EQ(got.method, expected.method);
  EXPECT_EQ(got.campaign, expected.campaign);
  EXPECT_EQ(got.caller_id_allocated, expected.caller_id_allocated);
  EXPECT_EQ(got.response_time_us, expected.response_time_us);
  EXPECT_EQ(got.status_code, expected.status_code);
}

TYPED_TEST_P(JournalContractTest, ListQueriesRefuseALimitOutside1To1000) {
  EXPECT_THAT(ListLogsSync(this->journal(), Logs(0)), HasError(core::ErrorCode::kInvalidArgument));
  EXPECT_THAT(ListLogsSync(this->journal(), Logs(1001)),
              HasError(core::ErrorCode::kInvalidArgument));
  EXPECT_THAT(ListReservationsSync(this->journal(), LiveReservations(0), kT0),
              HasError(core::ErrorCode::kInvalidArgument));
  EXPECT_THAT(ListLogsSync(this->journal(), Logs(1000)), IsOk());
}

TYPED_TEST_P(JournalContractTest, ConcurrentAppendersEachCompleteExactlyOnce) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::vector<std::atomic<int>> completions(kThreads * kPerThread);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i;
        this->journal().Append(
            {Upsert(Spec(3'105'550'000 + static_cast<std::uint64_t>(n))), Log(n)},
            [&, n](core::Result<void> r) {
              if (!r) failures.fetch_add(1);
              completions[static_cast<std::size_t>(n)].fetch_add(1);
            });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  this->journal().Flush();

  for (std::size_t n = 0; n < completions.size(); ++n) {
    ASSERT_EQ(completions[n].load(), 1) << "append " << n;
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(this->journal().QueueDepth(), 0u);
  EXPECT_EQ(this->LoadAt(kT0).numbers.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TYPED_TEST_P(JournalContractTest, EmptyAppendCompletes) {
  EXPECT_THAT(AppendAndWait(this->journal(), {}), IsOk());
  this->journal().Append({}, nullptr);  // no callback: fine too
  this->journal().Flush();
}

TYPED_TEST_P(JournalContractTest, RepeatedReservationIdFailsItsAppendAndChangesNothing) {
  this->MustAppend(
      {Upsert(Spec(3'105'550'100)), Made(MakeReservation(1, 3'105'550'100, kT0, seconds(300)))});
  EXPECT_THAT(
      AppendAndWait(this->journal(), {Upsert(Spec(3'105'550'101)),
                                      Made(MakeReservation(1, 3'105'550'101, kT0, seconds(300)))}),
      HasError(core::ErrorCode::kUnavailable));
  EXPECT_EQ(this->LoadAt(kT0).numbers.size(), 1u);  // the whole append was undone

  this->MustAppend({Upsert(Spec(3'105'550'102))});  // and the journal goes on
  EXPECT_TRUE(this->journal().Healthy());
  EXPECT_EQ(this->LoadAt(kT0).numbers.size(), 2u);
}

TYPED_TEST_P(JournalContractTest, CampaignPoolsAreSetReplacedAndUnmappedInAppendOrder) {
  this->MustAppend({CampaignPoolChanged{"sales", "east"}, CampaignPoolChanged{"support", "west"},
                    CampaignPoolChanged{"retention", "east"}});
  this->MustAppend({CampaignPoolChanged{"sales", "west"},  // replaces
                    CampaignPoolChanged{"support", std::nullopt},
                    CampaignPoolChanged{"never-mapped", std::nullopt},  // unmapping nothing is fine
                    CampaignPoolChanged{"retention", std::nullopt},
                    CampaignPoolChanged{"retention", "north"}});  // the later entry wins

  LoadSummary summary;
  RecordingSink sink = this->LoadAt(kT0, &summary);
  EXPECT_THAT(sink.campaign_pools,
              ElementsAre(CampaignPool{"retention", "north"}, CampaignPool{"sales", "west"}));
  EXPECT_EQ(summary.campaign_pools, 2u);
}

TYPED_TEST_P(JournalContractTest, PoolSettingsAreKeptAndReplaced) {
  this->MustAppend({PoolSettingsChanged{{"west", false}}, PoolSettingsChanged{{"east", false}}});
  this->MustAppend({PoolSettingsChanged{{"west", true}}});  // replaces
  RecordingSink sink = this->LoadAt(kT0);
  EXPECT_THAT(sink.pool_settings,
              ElementsAre(PoolSettings{"east", false}, PoolSettings{"west", true}));
}

// Retention: PruneHistory's chunks (1,000 rows per table) are crossed on purpose.
TYPED_TEST_P(JournalContractTest, LoadsTheAllocationsOfLeadsInTheWindowOldestFirst) {
  using std::chrono::hours;
  this->MustAppend({Upsert(Spec(3'105'550'100)), Upsert(Spec(3'105'550'101))});
  const core::Reservation too_old = MakeReservation(1, 3'105'550'100, kT0 - hours(30), seconds(60));
  core::Reservation later = MakeReservation(3, 3'105'550'100, kT0 - hours(2), seconds(60));
  later.pool = "east";
  // A higher id but an earlier time (ids are not times: reservation ids of a cluster are not
  // handed out in time order across instances).
  const core::Reservation earlier = MakeReservation(4, 3'105'550'101, kT0 - hours(5), seconds(60));
  core::Reservation no_lead = MakeReservation(5, 3'105'550'101, kT0 - hours(1), seconds(60));
  no_lead.lead_id.reset();
  this->MustAppend({Made(too_old), Made(later), Made(earlier), Made(no_lead)});
  this->MustAppend({Released(3, kT0 - hours(2) + seconds(30))});  // released ones count too

  RecordingSink sink;
  sink.lead_window = hours(24);
  ASSERT_THAT(this->journal().Load(kT0, sink), IsOk());
  ASSERT_EQ(sink.leads.size(), 2u);
  EXPECT_EQ(sink.leads[0].lead_id, 1'004u);
  EXPECT_EQ(sink.leads[0].pool, "default");
  EXPECT_EQ(sink.leads[0].caller_id, Phone(3'105'550'101));
  EXPECT_EQ(sink.leads[0].at, kT0 - hours(5));
  EXPECT_EQ(sink.leads[1].lead_id, 1'003u);
  EXPECT_EQ(sink.leads[1].pool, "east");
  EXPECT_EQ(sink.leads[1].caller_id, Phone(3'105'550'100));
  EXPECT_EQ(sink.leads[1].at, kT0 - hours(2));
  EXPECT_THAT(this->LoadAt(kT0).leads, IsEmpty());  // a sink that asks for none gets none
}

// The agent rate limit's memory: every allocation naming an agent within the window, released or
// not, oldest first; none for a sink that asks for none.
TYPED_TEST_P(JournalContractTest, LoadsTheAllocationsNamingAnAgentInTheWindowOldestFirst) {
  this->MustAppend({Upsert(Spec(3'105'550'100)), Upsert(Spec(3'105'550'101))});
  const core::Reservation too_old =
      MakeReservation(1, 3'105'550'100, kT0 - seconds(90), seconds(60));
  core::Reservation later = MakeReservation(3, 3'105'550'100, kT0 - seconds(10), seconds(300));
  later.agent = "a1";
  const core::Reservation earlier =
      MakeReservation(4, 3'105'550'101, kT0 - seconds(40), seconds(5));
  core::Reservation no_agent = MakeReservation(5, 3'105'550'101, kT0 - seconds(20), seconds(60));
  no_agent.agent.clear();
  this->MustAppend({Made(too_old), Made(later), Made(earlier), Made(no_agent)});
  this->MustAppend({Released(3, kT0 - seconds(5))});  // released ones count too

  RecordingSink sink;
  sink.agent_window = seconds(60);
  ASSERT_THAT(this->journal().Load(kT0, sink), IsOk());
  using Seen = std::pair<std::string, core::TimePoint>;
  EXPECT_THAT(sink.agents,
              ElementsAre(Seen{"agent4", kT0 - seconds(40)}, Seen{"a1", kT0 - seconds(10)}));
  EXPECT_THAT(this->LoadAt(kT0).agents, IsEmpty());  // a sink that asks for none gets none
}

// Records what Load reports of the numbers, in order: "N:digits" for OnNumber,
// "newest:digits:id" for OnNumberNewest.
class NewestSink final : public LoadSink {
 public:
  explicit NewestSink(bool wants) : wants_(wants) {}
  void OnNumber(const core::NumberSpec& spec, const core::NumberUsage& /*usage*/) override {
    events.push_back("N:" + spec.caller_id.ToString());
  }
  bool WantsNewest() const override { return wants_; }
  void OnNumberNewest(core::PhoneNumber caller_id, std::uint64_t reservation_id) override {
    events.push_back("newest:" + caller_id.ToString() + ":" + std::to_string(reservation_id));
  }
  void OnLiveReservation(const core::Reservation& /*reservation*/) override {}
  std::vector<std::string> events;

 private:
  bool wants_;
};

// The lookup's link a Redis rebuild needs (each number's 'lr'): a number's newest reservation,
// right after the number, only to a sink that asks, and not for a number never allocated or
// deleted and added again since.
TYPED_TEST_P(JournalContractTest, LoadReportsEachNumbersNewestReservationToASinkThatAsks) {
  constexpr std::uint64_t kA = 2'125'550'100, kB = 3'105'550'100, kC = 4'155'550'100,
                          kD = 9'175'550'100;
  this->MustAppend({Upsert(Spec(kA)), Upsert(Spec(kB)), Upsert(Spec(kC)), Upsert(Spec(kD))});
  this->MustAppend({Made(MakeReservation(5, kA, kT0 - seconds(300), seconds(60)),
                         Usage(kT0 - seconds(300), 1, 1)),
                    Made(MakeReservation(9, kB, kT0 - seconds(250), seconds(60)),
                         Usage(kT0 - seconds(250), 1, 1)),
                    Made(MakeReservation(8, kD, kT0 - seconds(200), seconds(60)))});
  // A later batch, a lower id (ids are not times in a cluster), and one still live.
  this->MustAppend({Made(MakeReservation(3, kA, kT0 - seconds(100), seconds(600)),
                         Usage(kT0 - seconds(100), 2, 2)),
                    Released(9, kT0 - seconds(240))});
  this->MustAppend({NumberDeleted{Phone(kD)}});
  this->MustAppend({Upsert(Spec(kD))});

  NewestSink asks(true);
  ASSERT_THAT(this->journal().Load(kT0, asks), IsOk());
  EXPECT_THAT(asks.events, ElementsAre("N:2125550100", "newest:2125550100:3", "N:3105550100",
                                       "newest:3105550100:9", "N:4155550100", "N:9175550100"));
  NewestSink does_not(false);
  ASSERT_THAT(this->journal().Load(kT0, does_not), IsOk());
  EXPECT_THAT(does_not.events,
              ElementsAre("N:2125550100", "N:3105550100", "N:4155550100", "N:9175550100"));
}

TYPED_TEST_P(JournalContractTest, CoverageSumsActiveCapsAndCountsCallsByAreaCodeAndQuarterHour) {
  using std::chrono::hours;
  core::NumberSpec inactive = Spec(2'125'550'102, 7, 70);
  inactive.active = false;
  this->MustAppend({Upsert(Spec(2'125'550'100, 10, 0)), Upsert(Spec(2'125'550'101)),
                    Upsert(inactive), Upsert(Spec(3'105'550'100, 0, 80))});
  // Calls to 310 (MakeReservation's destination), and one to 212; one before `since`.
  const core::TimePoint since = kT0 - hours(5);
  core::Reservation to_212 = MakeReservation(4, 2'125'550'100, kT0, seconds(60));
  to_212.destination = Phone(2'125'559'876);
  this->MustAppend({Made(MakeReservation(1, 2'125'550'100, kT0 - hours(6), seconds(60))),
                    Made(MakeReservation(2, 2'125'550'101, kT0 - hours(2), seconds(60))),
                    Made(MakeReservation(3, 3'105'550'100, kT0 - hours(2), seconds(60))),
                    Made(to_212)});
  this->MustAppend({Released(2, kT0 - hours(2) + seconds(5))});  // ended calls count too

  CoverageQuery query;
  query.since = since;
  query.default_hourly_cap = 100;
  query.default_daily_cap = 500;
  auto data =
      testing::Await<CoverageData>([&](auto done) { this->journal().QueryCoverage(query, done); });
  ASSERT_THAT(data, IsOk());
  ASSERT_EQ(data->capacity.size(), 2u);
  const AreaCodeCapacity& ny = data->capacity[0];
  EXPECT_EQ(ny.area_code, 212u);
  EXPECT_EQ(ny.numbers, 3u);
  EXPECT_EQ(ny.active, 2u);
  EXPECT_EQ(ny.hourly_capacity, 110u);  // 10 + the default 100; the inactive one not at all
  EXPECT_EQ(ny.daily_capacity, 1000u);  // two defaults
  EXPECT_EQ(data->capacity[1].area_code, 310u);
  EXPECT_EQ(data->capacity[1].daily_capacity, 80u);

  const auto quarter = [](core::TimePoint t) {
    return std::chrono::floor<std::chrono::minutes>(t.time_since_epoch()).count() / 15;
  };
  ASSERT_EQ(data->calls.size(), 2u);
  EXPECT_EQ(data->calls[0].area_code, 212u);
  EXPECT_EQ(data->calls[0].quarter, quarter(kT0));
  EXPECT_EQ(data->calls[0].calls, 1u);
  EXPECT_EQ(data->calls[1].area_code, 310u);
  EXPECT_EQ(data->calls[1].quarter, quarter(kT0 - hours(2)));
  EXPECT_EQ(data->calls[1].calls, 2u);
}

// The dashboard's history: allocations per minute since minutes_since, per campaign and agent since
// pairs_since, both before `until`; the pairs busiest first, then by campaign and agent.
TYPED_TEST_P(JournalContractTest, ActivityCountsMinutesAndPairsWithinTheirWindows) {
  using std::chrono::hours;
  using std::chrono::minutes;
  this->MustAppend({Upsert(Spec(2'125'550'100))});
  const auto made = [](std::uint64_t id, core::TimePoint at, std::string campaign,
                       std::string agent) {
    core::Reservation r = MakeReservation(id, 2'125'550'100, at, seconds(60));
    r.campaign = std::move(campaign);
    r.agent = std::move(agent);
    return Made(r);
  };
  this->MustAppend({made(1, kT0 - hours(25), "sales", "a"),  // before both windows
                    made(2, kT0 - hours(3), "sales", "a"),   // pairs only
                    made(3, kT0 - minutes(30), "sales", "b"),
                    made(4, kT0 - minutes(30) + seconds(59), "sales", "b"),
                    made(5, kT0 - minutes(10), "", ""),
                    made(6, kT0, "sales", "b")});  // at `until`: left out
  const ActivityQuery query{
      .pairs_since = kT0 - hours(24), .minutes_since = kT0 - hours(1), .until = kT0};
  auto data =
      testing::Await<ActivityData>([&](auto done) { this->journal().QueryActivity(query, done); });
  ASSERT_THAT(data, IsOk());
  const auto minute = [](core::TimePoint t) {
    return std::chrono::floor<minutes>(t.time_since_epoch()).count();
  };
  std::vector<std::pair<std::int64_t, std::uint64_t>> minutes_counted;
  for (const MinuteCount& m : data->minutes) minutes_counted.emplace_back(m.minute, m.allocations);
  EXPECT_THAT(minutes_counted, ElementsAre(std::pair{minute(kT0 - minutes(30)), 2U},
                                           std::pair{minute(kT0 - minutes(10)), 1U}));
  using Pair = std::tuple<std::string, std::string, std::uint64_t, core::TimePoint>;
  std::vector<Pair> pairs;
  for (const CampaignAgentCount& p : data->pairs) {
    pairs.emplace_back(p.campaign, p.agent, p.allocations, p.last);
  }
  EXPECT_THAT(pairs, ElementsAre(Pair{"sales", "b", 2, kT0 - minutes(30) + seconds(59)},
                                 Pair{"", "", 1, kT0 - minutes(10)},
                                 Pair{"sales", "a", 1, kT0 - hours(3)}));
  EXPECT_EQ(data->unlisted, 0U);
}

// Of two unreleased reservations of one number (the older one's release was lost: its commit
// failed after it was answered), the newer comes first, so a restart keeps the call on the line.
TYPED_TEST_P(JournalContractTest, LiveReservationsComeNewestFirst) {
  this->MustAppend({Upsert(Spec(2'125'550'100)), Upsert(Spec(2'125'550'101))});
  this->MustAppend({Made(MakeReservation(1, 2'125'550'100, kT0 - seconds(60), seconds(300))),
                    Made(MakeReservation(2, 2'125'550'101, kT0 - seconds(30), seconds(300))),
                    Made(MakeReservation(3, 2'125'550'100, kT0 - seconds(10), seconds(300)))});
  RecordingSink recorded;
  ASSERT_THAT(this->journal().Load(kT0, recorded), IsOk());
  ASSERT_EQ(recorded.live.size(), 3u);
  EXPECT_EQ(recorded.live[0].id, 3u);
  EXPECT_EQ(recorded.live[1].id, 2u);
  EXPECT_EQ(recorded.live[2].id, 1u);
}

// The numbers whose caps may be held down today (warm-up, rest, probation) come grouped by area
// code, full caps, and warm-up start and rest end where those are at or after recent_since.
TYPED_TEST_P(JournalContractTest, CoverageGroupsTheActiveNumbersWarmingOrRestedSinceTheBound) {
  constexpr core::CompactTime kBound = 200'000'000;
  const auto number = [](std::uint64_t digits, std::uint16_t hourly, std::uint16_t daily,
                         core::CompactTime warm_from, core::CompactTime rest_until,
                         bool active = true) {
    core::NumberSpec spec = Spec(digits, hourly, daily);
    spec.active = active;
    core::NumberUsage usage;
    usage.warm_from = warm_from;
    usage.rest_until = rest_until;
    return Upsert(spec, usage);
  };
  this->MustAppend({
      number(2'125'550'100, 10, 0, kBound + 100, 0), number(2'125'550'101, 0, 0, kBound + 100, 0),
      number(2'125'550'102, 0, 0, kBound + 100, 0),
      number(2'125'550'103, 0, 0, kBound - 1, kBound + 50),  // warmed long ago, rested lately
      number(2'125'550'104, 0, 0, kBound - 1, kBound - 1),   // both long ago: not reported
      number(2'125'550'105, 0, 0, 0, kBound + 50, false),    // inactive: no capacity at all
      number(3'105'550'100, 0, 80, 0, kBound),               // the bound itself is in
  });
  CoverageQuery query;
  query.since = kT0;
  query.recent_since = kBound;
  query.default_hourly_cap = 100;
  query.default_daily_cap = 500;
  auto data =
      testing::Await<CoverageData>([&](auto done) { this->journal().QueryCoverage(query, done); });
  ASSERT_THAT(data, IsOk());
  using Group = std::tuple<std::uint32_t, std::uint16_t, std::uint16_t, core::CompactTime,
                           core::CompactTime, std::uint64_t>;
  std::vector<Group> groups;
  for (const RecentNumbers& r : data->recent) {
    groups.emplace_back(r.area_code, r.hourly_cap, r.daily_cap, r.warm_from, r.rest_until,
                        r.numbers);
  }
  EXPECT_THAT(
      groups,
      ElementsAre(Group{212, 10, 500, kBound + 100, 0, 1}, Group{212, 100, 500, 0, kBound + 50, 1},
                  Group{212, 100, 500, kBound + 100, 0, 2}, Group{310, 100, 80, 0, kBound, 1}));
  ASSERT_EQ(data->capacity.size(), 2u);
  EXPECT_EQ(data->capacity[0].active, 5u);  // every active number, at its full caps
  EXPECT_EQ(data->capacity[0].hourly_capacity, 410u);
}

TYPED_TEST_P(JournalContractTest, AnswerStatsCountTheJudgedCallsOfEachNumberInCallerIdOrder) {
  using core::CallOutcome;
  using std::chrono::hours;
  using std::chrono::minutes;
  constexpr std::uint64_t kA = 3'105'550'100, kB = 2'125'550'100, kInactive = 2'125'550'101;
  constexpr std::uint64_t kUnjudged = 4'155'550'100, kDeleted = 9'175'550'100;
  this->MustAppend({RestedNumber(kA, "east"), RestedNumber(kB, "default"),
                    RestedNumber(kInactive, "default", 0, false), RestedNumber(kUnjudged, "east"),
                    RestedNumber(kDeleted, "east")});
  const core::TimePoint t = kT0 - hours(2);
  std::vector<JournalEntry> calls;
  const auto call = [&](std::uint64_t id, std::uint64_t number, CallOutcome outcome) {
    for (JournalEntry& e : EndedCall(id, number, t + minutes(id), outcome)) {
      calls.push_back(std::move(e));
    }
  };
  call(1, kA, CallOutcome::kAnswered);
  call(2, kA, CallOutcome::kNoAnswer);
  call(3, kA, CallOutcome::kBusy);
  call(4, kA, CallOutcome::kVoicemail);
  call(5, kA, CallOutcome::kAnswered);
  call(6, kA, CallOutcome::kFailed);   // no person was asked: left out
  call(7, kA, CallOutcome::kOther);    // left out
  call(8, kA, CallOutcome::kUnknown);  // released without an outcome: left out
  call(9, kB, CallOutcome::kNoAnswer);
  call(10, kInactive, CallOutcome::kBusy);
  call(11, kUnjudged, CallOutcome::kFailed);
  call(12, kUnjudged, CallOutcome::kUnknown);
  call(13, kDeleted, CallOutcome::kAnswered);
  calls.push_back(Made(MakeReservation(14, kUnjudged, t, seconds(60))));  // never released
  this->MustAppend(std::move(calls));
  this->MustAppend({NumberDeleted{Phone(kDeleted)}});

  const AnswerStats stats = this->AnswerStatsAt(kT0 - hours(24), kT0);
  // kUnjudged had no judged call, kDeleted's number is gone: neither is listed.
  EXPECT_THAT(stats.numbers, ElementsAre(AnswersAre(kB, "default", true, 0, 1, 0),
                                         AnswersAre(kInactive, "default", false, 0, 1, 0),
                                         AnswersAre(kA, "east", true, 0, 5, 2)));
}

TYPED_TEST_P(JournalContractTest, AnswerStatsCountFromTheWindowOrTheRestsEndWhicheverIsLater) {
  using core::CallOutcome;
  using std::chrono::hours;
  using std::chrono::milliseconds;
  constexpr std::uint64_t kNeverRested = 2'125'550'100, kRestedBefore = 2'125'550'101;
  constexpr std::uint64_t kRestedWithin = 2'125'550'102, kResting = 2'125'550'103;
  const core::TimePoint since = kT0 - hours(24);
  // Rest ends on whole seconds, as stored (compact seconds).
  const core::CompactTime before_window = core::ToCompact(since - hours(48));
  const core::CompactTime within_window = core::ToCompact(kT0 - hours(6));
  const core::CompactTime ahead = core::ToCompact(kT0 + hours(24));
  this->MustAppend({RestedNumber(kNeverRested, "default"), RestedNumber(kRestedBefore, "default"),
                    RestedNumber(kRestedWithin, "default"), RestedNumber(kResting, "default")});
  std::vector<std::vector<JournalEntry>> calls = {
      EndedCall(1, kNeverRested, since - hours(1), CallOutcome::kAnswered),  // before the window
      EndedCall(2, kNeverRested, since, CallOutcome::kNoAnswer),             // its first instant
      EndedCall(3, kRestedBefore, since + hours(1), CallOutcome::kBusy),
      EndedCall(4, kRestedWithin, since + hours(1), CallOutcome::kNoAnswer),  // got it rested
      // In the second the rest ends: not counted (an admin's end may follow it in that second).
      EndedCall(5, kRestedWithin, core::FromCompact(within_window) + milliseconds(999),
                CallOutcome::kNoAnswer),
      EndedCall(6, kRestedWithin, core::FromCompact(within_window + 1), CallOutcome::kAnswered),
      EndedCall(9, kRestedWithin, kT0 - hours(1), CallOutcome::kVoicemail),
      EndedCall(7, kResting, kT0 - hours(2), CallOutcome::kNoAnswer),  // before its rest ends
  };
  // Made before the window and still held into it (reserved_until after `since`): not counted.
  calls.push_back({Made(MakeReservation(8, kNeverRested, since - seconds(30), seconds(300))),
                   Released(8, since + seconds(10), CallOutcome::kAnswered)});
  for (auto& entries : calls) this->MustAppend(std::move(entries));
  // The rests, as set after the calls (an allocation's usage would carry them on).
  this->MustAppend({RestedNumber(kRestedBefore, "default", before_window),
                    RestedNumber(kRestedWithin, "default", within_window),
                    RestedNumber(kResting, "default", ahead)});

  const AnswerStats stats = this->AnswerStatsAt(since, kT0);
  EXPECT_THAT(stats.numbers,
              ElementsAre(AnswersAre(kNeverRested, "default", true, 0, 1, 0),
                          AnswersAre(kRestedBefore, "default", true, before_window, 1, 0),
                          AnswersAre(kRestedWithin, "default", true, within_window, 2, 1)));
  // A wider window takes the older call in; the rest ends still cut.
  EXPECT_THAT(this->AnswerStatsAt(since - hours(2), kT0).numbers,
              ElementsAre(AnswersAre(kNeverRested, "default", true, 0, 3, 2),
                          AnswersAre(kRestedBefore, "default", true, before_window, 1, 0),
                          AnswersAre(kRestedWithin, "default", true, within_window, 2, 1)));
}

TYPED_TEST_P(JournalContractTest, AnswerStatsCountEachPoolsActiveAndRestingNumbersByName) {
  using std::chrono::hours;
  const core::CompactTime ended = core::ToCompact(kT0 - hours(1));
  const core::CompactTime ahead = core::ToCompact(kT0 + hours(1));
  this->MustAppend({
      RestedNumber(2'125'550'100, "default"), RestedNumber(2'125'550'101, "default", ahead),
      RestedNumber(2'125'550'102, "default", ahead, false),  // inactive: in neither count
      RestedNumber(2'125'550'103, "default", 0, false), RestedNumber(3'105'550'100, "east", ended),
      RestedNumber(3'105'550'101, "East", ahead),     // names in byte order: "East" first
      RestedNumber(4'155'550'100, "idle", 0, false),  // a pool of inactive numbers only
  });

  const AnswerStats stats = this->AnswerStatsAt(kT0 - hours(24), kT0);
  EXPECT_THAT(stats.numbers, IsEmpty());  // no calls at all
  EXPECT_THAT(stats.pools, ElementsAre(PoolRestsAre("East", 1, 1), PoolRestsAre("default", 2, 1),
                                       PoolRestsAre("east", 1, 0), PoolRestsAre("idle", 0, 0)));
  // Once the rests have ended, nothing rests.
  EXPECT_THAT(this->AnswerStatsAt(kT0 - hours(24), core::FromCompact(ahead)).pools,
              ElementsAre(PoolRestsAre("East", 1, 0), PoolRestsAre("default", 2, 0),
                          PoolRestsAre("east", 1, 0), PoolRestsAre("idle", 0, 0)));
}

TYPED_TEST_P(JournalContractTest, PruneHistoryDeletesOnlyOlderRowsAndKeepsTheHighestId) {
  using std::chrono::hours;
  const core::TimePoint long_ago = kT0 - hours(24 * 100);
  const core::TimePoint weeks_ago = kT0 - hours(24 * 40);
  this->MustAppend({Upsert(Spec(3'105'550'100)), Upsert(Spec(3'105'550'101))});
  std::vector<JournalEntry> old_history;
  for (int i = 0; i < 2'500; ++i) {
    ApiLogEntry log = Log(i);
    log.timestamp = weeks_ago + std::chrono::milliseconds(i);
    old_history.push_back(std::move(log));
  }
  for (std::uint64_t id = 1; id <= 1'200; ++id) {  // ended 100 days ago
    old_history.push_back(
        Made(MakeReservation(id, 3'105'550'100, long_ago, seconds(300)), Usage(long_ago, 1, 1)));
  }
  this->MustAppend(std::move(old_history));
  this->MustAppend(
      {Log(1), Log(2),  // recent rows
       Made(MakeReservation(1'201, 3'105'550'101, kT0, seconds(300)), Usage(kT0, 1, 1)),
       // the highest id, though it ended long ago
       Made(MakeReservation(1'202, 3'105'550'100, long_ago, seconds(300)), Usage(long_ago, 2, 2))});

  PruneCutoffs cutoffs;
  cutoffs.api_logs_before = kT0 - hours(24 * 30);
  cutoffs.reservations_before = kT0 - hours(24 * 90);
  auto pruned =
      testing::Await<PruneResult>([&](auto done) { this->journal().PruneHistory(cutoffs, done); });
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->api_logs, 2'500u);
  EXPECT_EQ(pruned->reservations, 1'200u);

  auto logs = ListLogsSync(this->journal(), Logs(1000));
  ASSERT_THAT(logs, IsOk());
  ASSERT_EQ(logs->size(), 2u);
  EXPECT_EQ(logs->at(0).entry.timestamp, Log(2).timestamp);
  auto reservations = ListReservationsSync(this->journal(), AllReservations(1000), kT0);
  ASSERT_THAT(reservations, IsOk());
  std::vector<std::uint64_t> ids;
  for (const auto& r : *reservations) ids.push_back(r.reservation.id);
  // Both kept (their order is not this test's: newest first is by id in one instance's history,
  // by time in PostgreSQL's, where instances take ids in blocks).
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre(1'202u, 1'201u));
  LoadSummary summary;
  RecordingSink sink = this->LoadAt(kT0, &summary);
  EXPECT_EQ(summary.max_reservation_id, 1'202u);  // ids go on above it after a restart
  EXPECT_EQ(sink.live.size(), 1u);

  // Nothing older is left: a second pass deletes nothing; an unset cutoff keeps everything.
  pruned =
      testing::Await<PruneResult>([&](auto done) { this->journal().PruneHistory(cutoffs, done); });
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->api_logs, 0u);
  EXPECT_EQ(pruned->reservations, 0u);
  pruned = testing::Await<PruneResult>(
      [&](auto done) { this->journal().PruneHistory(PruneCutoffs{}, done); });
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->api_logs + pruned->reservations, 0u);
  this->MustAppend({Log(3)});  // and the journal goes on

  // Everything old: the newest row of each table stays, so ids go on above it.
  PruneCutoffs everything;
  everything.api_logs_before = kT0 + hours(1);
  everything.reservations_before = kT0 + hours(1);
  pruned = testing::Await<PruneResult>(
      [&](auto done) { this->journal().PruneHistory(everything, done); });
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->api_logs, 2u);
  EXPECT_EQ(pruned->reservations, 1u);
  logs = ListLogsSync(this->journal(), Logs(1000));
  ASSERT_THAT(logs, IsOk());
  ASSERT_EQ(logs->size(), 1u);
  const std::uint64_t kept = logs->at(0).id;
  this->MustAppend({Log(4)});
  logs = ListLogsSync(this->journal(), Logs(1000));
  ASSERT_THAT(logs, IsOk());
  ASSERT_EQ(logs->size(), 2u);
  EXPECT_GT(logs->at(0).id, kept);  // never an id again
}

// The highest id is kept out before a chunk's limit: when it ended first of all, a pass still
// takes every other old reservation, not one chunk short of 1,000 and then a stop.
TYPED_TEST_P(JournalContractTest, PruneHistoryGoesOnWhenTheNewestReservationEndedFirst) {
  using std::chrono::hours;
  const core::TimePoint long_ago = kT0 - hours(24 * 100);
  this->MustAppend({Upsert(Spec(3'105'550'100))});
  std::vector<JournalEntry> old_history;
  for (std::uint64_t id = 1; id <= 1'500; ++id) {
    old_history.push_back(
        Made(MakeReservation(id, 3'105'550'100, long_ago, seconds(300)), Usage(long_ago, 1, 1)));
  }
  // The highest id, a minute earlier than all the others: first by reserved_until.
  old_history.push_back(
      Made(MakeReservation(1'501, 3'105'550'100, long_ago - seconds(60), seconds(10)),
           Usage(long_ago, 1, 1)));
  this->MustAppend(std::move(old_history));
  PruneCutoffs cutoffs;
  cutoffs.reservations_before = kT0 - hours(24 * 90);
  auto pruned =
      testing::Await<PruneResult>([&](auto done) { this->journal().PruneHistory(cutoffs, done); });
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(pruned->reservations, 1'500u);
  auto left = ListReservationsSync(this->journal(), AllReservations(1000), kT0);
  ASSERT_THAT(left, IsOk());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->at(0).reservation.id, 1'501u);
}

// Store::Lookup's data: a number's reservations linked newest to oldest.
inline LookupData LookupSync(Journal& journal, std::uint64_t caller_id,
                             std::optional<std::uint64_t> from,
                             std::size_t max_depth = kLookupMaxDepth,
                             std::chrono::seconds window = kLookupDefaultWindow) {
  LookupQuery query;
  query.caller_id = Phone(caller_id);
  if (from) query.from = Phone(*from);
  query.max_depth = max_depth;
  query.window = window;
  auto data = testing::Await<LookupData>(
      [&](auto done) { journal.QueryLookup(query, kT0 + seconds(30), done); });
  EXPECT_THAT(data, IsOk());
  return data ? *data : LookupData{};
}

TYPED_TEST_P(JournalContractTest, LookupFindsTheNewestReservationAndTheOneThatCalledAParty) {
  constexpr std::uint64_t kA = 2'125'550'100;
  constexpr std::uint64_t kB = 2'125'550'101;
  this->MustAppend({Upsert(Spec(kA)), Upsert(Spec(kB)), Upsert(Spec(2'125'550'102))});
  auto to = [](core::Reservation r, std::uint64_t destination) {
    r.destination = Phone(destination);
    return r;
  };
  // A called 310 (1), then 212 (3, released), then 415 (4, live); B in between (2). Two batches,
  // and two of A's in one: the links hold within a batch and across batches.
  this->MustAppend({Made(MakeReservation(1, kA, kT0 - seconds(300), seconds(60))),
                    Made(MakeReservation(2, kB, kT0 - seconds(200), seconds(60)))});
  this->MustAppend(
      {Made(to(MakeReservation(3, kA, kT0 - seconds(100), seconds(60)), 2'125'559'876)),
       Released(3, kT0 - seconds(90)),
       Made(to(MakeReservation(4, kA, kT0, seconds(60)), 4'155'550'001))});

  LookupData a = LookupSync(this->journal(), kA, std::nullopt);
  EXPECT_TRUE(a.known);
  ASSERT_TRUE(a.last.has_value());
  EXPECT_THAT(a.last->reservation,
              ReservationIs(to(MakeReservation(4, kA, kT0, seconds(60)), 4'155'550'001)));
  EXPECT_TRUE(a.last->live);
  EXPECT_FALSE(a.called.has_value());  // no `from`, no search

  LookupData first = LookupSync(this->journal(), kA, 3'105'559'876);
  ASSERT_TRUE(first.called.has_value());
  EXPECT_EQ(first.called->reservation.id, 1u);  // past 4 and 3, never B's 2 to the same party
  EXPECT_FALSE(first.called->live);             // expired
  LookupData released = LookupSync(this->journal(), kA, 2'125'559'876);
  ASSERT_TRUE(released.called.has_value());
  EXPECT_EQ(released.called->reservation.id, 3u);
  EXPECT_EQ(released.called->outcome, core::CallOutcome::kAnswered);
  ASSERT_TRUE(released.called->released_at.has_value());
  EXPECT_EQ(*released.called->released_at, kT0 - seconds(90));
  LookupData newest = LookupSync(this->journal(), kA, 4'155'550'001);
  ASSERT_TRUE(newest.called.has_value());
  EXPECT_EQ(newest.called->reservation.id, 4u);

  EXPECT_FALSE(LookupSync(this->journal(), kA, 7'025'550'000).called.has_value());  // never called
  // The search stops after max_depth of A's reservations: 4 and 3 do not reach 1.
  EXPECT_FALSE(LookupSync(this->journal(), kA, 3'105'559'876, 2).called.has_value());
  EXPECT_TRUE(LookupSync(this->journal(), kA, 3'105'559'876, 3).called.has_value());

  LookupData b = LookupSync(this->journal(), kB, 3'105'559'876);
  ASSERT_TRUE(b.last.has_value());
  EXPECT_EQ(b.last->reservation.id, 2u);
  ASSERT_TRUE(b.called.has_value());
  EXPECT_EQ(b.called->reservation.id, 2u);

  LookupData unused = LookupSync(this->journal(), 2'125'550'102, 3'105'559'876);
  EXPECT_TRUE(unused.known);
  EXPECT_FALSE(unused.last.has_value());
  EXPECT_FALSE(unused.called.has_value());
  EXPECT_FALSE(LookupSync(this->journal(), 2'125'550'199, std::nullopt).known);
}

TYPED_TEST_P(JournalContractTest, LookupFollowsTheGivenPreviousIdsAndEndsWithItsNumber) {
  constexpr std::uint64_t kA = 2'125'550'100;
  this->MustAppend({Upsert(Spec(kA))});
  // 7's link names 5 (as Redis orders a cluster's reservations), so 6 is not on A's chain.
  ReservationMade linked = Made(MakeReservation(7, kA, kT0 - seconds(100), seconds(60)));
  linked.previous_id = 5;
  core::Reservation off_chain = MakeReservation(6, kA, kT0 - seconds(200), seconds(60));
  off_chain.destination = Phone(2'125'559'876);
  this->MustAppend(
      {Made(MakeReservation(5, kA, kT0 - seconds(300), seconds(60))), Made(off_chain), linked});
  LookupData a = LookupSync(this->journal(), kA, 2'125'559'876);
  ASSERT_TRUE(a.last.has_value());
  EXPECT_EQ(a.last->reservation.id, 7u);
  EXPECT_FALSE(a.called.has_value());  // 7, then 5: 6 skipped
  // A derived link (previous_id 0) continues from the newest: 8 → 7 → 5.
  core::Reservation newest = MakeReservation(8, kA, kT0, seconds(60));
  newest.destination = Phone(4'155'550'001);
  this->MustAppend({Made(newest)});
  LookupData chained = LookupSync(this->journal(), kA, 3'105'559'876, 3);
  ASSERT_TRUE(chained.called.has_value());
  EXPECT_EQ(chained.called->reservation.id, 7u);

  // A deleted number's calls are still found (a callback to a retired number), through the link
  // its delete left (retired_numbers); added back, it is found through that link, and its first
  // new call links back to it: the calls before the delete stay within the walk's reach.
  const auto expect_calls_before_the_delete = [&](bool deleted) {
    LookupData data = LookupSync(this->journal(), kA, 3'105'559'876, 3);
    EXPECT_TRUE(data.known);
    EXPECT_EQ(data.deleted, deleted);
    ASSERT_TRUE(data.last.has_value());
    EXPECT_EQ(data.last->reservation.id, 8u);
    ASSERT_TRUE(data.called.has_value());
    EXPECT_EQ(data.called->reservation.id, 7u);
  };
  this->MustAppend({NumberDeleted{Phone(kA)}});
  expect_calls_before_the_delete(/*deleted=*/true);
  this->MustAppend({Upsert(Spec(kA))});
  expect_calls_before_the_delete(/*deleted=*/false);
  core::Reservation fresh = MakeReservation(9, kA, kT0 + seconds(1), seconds(60));
  fresh.destination = Phone(7'025'550'000);
  this->MustAppend({Made(fresh)});
  LookupData used = LookupSync(this->journal(), kA, 3'105'559'876, 3);
  ASSERT_TRUE(used.last.has_value());
  EXPECT_EQ(used.last->reservation.id, 9u);
  ASSERT_TRUE(used.called.has_value());  // 9 -> 8 -> 7
  EXPECT_EQ(used.called->reservation.id, 7u);
  // A number never used and deleted left no link: unknown, as one never added.
  this->MustAppend({Upsert(Spec(2'125'550'150)), NumberDeleted{Phone(2'125'550'150)}});
  EXPECT_FALSE(LookupSync(this->journal(), 2'125'550'150, std::nullopt).known);
}

TYPED_TEST_P(JournalContractTest, LookupSearchesItsWindowAndKeepsTheLinksThroughUpserts) {
  using std::chrono::hours;
  constexpr std::uint64_t kA = 2'125'550'100;
  this->MustAppend({Upsert(Spec(kA))});
  core::Reservation recent = MakeReservation(2, kA, kT0 - hours(24), seconds(60));
  recent.destination = Phone(4'155'550'001);
  this->MustAppend({Made(MakeReservation(1, kA, kT0 - hours(24 * 40), seconds(60))), Made(recent)});
  // A change of the number (caps, pool, an import of its row) keeps its history linked.
  this->MustAppend({Upsert(Spec(kA, 7, 70))});

  LookupData found = LookupSync(this->journal(), kA, 3'105'559'876);
  ASSERT_TRUE(found.last.has_value());
  EXPECT_EQ(found.last->reservation.id, 2u);
  EXPECT_FALSE(found.called.has_value());  // 40 days ago: outside the default 30
  found = LookupSync(this->journal(), kA, 3'105'559'876, kLookupMaxDepth, hours(24 * 60));
  ASSERT_TRUE(found.called.has_value());
  EXPECT_EQ(found.called->reservation.id, 1u);
  // The window applies to the newest too: nothing of the last hour called 415-555-0001.
  EXPECT_FALSE(
      LookupSync(this->journal(), kA, 4'155'550'001, kLookupMaxDepth, hours(1)).called.has_value());
  EXPECT_TRUE(LookupSync(this->journal(), kA, 4'155'550'001).called.has_value());
}

REGISTER_TYPED_TEST_SUITE_P(
    JournalContractTest, EmptyJournalLoadsNothing,
    CampaignPoolsAreSetReplacedAndUnmappedInAppendOrder, PoolSettingsAreKeptAndReplaced,
    NumbersRoundTripInCallerIdOrderWithDefaultCapsAsZero,
    AnUpsertKeepsTheWarmUpStartAndRestItIsGiven, UpsertReplacesANumberAndDeleteRemovesIt,
    ADeletedNumbersUsageIsKeptUntilItsTime, ReservationIsLoadedLiveWithTheNumbersNewUsage,
    ReleasedExpiredAndOrphanedReservationsAreNotLive,
    ReleaseAppendedRightAfterTheAllocationLandsReleased, SecondReleaseKeepsTheFirstOutcome,
    ReleaseWithoutOutcomeOrDurationReadsBackEmpty,
    ALateOutcomeIsRecordedOnlyOnAReservationEndedByThen, ListReservationsNewestFirstLiveOnlyOrAll,
    LiveReservationsComeLatestEndingFirst, ListLogsPagesNewestFirst,
    ListQueriesRefuseALimitOutside1To1000, ConcurrentAppendersEachCompleteExactlyOnce,
    EmptyAppendCompletes, RepeatedReservationIdFailsItsAppendAndChangesNothing,
    PruneHistoryDeletesOnlyOlderRowsAndKeepsTheHighestId,
    PruneHistoryGoesOnWhenTheNewestReservationEndedFirst,
    LoadsTheAllocationsOfLeadsInTheWindowOldestFirst,
    LoadsTheAllocationsNamingAnAgentInTheWindowOldestFirst,
    LoadReportsEachNumbersNewestReservationToASinkThatAsks,
    CoverageSumsActiveCapsAndCountsCallsByAreaCodeAndQuarterHour,
    CoverageGroupsTheActiveNumbersWarmingOrRestedSinceTheBound, LiveReservationsComeNewestFirst,
    ActivityCountsMinutesAndPairsWithinTheirWindows,
    AnswerStatsCountTheJudgedCallsOfEachNumberInCallerIdOrder,
    AnswerStatsCountFromTheWindowOrTheRestsEndWhicheverIsLater,
    AnswerStatsCountEachPoolsActiveAndRestingNumbersByName,
    LookupFindsTheNewestReservationAndTheOneThatCalledAParty,
    LookupFollowsTheGivenPreviousIdsAndEndsWithItsNumber,
    LookupSearchesItsWindowAndKeepsTheLinksThroughUpserts);

}  // namespace cidrotor::store::journal_test
