#include "service/coverage.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>

#include "core/area_code_states.h"
#include "core/phone_number.h"

namespace cidrotor::service {
namespace {

using Hours = std::chrono::hours;

std::int64_t HourOf(core::TimePoint t) {
  return std::chrono::floor<Hours>(t.time_since_epoch()).count();
}

// ceil(demand / (capacity / numbers)): the numbers that take `demand` at the average cap. With
// no numbers, at `default_cap`.
std::uint64_t NumbersFor(std::uint64_t demand, std::uint64_t capacity, std::uint64_t numbers,
                         std::uint64_t default_cap) {
  if (demand == 0) return 0;
  if (numbers == 0 || capacity == 0)
    return (demand + default_cap - 1) / std::max<std::uint64_t>(default_cap, 1);
  return (demand * numbers + capacity - 1) / capacity;
}

}  // namespace

store::CoverageQuery CoverageQueryAt(core::TimePoint now, std::uint16_t default_hourly_cap,
                                     std::uint16_t default_daily_cap) {
  store::CoverageQuery query;
  query.since = core::TimePoint(Hours(HourOf(now) - (24 * kCoverageDays - 1)));
  query.default_hourly_cap = default_hourly_cap;
  query.default_daily_cap = default_daily_cap;
  return query;
}

std::vector<AreaCodeCoverage> BuildCoverage(const store::CoverageData& data,
                                            const store::CoverageQuery& query,
                                            core::TimePoint now) {
  std::map<std::uint32_t, AreaCodeCoverage> by_area;
  for (const store::AreaCodeCapacity& c : data.capacity) {
    AreaCodeCoverage& a = by_area[c.area_code];
    a.numbers += c.numbers;
    a.active += c.active;
    a.hourly_capacity += c.hourly_capacity;
    a.daily_capacity += c.daily_capacity;
  }
  // Per area code, the calls of each of the 7 trailing 24-hour spans: span 0 ends with the
  // current hour.
  const std::int64_t current = HourOf(now);
  std::map<std::uint32_t, std::array<std::uint64_t, kCoverageDays>> days;
  for (const store::AreaCodeHourCalls& c : data.calls) {
    if (!core::PhoneNumber::IsGeographicAreaCode(c.area_code)) continue;
    const std::int64_t age = current - c.hour;  // in hours
    if (age < 0 || age >= 24 * kCoverageDays) continue;
    AreaCodeCoverage& a = by_area[c.area_code];
    a.calls_7d += c.calls;
    a.busiest_hour = std::max(a.busiest_hour, c.calls);
    days[c.area_code][static_cast<std::size_t>(age / 24)] += c.calls;
  }
  std::vector<AreaCodeCoverage> report;
  report.reserve(by_area.size());
  for (auto& [npa, a] : by_area) {
    a.area_code = npa;
    a.state = core::StateOfAreaCode(npa);
    if (auto it = days.find(npa); it != days.end()) {
      a.calls_24h = it->second[0];
      a.busiest_day = *std::max_element(it->second.begin(), it->second.end());
    }
    a.numbers_needed =
        std::max(NumbersFor(a.busiest_hour, a.hourly_capacity, a.active, query.default_hourly_cap),
                 NumbersFor(a.busiest_day, a.daily_capacity, a.active, query.default_daily_cap));
    a.more_numbers_needed = a.numbers_needed > a.active ? a.numbers_needed - a.active : 0;
    report.push_back(a);
  }
  std::sort(report.begin(), report.end(), [](const AreaCodeCoverage& x, const AreaCodeCoverage& y) {
    if (x.more_numbers_needed != y.more_numbers_needed) {
      return x.more_numbers_needed > y.more_numbers_needed;
    }
    if (x.calls_7d != y.calls_7d) return x.calls_7d > y.calls_7d;
    return x.area_code < y.area_code;
  });
  return report;
}

}  // namespace cidrotor::service
