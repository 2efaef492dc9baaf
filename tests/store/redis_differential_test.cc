// The Redis store against the embedded one, over a seeded random walk of allocations (two pools,
// agents with a per-minute limit), releases, admin changes (caps, deactivation, moves between
// pools, rests set and ended, imports with last_used), time (hours and days included, and steps
// within a second, which the order keeps to the millisecond) and Redis
// losing its data (the rebuild from the journal), with new numbers warming up on odd seeds
// (WARMUP_DAYS 3: their daily cap ramps 3, 5, 7, then 9): both must pick the same numbers in the
// same tiers, refuse the same requests, count the same availability (capped and resting numbers
// included) and report the same numbers (usage, warm-up, rest, caps). The
// embedded store is itself checked against a reference model (core/number_index_model_test.cc);
// this catches what the contract suite's hand-made cases may not, in the Lua scripts' order
// keeping.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store_contract_test.h"

namespace cidrotor::store::contract {
namespace {

using testing::Await;
using testing::IsOk;

// Pool numbers: 3 area codes x 2 exchanges x 3 lines, and two toll-free numbers.
std::vector<std::string> Universe() {
  std::vector<std::string> numbers;
  for (const char* exchange : {"212555", "212444", "310555", "310444", "415555", "415444"}) {
    for (const char* line : {"0001", "0002", "0003"}) numbers.push_back(std::string(exchange) + line);
  }
  numbers.push_back("8005550001");
  numbers.push_back("8885550002");
  return numbers;
}

// Destinations: same exchange, same area code only, an area code without numbers, toll-free.
const std::vector<std::string> kDestinations = {"2125559999", "2124449999", "2127779999",
                                                "3105559999", "4154449999", "6465559999",
                                                "8005551234"};

class Walk {
 public:
  explicit Walk(std::uint32_t seed)
      : random_(seed),
        warmup_days_(static_cast<std::uint16_t>(seed % 2 == 1 ? 3 : 0)),
        probation_(seed % 3 != 0 ? std::chrono::hours(30) : std::chrono::hours(0)) {}

  void Open() {
    reference_ = OpenOne(Backend::kEmbedded);
    redis_ = OpenOne(Backend::kRedis);
    ASSERT_THAT(MapCampaignOf(*reference_, "b"), IsOk());
    ASSERT_THAT(MapCampaignOf(*redis_, "b"), IsOk());
  }

  // One random step; `step` names it in failure messages.
  void Step(int step) {
    const int dice = Pick(100);
    if (dice < 40) return Allocate(step);
    if (dice < 60) return ReleaseById(step);
    if (dice < 64) return ReleaseByNumber(step);
    if (dice < 78) return AdvanceClock();
    if (dice < 86) return Update(step);
    if (dice < 90) return AddOrDelete(step);
    if (dice < 92) return Import(step);
    if (dice < 95) return Tick();
    if (dice < 99) return CompareStats(step);
    if (Pick(4) == 0) return LoseRedisData(step);
  }

  void CompareStats(int step) {
    auto expected = Stats(*reference_);
    auto actual = Stats(*redis_);
    ASSERT_THAT(expected, IsOk());
    ASSERT_THAT(actual, IsOk());
    EXPECT_EQ(actual->total_numbers, expected->total_numbers) << "step " << step;
    EXPECT_EQ(actual->active_numbers, expected->active_numbers) << "step " << step;
    EXPECT_EQ(actual->reserved_numbers, expected->reserved_numbers) << "step " << step;
    EXPECT_EQ(actual->available_numbers, expected->available_numbers) << "step " << step;
    EXPECT_EQ(actual->capped_numbers, expected->capped_numbers) << "step " << step;
    EXPECT_EQ(actual->resting_numbers, expected->resting_numbers) << "step " << step;
    if (expected->resting_numbers != 0) ++resting_seen;
    EXPECT_EQ(AvailableByArea(*actual), AvailableByArea(*expected)) << "step " << step;
    CompareNumbers(step);
  }

  // Every number of the universe as both stores report it.
  void CompareNumbers(int step) {
    for (const std::string& number : universe_) {
      const auto caller_id = *core::PhoneNumber::ParsePoolNumber(number);
      auto expected =
          Await<core::NumberView>([&](auto done) { reference_->GetNumber(caller_id, done); });
      auto actual = Await<core::NumberView>([&](auto done) { redis_->GetNumber(caller_id, done); });
      ASSERT_EQ(actual.has_value(), expected.has_value()) << "step " << step << ": " << number;
      if (!expected) continue;
      ExpectSameView(*actual, *expected, step);
      if (expected->warmup_day != 0) ++warming_seen;
      if (expected->probation_until != 0) ++probation_seen;
    }
  }

  static void ExpectSameView(const core::NumberView& actual, const core::NumberView& expected,
                             int step) {
    const std::string at =
        "step " + std::to_string(step) + ": " + expected.spec.caller_id.ToString();
    EXPECT_EQ(actual.spec.pool, expected.spec.pool) << at;
    EXPECT_EQ(actual.usage.last_used, expected.usage.last_used) << at;
    EXPECT_EQ(actual.usage.last_used_ms, expected.usage.last_used_ms) << at;
    EXPECT_EQ(actual.usage.warm_from, expected.usage.warm_from) << at;
    EXPECT_EQ(actual.usage.rest_until, expected.usage.rest_until) << at;
    EXPECT_EQ(actual.resting, expected.resting) << at;
    EXPECT_EQ(actual.warmup_day, expected.warmup_day) << at;
    EXPECT_EQ(actual.probation_until, expected.probation_until) << at;
    EXPECT_EQ(actual.effective_daily_cap, expected.effective_daily_cap) << at;
    EXPECT_EQ(actual.daily_cap_today, expected.daily_cap_today) << at;
    EXPECT_EQ(actual.available, expected.available) << at;
    EXPECT_EQ(actual.reserved, expected.reserved) << at;
    EXPECT_EQ(actual.hourly_used_now, expected.hourly_used_now) << at;
    EXPECT_EQ(actual.daily_used_now, expected.daily_used_now) << at;
  }

  // The last steps, for a failure's message.
  std::string History() const {
    std::string text;
    for (const auto& line : history_) text += line + "\n";
    return text;
  }

  int allocations = 0;  // successful ones, to check that the walk did allocate
  int refusals = 0;
  int sticky = 0;  // allocations a lead got its own number back in
  int rate_limited = 0;
  int data_losses = 0;
  int warming_seen = 0;    // numbers CompareNumbers found warming up
  int probation_seen = 0;  // ... and on probation
  int resting_seen = 0;  // stats CompareStats found numbers resting in

 private:
  using Pair = std::pair<std::uint64_t, std::uint64_t>;  // reservation ids: embedded, Redis

  std::unique_ptr<Store> OpenOne(Backend backend) {
    StoreConfig config;
    config.index.default_hourly_cap = 4;
    config.index.default_daily_cap = 9;
    config.rate_limit_per_agent = 2;  // per minute: the walk's agents reach it
    config.index.sticky = std::chrono::hours(3);  // the walk's hours and days cross it
    config.index.warmup_days = warmup_days_;
    config.index.probation = probation_;  // after the walk's random rests
    config.index.probation_daily_cap = 2;
    auto opened = OpenStore(backend, clock_, calendar_, config,
                            std::make_unique<MemoryJournal>(MemoryJournal::Completion::kInline),
                            SharedRedis().port());
    EXPECT_THAT(opened, IsOk());
    return opened ? std::move(*opened) : nullptr;
  }

  void Note(std::string line) {
    history_.push_back(std::move(line));
    if (history_.size() > 40) history_.pop_front();
  }

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }
  const std::string& Number() { return universe_[Pick(static_cast<int>(universe_.size()))]; }

  void Allocate(int step) {
    // The default pool, or pool b; agents with a limit in the default pool only (the cluster
    // store keeps an agent's window per pool, the embedded one across pools).
    const bool in_b = Pick(4) == 0;
    const int agent = in_b ? 0 : Pick(4);
    auto request = To(kDestinations[Pick(static_cast<int>(kDestinations.size()))],
                      agent == 0 ? "auto" : "agent" + std::to_string(agent), in_b ? "b" : "");
    if (Pick(3) != 0) request.lead_id = 1 + Pick(8);  // a few leads, called again and again
    auto expected = Await<core::Allocation>([&](auto done) { reference_->Allocate(request, done); });
    auto actual = Await<core::Allocation>([&](auto done) { redis_->Allocate(request, done); });
    Note(std::to_string(step) + " allocate to " + request.destination.ToString() + " in " +
         request.campaign + " by " + request.agent + ": " +
         (expected ? expected->reservation.caller_id.ToString() + " id " +
                         std::to_string(expected->reservation.id)
                   : "refused"));
    ASSERT_EQ(actual.has_value(), expected.has_value())
        << "step " << step << ": to " << request.destination.ToString();
    if (!expected) {
      EXPECT_EQ(actual.error().code(), expected.error().code()) << "step " << step;
      ++refusals;
      if (expected.error().code() == core::ErrorCode::kRateLimited) ++rate_limited;
      return;
    }
    const auto& want = expected->reservation;
    const auto& got = actual->reservation;
    EXPECT_EQ(got.caller_id.ToString(), want.caller_id.ToString())
        << "step " << step << ": to " << request.destination.ToString();
    EXPECT_EQ(got.match, want.match) << "step " << step;
    if (want.match == core::MatchTier::kSticky) ++sticky;
    live_.push_back({want.id, got.id});
    ++allocations;
  }

  void ReleaseById(int step) {
    if (live_.empty()) return;
    const std::size_t at = static_cast<std::size_t>(Pick(static_cast<int>(live_.size())));
    const Pair ids = live_[at];
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(at));
    core::ReleaseRequest request;
    request.reservation_id = ids.first;
    auto expected = Release(*reference_, request);
    request.reservation_id = ids.second;
    auto actual = Release(*redis_, request);
    ASSERT_THAT(expected, IsOk());
    ASSERT_THAT(actual, IsOk());
    Note(std::to_string(step) + " release id " + std::to_string(ids.first) + ": " +
         (expected->released ? "released" : "not released"));
    EXPECT_EQ(actual->released, expected->released) << "step " << step;
  }

  void ReleaseByNumber(int step) {
    core::ReleaseRequest request;
    request.caller_id = *core::PhoneNumber::ParsePoolNumber(Number());
    auto expected = Release(*reference_, request);
    auto actual = Release(*redis_, request);
    Note(std::to_string(step) + " release number " + request.caller_id->ToString() + ": " +
         (!expected ? "error" : expected->released ? "released" : "not released"));
    ASSERT_EQ(actual.has_value(), expected.has_value()) << "step " << step;
    if (expected) {
      EXPECT_EQ(actual->released, expected->released) << "step " << step;
    }
  }

  void AdvanceClock() {
    const int dice = Pick(20);
    if (dice >= 16) {
      // Within a second: numbers used in one second must rotate in the order they were used,
      // by the millisecond, in both stores.
      const int ms = 1 + Pick(400);
      clock_.Advance(core::Milliseconds(ms));
      Note("advance " + std::to_string(ms) + " ms");
      return;
    }
    std::int64_t seconds = 1 + Pick(120);  // within a reservation's 300 s
    if (dice == 0) {
      seconds = 3600;  // the next hour
    } else if (dice == 1) {
      seconds = 86'400;  // the next day
    } else if (dice < 6) {
      seconds = 200 + Pick(200);  // around the TTL
    }
    clock_.Advance(core::Seconds(seconds));
    Note("advance " + std::to_string(seconds) + " s");
  }

  void Update(int step) {
    core::NumberPatch patch;
    const int dice = Pick(5);
    if (dice == 0) {
      patch.active = Pick(3) != 0;
    } else if (dice == 1) {
      patch.hourly_cap = static_cast<std::uint16_t>(Pick(4));
    } else if (dice == 2) {
      patch.daily_cap = static_cast<std::uint16_t>(Pick(6));
    } else if (dice == 3) {
      patch.pool = Pick(2) == 0 ? "b" : "default";  // a move ends a live reservation
    } else {
      // A rest: ended now (0), already past, or ahead by minutes to a few hours (so it crosses
      // hours, caps and the walk's other changes).
      const int kind = Pick(6);
      const core::CompactTime now = core::ToCompact(clock_.Now());
      patch.rest_until = kind == 0   ? 0
                         : kind == 1 ? now - static_cast<core::CompactTime>(Pick(600))
                                     : now + 1 + static_cast<core::CompactTime>(Pick(4 * 3600));
    }
    const auto caller_id = *core::PhoneNumber::ParsePoolNumber(Number());
    auto expected = Await<core::NumberView>(
        [&](auto done) { reference_->UpdateNumber(caller_id, patch, done); });
    auto actual =
        Await<core::NumberView>([&](auto done) { redis_->UpdateNumber(caller_id, patch, done); });
    Note(std::to_string(step) + " update " + caller_id.ToString() + " active " +
         (patch.active ? std::to_string(*patch.active) : "-") + " hourly " +
         (patch.hourly_cap ? std::to_string(*patch.hourly_cap) : "-") + " daily " +
         (patch.daily_cap ? std::to_string(*patch.daily_cap) : "-") + " pool " +
         patch.pool.value_or("-") + " rest " +
         (patch.rest_until ? std::to_string(*patch.rest_until) : "-") +
         (expected ? "" : ": error"));
    ASSERT_EQ(actual.has_value(), expected.has_value()) << "step " << step;
    if (!expected) return;
    ExpectSameView(*actual, *expected, step);
  }

  void AddOrDelete(int step) {
    const std::string& number = Number();
    auto added = Await<core::NumberView>(
        [&](auto done) { reference_->AddNumber(Spec(number, static_cast<std::uint16_t>(Pick(2) * 2), 0), done); });
    if (added) {
      auto twin = Await<core::NumberView>(
          [&](auto done) { redis_->AddNumber(Spec(number, added->spec.hourly_cap, 0), done); });
      Note(std::to_string(step) + " add " + number);
      ASSERT_THAT(twin, IsOk()) << "step " << step;
      return;
    }
    const auto caller_id = *core::PhoneNumber::ParsePoolNumber(number);
    auto expected = Await<void>([&](auto done) { reference_->DeleteNumber(caller_id, done); });
    auto actual = Await<void>([&](auto done) { redis_->DeleteNumber(caller_id, done); });
    Note(std::to_string(step) + " delete " + number + (expected ? "" : ": error"));
    ASSERT_EQ(actual.has_value(), expected.has_value()) << "step " << step;
  }

  // A few numbers at once, new or not, sometimes with a last use to restore.
  void Import(int step) {
    std::vector<ImportItem> items;
    std::set<std::string> chosen;
    for (int n = 1 + Pick(4); n > 0; --n) chosen.insert(Number());
    for (const std::string& number : chosen) {
      ImportItem item;
      item.spec = Spec(number, static_cast<std::uint16_t>(Pick(3)), 0);
      if (Pick(2) == 0) {
        // Mostly the past; sometimes ahead of the clock (a CSV from a skewed machine).
        item.last_used = core::ToCompact(clock_.Now()) + static_cast<core::CompactTime>(Pick(60)) -
                         static_cast<core::CompactTime>(Pick(600));
      }
      items.push_back(std::move(item));
    }
    const OnDuplicate mode = Pick(2) == 0 ? OnDuplicate::kUpdate : OnDuplicate::kSkip;
    auto expected = Await<ImportResult>(
        [&](Callback<ImportResult> done) { reference_->ImportNumbers(items, mode, done); });
    auto actual = Await<ImportResult>(
        [&](Callback<ImportResult> done) { redis_->ImportNumbers(items, mode, done); });
    std::string listed;
    for (const ImportItem& item : items) {
      listed += " " + item.spec.caller_id.ToString() +
                (item.last_used ? "@" + std::to_string(*item.last_used) : "");
    }
    Note(std::to_string(step) + " import" + listed + ", " +
         (mode == OnDuplicate::kUpdate ? "update" : "skip"));
    ASSERT_THAT(expected, IsOk());
    ASSERT_THAT(actual, IsOk());
    EXPECT_EQ(actual->imported, expected->imported) << "step " << step;
    EXPECT_EQ(actual->updated, expected->updated) << "step " << step;
    EXPECT_EQ(actual->skipped, expected->skipped) << "step " << step;
  }

  // Redis restarted empty: the Redis store rebuilds itself from its journal (answering
  // kUnavailable meanwhile) and must then go on exactly like the embedded store. Agents' windows
  // are not journaled (soft state: a data loss gives every agent a fresh minute), so the walk
  // lets a minute pass first.
  void LoseRedisData(int step) {
    Note(std::to_string(step) + " redis loses its data; a minute passes");
    ++data_losses;
    clock_.Advance(core::Seconds(61));
    ASSERT_EQ(SharedRedis().Command({"FLUSHALL"}), "+OK\r\n");
    for (int attempt = 0; attempt < 500; ++attempt) {
      auto stats = Stats(*redis_);
      if (stats || stats.error().code() != core::ErrorCode::kUnavailable) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CompareStats(step);
  }

  void Tick() {
    Note("tick");
    reference_->Tick();
    redis_->Tick();
  }

  static core::Result<core::ReleaseResult> Release(Store& store, core::ReleaseRequest request) {
    return Await<core::ReleaseResult>([&](auto done) { store.Release(request, done); });
  }
  static core::Result<StoreStats> Stats(Store& store) {
    return Await<StoreStats>([&](auto done) { store.GetStats(done); });
  }
  static std::map<std::uint32_t, std::uint32_t> AvailableByArea(const StoreStats& stats) {
    std::map<std::uint32_t, std::uint32_t> available;
    for (const auto& area : stats.area_codes) available[area.area_code] = area.available;
    return available;
  }

  std::mt19937 random_;
  std::uint16_t warmup_days_;
  std::chrono::hours probation_;
  ::cidrotor::testing::ManualClock clock_{kStart};
  core::FixedOffsetCalendar calendar_;
  std::vector<std::string> universe_ = Universe();
  std::unique_ptr<Store> reference_;
  std::unique_ptr<Store> redis_;
  std::vector<Pair> live_;
  std::deque<std::string> history_;
};

TEST(RedisStoreDifferentialTest, RandomWalkMatchesTheEmbeddedStore) {
  ASSERT_TRUE(SharedRedis().running()) << SharedRedis().error();
  for (std::uint32_t seed : {1u, 2u, 3u}) {  // 40 seeds passed when it was written
    SCOPED_TRACE("seed " + std::to_string(seed));
    ASSERT_EQ(SharedRedis().Command({"FLUSHALL"}), "+OK\r\n");
    Walk walk(seed);
    ASSERT_NO_FATAL_FAILURE(walk.Open());
    for (int step = 0; step < 4000 && !HasFailure(); ++step) walk.Step(step);
    walk.CompareStats(-1);
    ASSERT_FALSE(HasFailure()) << "the last steps:\n" << walk.History();
    EXPECT_GT(walk.allocations, 500);  // the walk did exercise the orders...
    EXPECT_GT(walk.refusals, 50);      // ...and ran them dry
    EXPECT_GT(walk.rate_limited, 0);
    EXPECT_GT(walk.sticky, 20);
    EXPECT_GT(walk.data_losses, 0);
    if (seed % 2 == 1) {
      EXPECT_GT(walk.warming_seen, 0);
    }
    EXPECT_GT(walk.resting_seen, 0);
    if (seed % 3 != 0) {
      EXPECT_GT(walk.probation_seen, 0);
    }
  }
}

}  // namespace
}  // namespace cidrotor::store::contract
