// The index against a reference model that scans every number on every call: 100,000 random
// operations (allocate, release, time passing across hours and days, admin changes), seeded from
// gtest's seed so `--gtest_random_seed=N` replays a failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/area_code_states.h"
#include "core/number_index.h"

namespace cidrotor::core {
namespace {

struct ModelNumber {
  std::uint64_t digits = 0;
  std::string pool;
  bool active = true;
  std::uint16_t hourly_cap = 0;
  std::uint16_t daily_cap = 0;
  CompactTime last_used = 0;
  std::uint16_t last_used_ms = 0;
  CompactTime hour_start = 0;
  CompactTime day_start = 0;
  std::uint16_t hourly_used = 0;
  std::uint16_t daily_used = 0;
  std::optional<std::uint64_t> reservation;
  TimePoint reserved_until;
};

// The obvious implementation of SPEC's allocation rules.
class Model {
 public:
  Model(const Calendar& calendar, IndexOptions options) : calendar_(calendar), options_(options) {}

  std::map<std::uint64_t, ModelNumber> numbers;
  // (pool, lead) -> the number last given to the lead, and when.
  std::map<std::pair<std::string, std::uint64_t>, std::pair<std::uint64_t, CompactTime>> leads;

  void Expire(TimePoint now) {
    for (auto& [digits, n] : numbers) {
      if (n.reservation && n.reserved_until <= now) n.reservation.reset();
    }
  }

  bool Available(const ModelNumber& n, TimePoint now) const {
    const Windows w = calendar_.WindowsAt(now);
    const auto hourly = n.hour_start == ToCompact(w.hour_start) ? n.hourly_used : 0;
    const auto daily = n.day_start == ToCompact(w.day_start) ? n.daily_used : 0;
    const auto hourly_cap = n.hourly_cap ? n.hourly_cap : options_.default_hourly_cap;
    const auto daily_cap = n.daily_cap ? n.daily_cap : options_.default_daily_cap;
    return n.active && !n.reservation && hourly < hourly_cap && daily < daily_cap;
  }

  // Returns (number, tier) or nullopt.
  std::optional<std::pair<std::uint64_t, MatchTier>> Allocate(PhoneNumber to,
                                                              const std::string& pool,
                                                              std::optional<std::uint64_t> lead,
                                                              TimePoint now, std::uint64_t id,
                                                              Seconds ttl) {
    Expire(now);
    auto pick = [&](auto matches) -> ModelNumber* {
      ModelNumber* best = nullptr;
      for (auto& [digits, n] : numbers) {
        if (n.pool != pool || !Available(n, now) || !matches(n)) continue;
        if (!best || LruKey{n.last_used, n.last_used_ms, n.digits} <
                         LruKey{best->last_used, best->last_used_ms, best->digits}) {
          best = &n;
        }
      }
      return best;
    };
    ModelNumber* chosen = nullptr;
    MatchTier tier = MatchTier::kAny;
    if (lead && options_.sticky.count() > 0) {
      auto it = leads.find({pool, *lead});
      if (it != leads.end() && FromCompact(it->second.second) + options_.sticky > now) {
        auto number = numbers.find(it->second.first);
        if (number != numbers.end() && number->second.pool == pool &&
            Available(number->second, now)) {
          chosen = &number->second;
          tier = MatchTier::kSticky;
        }
      }
    }
    if (!chosen && to.IsGeographic()) {
      if ((chosen =
               pick([&](const ModelNumber& n) { return n.digits / 10'000 == to.exchange(); }))) {
        tier = MatchTier::kExchange;
      } else if ((chosen = pick([&](const ModelNumber& n) {
                    return n.digits / 10'000'000 == to.area_code();
                  }))) {
        tier = MatchTier::kAreaCode;
      } else if ((chosen = pick([&](const ModelNumber& n) {
                    const auto state = StateOfAreaCode(to.area_code());
                    return !state.empty() &&
                           StateOfAreaCode(static_cast<std::uint32_t>(n.digits / 10'000'000)) ==
                               state;
                  }))) {
        tier = MatchTier::kState;
      }
    }
    if (!chosen) chosen = pick([](const ModelNumber&) { return true; });
    if (!chosen) return std::nullopt;
    const Windows w = calendar_.WindowsAt(now);
    if (chosen->hour_start != ToCompact(w.hour_start)) chosen->hourly_used = 0;
    if (chosen->day_start != ToCompact(w.day_start)) chosen->daily_used = 0;
    chosen->hour_start = ToCompact(w.hour_start);
    chosen->day_start = ToCompact(w.day_start);
    ++chosen->hourly_used;
    ++chosen->daily_used;
    chosen->last_used = ToCompact(now);
    chosen->last_used_ms = MillisecondOf(now);
    if (lead && options_.sticky.count() > 0)
      leads[{pool, *lead}] = {chosen->digits, ToCompact(now)};
    chosen->reservation = id;
    const TimePoint end = now + ttl;
    const CompactTime end_floor = ToCompact(end);
    chosen->reserved_until = FromCompact(FromCompact(end_floor) < end ? end_floor + 1 : end_floor);
    return std::make_pair(chosen->digits, tier);
  }

  bool Release(std::uint64_t id, TimePoint now) {
    Expire(now);
    for (auto& [digits, n] : numbers) {
      if (n.reservation == id) {
        n.reservation.reset();
        return true;
      }
    }
    return false;
  }

 private:
  const Calendar& calendar_;
  IndexOptions options_;
};

TEST(NumberIndexModelTest, MatchesReferenceModelOver100kOperations) {
  const unsigned seed = static_cast<unsigned>(::testing::UnitTest::GetInstance()->random_seed());
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("replay with --gtest_random_seed=" + std::to_string(seed));
  FixedOffsetCalendar calendar(std::chrono::minutes(-300));
  const IndexOptions options{4, 12, Seconds(90), Seconds(7200)};  // leads sticky for 2 hours
  NumberIndex index(calendar, options);
  Model model(calendar, options);
  TimePoint now = TimePoint(Seconds(1'795'615'200));
  std::uint64_t next_id = 1;
  std::vector<std::uint64_t> issued;
  std::array<int, 5> matches{};  // allocations per MatchTier: every tier of the ladder is exercised

  // 212 and 646 are New York's, 310 and 415 California's: the state tier between area code and any.
  const std::vector<std::uint32_t> exchanges = {212555, 212556, 646555, 310555,
                                                310777, 415555, 800555};
  const std::vector<std::string> pools = {"default", "default", "default", "sales"};
  auto random_number = [&] {
    return std::uint64_t{exchanges[rng() % exchanges.size()]} * 10'000 + rng() % 12;
  };

  for (int step = 0; step < 100'000; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const unsigned op = static_cast<unsigned>(rng() % 100);
    if (op < 8) {  // add or replace a number
      NumberSpec spec;
      spec.caller_id = PhoneNumber::FromValidDigits(random_number());
      spec.pool = pools[rng() % pools.size()];
      spec.hourly_cap = static_cast<std::uint16_t>(rng() % 4);  // 0 = default
      spec.daily_cap = static_cast<std::uint16_t>(rng() % 3 == 0 ? 0 : 2 + rng() % 10);
      spec.active = rng() % 10 != 0;
      auto& m = model.numbers[spec.caller_id.digits()];
      NumberUsage usage{m.last_used, m.hour_start,  m.day_start, m.hourly_used, m.daily_used, 0,
                        0,           m.last_used_ms};
      ASSERT_TRUE(index.Put(spec, usage, now).has_value());
      m.digits = spec.caller_id.digits();
      m.pool = spec.pool;
      m.active = spec.active;
      m.hourly_cap = spec.hourly_cap;
      m.daily_cap = spec.daily_cap;
    } else if (op < 10 && !model.numbers.empty()) {  // remove a number
      auto it = model.numbers.begin();
      std::advance(it, static_cast<long>(rng() % model.numbers.size()));
      ASSERT_TRUE(index.Remove(PhoneNumber::FromValidDigits(it->first), now).has_value());
      model.numbers.erase(it);
    } else if (op < 60) {  // allocate
      const PhoneNumber to = PhoneNumber::FromValidDigits(random_number() + 5000);
      const std::string pool = rng() % 5 == 0 ? "sales" : "default";
      AllocationRequest request;
      request.destination = to;
      request.pool = pool;
      if (rng() % 2 == 0) request.lead_id = 1 + rng() % 30;
      const std::uint64_t id = next_id++;
      auto got = index.Allocate(request, now, id);
      auto expected = model.Allocate(to, pool, request.lead_id, now, id, options.default_ttl);
      ASSERT_EQ(got.has_value(), expected.has_value())
          << (got ? "index allocated " + got->reservation.caller_id.ToString()
                  : "index failed: " + got.error().ToString());
      if (got) {
        ASSERT_EQ(got->reservation.caller_id.digits(), expected->first);
        ASSERT_EQ(got->reservation.match, expected->second);
        ASSERT_EQ(got->reservation.reserved_until, model.numbers[expected->first].reserved_until);
        issued.push_back(id);
        ++matches[static_cast<std::size_t>(got->reservation.match)];
      } else {
        ASSERT_EQ(got.error().code(), ErrorCode::kNoCallerIdAvailable);
      }
    } else if (op < 80 && !issued.empty()) {  // release one of the issued reservations
      const std::uint64_t id = issued[rng() % issued.size()];
      ReleaseRequest request;
      request.reservation_id = id;
      auto got = index.Release(request, now);
      ASSERT_TRUE(got.has_value());
      ASSERT_EQ(got->released, model.Release(id, now)) << "reservation " << id;
    } else {  // time passes: mostly seconds, sometimes across hours and days
      const unsigned r = static_cast<unsigned>(rng() % 100);
      now += r < 80   ? Milliseconds(rng() % 30'000)
             : r < 97 ? Milliseconds(rng() % 3'600'000)
                      : Milliseconds(rng() % 90'000'000);
    }
    if (step % 1000 == 0) {  // full state comparison now and then
      model.Expire(now);
      for (const auto& [digits, m] : model.numbers) {
        auto view = index.Find(PhoneNumber::FromValidDigits(digits), now);
        ASSERT_TRUE(view.has_value());
        ASSERT_EQ(view->reserved, m.reservation.has_value()) << digits;
        ASSERT_EQ(view->available, model.Available(m, now)) << digits;
        ASSERT_EQ(view->usage.last_used, m.last_used) << digits;
        ASSERT_EQ(view->usage.last_used_ms, m.last_used_ms) << digits;
      }
      ASSERT_EQ(index.size(), model.numbers.size());
    }
  }
  for (MatchTier tier : {MatchTier::kSticky, MatchTier::kExchange, MatchTier::kAreaCode,
                         MatchTier::kState, MatchTier::kAny}) {
    EXPECT_GT(matches[static_cast<std::size_t>(tier)], 100) << MatchTierName(tier);
  }
}

}  // namespace
}  // namespace cidrotor::core
