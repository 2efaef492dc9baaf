#include "service/coverage.h"

#include <algorithm>
#include <map>
#include <utility>

#include "core/area_code_states.h"
#include "core/phone_number.h"

namespace cidrotor::service {
namespace {

using Quarters = std::chrono::duration<std::int64_t, std::ratio<900>>;

// ceil(demand / (capacity / numbers)): the numbers that take `demand` at their average cap. With
// no numbers, at `default_cap`.
std::uint64_t NumbersFor(std::uint64_t demand, std::uint64_t capacity, std::uint64_t numbers,
                         std::uint64_t default_cap) {
  if (demand == 0) return 0;
  if (numbers == 0 || capacity == 0) {
    const std::uint64_t cap = std::max<std::uint64_t>(default_cap, 1);
    return (demand + cap - 1) / cap;
  }
  return (demand * numbers + capacity - 1) / capacity;
}

// The local hour and day a quarter hour is in, looked up once per quarter (the area codes share
// them).
class LocalWindows {
 public:
  explicit LocalWindows(const core::Calendar& calendar) : calendar_(calendar) {}
  const core::Windows& Of(std::int64_t quarter) {
    auto it = cache_.find(quarter);
    if (it == cache_.end()) {
      it = cache_.emplace(quarter, calendar_.WindowsAt(core::TimePoint(Quarters(quarter)))).first;
    }
    return it->second;
  }

 private:
  const core::Calendar& calendar_;
  std::map<std::int64_t, core::Windows> cache_;
};

struct Tally {
  std::map<core::TimePoint, std::uint64_t> hours;  // by local hour start
  std::map<core::TimePoint, std::uint64_t> days;   // by local day start
};

template <class Map>
std::uint64_t Largest(const Map& counts) {
  std::uint64_t largest = 0;
  for (const auto& [key, count] : counts) largest = std::max(largest, count);
  return largest;
}

}  // namespace

store::CoverageQuery CoverageQueryAt(core::TimePoint now, const CoverageRules& rules) {
  const core::TimePoint today = rules.calendar.WindowsAt(now).day_start;
  core::TimePoint since = today;
  for (int day = 1; day < kCoverageDays; ++day) {
    since = rules.calendar.WindowsAt(since - std::chrono::seconds(1)).day_start;  // 23-25 h back
  }
  store::CoverageQuery query;
  query.since = since;
  query.default_hourly_cap = rules.caps.default_hourly_cap;
  query.default_daily_cap = rules.caps.default_daily_cap;
  // A day more than either rule looks back, so DST days and rounding never leave one out: which
  // of these numbers are held down today is core's to say (ReduceToToday).
  constexpr core::Seconds kDay{86'400};
  const core::TimePoint recent =
      today -
      std::max<core::Seconds>((rules.caps.warmup_days + 1) * kDay, rules.caps.probation + kDay);
  query.recent_since = std::max<core::CompactTime>(core::ToCompact(recent), 1);
  return query;
}

namespace {

// Takes off an area code's capacity what its recently warming or rested numbers cannot take
// today: all of it while they rest, the rest of their daily caps while they warm up or are on
// probation.
void ReduceToToday(const store::RecentNumbers& group, const core::Windows& today,
                   core::TimePoint now, const core::IndexOptions& caps, AreaCodeCoverage& a) {
  core::NumberUsage usage;
  usage.warm_from = group.warm_from;
  usage.rest_until = group.rest_until;
  std::uint64_t hourly = group.hourly_cap;
  std::uint64_t daily = group.daily_cap;
  if (group.rest_until > core::ToCompact(now)) {
    hourly = daily = 0;
    a.resting += group.numbers;
  } else {
    daily = core::DailyCapOn(today, group.daily_cap, usage, caps);
    if (daily < group.daily_cap) a.ramping += group.numbers;
  }
  // The store's groups add up to no more than its sums; saturate all the same.
  const auto take = [](std::uint64_t& capacity, std::uint64_t less) {
    capacity = capacity > less ? capacity - less : 0;
  };
  take(a.hourly_capacity, (group.hourly_cap - hourly) * group.numbers);
  take(a.daily_capacity, (group.daily_cap - daily) * group.numbers);
}

// The numbers at the average full cap (`full` over `numbers`; `default_cap` with none) that
// `capacity` lacks for `demand`.
std::uint64_t ShortOf(std::uint64_t demand, std::uint64_t capacity, std::uint64_t full,
                      std::uint64_t numbers, std::uint64_t default_cap) {
  if (demand <= capacity) return 0;
  return NumbersFor(demand - capacity, full, numbers, default_cap);
}

}  // namespace

std::vector<AreaCodeCoverage> BuildCoverage(
    const store::CoverageData& data, const store::CoverageQuery& query, core::TimePoint now,
    const CoverageRules& rules, const std::vector<store::AreaCodeAvailability>& availability) {
  std::map<std::uint32_t, AreaCodeCoverage> by_area;
  for (const store::AreaCodeCapacity& c : data.capacity) {
    AreaCodeCoverage& a = by_area[c.area_code];
    a.numbers += c.numbers;
    a.active += c.active;
    a.hourly_capacity += c.hourly_capacity;
    a.daily_capacity += c.daily_capacity;
    a.full_hourly_capacity += c.hourly_capacity;
    a.full_daily_capacity += c.daily_capacity;
  }
  const core::Windows today = rules.calendar.WindowsAt(now);
  for (const store::RecentNumbers& group : data.recent) {
    if (auto it = by_area.find(group.area_code); it != by_area.end()) {
      ReduceToToday(group, today, now, rules.caps, it->second);
    }
  }
  for (const store::AreaCodeAvailability& live : availability) {
    if (auto it = by_area.find(live.area_code); it != by_area.end()) {
      it->second.available = live.available;
    }
  }
  LocalWindows windows(rules.calendar);
  std::map<std::uint32_t, Tally> tallies;
  const core::TimePoint day_ago = now - std::chrono::hours(24);
  for (const store::AreaCodeCalls& c : data.calls) {
    if (!core::PhoneNumber::IsGeographicAreaCode(c.area_code)) continue;
    const core::TimePoint at{Quarters(c.quarter)};
    if (at < query.since || at > now) continue;
    AreaCodeCoverage& a = by_area[c.area_code];
    a.calls_7d += c.calls;
    if (at >= day_ago) a.calls_24h += c.calls;
    const core::Windows& local = windows.Of(c.quarter);
    Tally& tally = tallies[c.area_code];
    tally.hours[local.hour_start] += c.calls;
    tally.days[local.day_start] += c.calls;
  }
  std::vector<AreaCodeCoverage> report;
  report.reserve(by_area.size());
  for (auto& [npa, a] : by_area) {
    a.area_code = npa;
    a.state = core::StateOfAreaCode(npa);
    if (auto it = tallies.find(npa); it != tallies.end()) {
      a.busiest_hour = Largest(it->second.hours);
      a.busiest_day = Largest(it->second.days);
    }
    a.saturated = a.active > 0 && ((a.busiest_hour > 0 && a.busiest_hour >= a.hourly_capacity) ||
                                   (a.busiest_day > 0 && a.busiest_day >= a.daily_capacity));
    a.numbers_needed = std::max(
        NumbersFor(a.busiest_hour, a.full_hourly_capacity, a.active, query.default_hourly_cap),
        NumbersFor(a.busiest_day, a.full_daily_capacity, a.active, query.default_daily_cap));
    a.more_numbers_needed =
        std::max(ShortOf(a.busiest_hour, a.hourly_capacity, a.full_hourly_capacity, a.active,
                         query.default_hourly_cap),
                 ShortOf(a.busiest_day, a.daily_capacity, a.full_daily_capacity, a.active,
                         query.default_daily_cap));
    report.push_back(a);
  }
  std::sort(report.begin(), report.end(), [](const AreaCodeCoverage& x, const AreaCodeCoverage& y) {
    if (x.more_numbers_needed != y.more_numbers_needed) {
      return x.more_numbers_needed > y.more_numbers_needed;
    }
    if (x.saturated != y.saturated) return x.saturated;
    if (x.calls_7d != y.calls_7d) return x.calls_7d > y.calls_7d;
    return x.area_code < y.area_code;
  });
  return report;
}

void CoverageCache::Get(core::TimePoint now, const Fetch& fetch, store::Callback<Report> done) {
  std::unique_lock lock(mu_);
  if (made_at_ && now >= *made_at_ && now - *made_at_ < kMaxAge) {
    Report report = report_;
    lock.unlock();
    done(std::move(report));
    return;
  }
  waiting_.push_back(std::move(done));
  if (fetching_) return;
  fetching_ = true;
  lock.unlock();
  fetch([this, now](core::Result<Report> made) {
    std::vector<store::Callback<Report>> waiting;
    {
      std::lock_guard made_lock(mu_);
      fetching_ = false;
      if (made) {
        made_at_ = now;
        report_ = *made;
      }
      waiting.swap(waiting_);
    }
    for (const auto& callback : waiting) callback(made);
  });
}

}  // namespace cidrotor::service
