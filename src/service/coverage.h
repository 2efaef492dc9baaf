// The coverage report (SPEC; GET /api/coverage): per area code, the calls made to it in the last
// 24 hours and 7 days, its numbers, and how many more numbers it needs so that every number stays
// under its caps.
//
// What "needs" means here: cidrotor spreads an area code's calls over its numbers (least recently
// used first), so it can take, at most, the sum of its active numbers' hourly caps in an hour and
// of their daily caps in a day. The report sizes each area code for its busiest hour and its
// busiest 24 hours of the last 7 days, at the average caps of its numbers (the configured
// defaults when it has none). Calls another area code's numbers served (the state and any tiers)
// are counted where they were made to: the report is about local presence. Toll-free and other
// non-geographic destinations are left out (only the `any` tier serves them).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace cidrotor::service {

inline constexpr int kCoverageDays = 7;

struct AreaCodeCoverage {
  std::uint32_t area_code = 0;
  std::string_view state;  // core::StateOfAreaCode; "" when the numbering plan places it nowhere
  std::uint64_t numbers = 0;
  std::uint64_t active = 0;
  std::uint64_t calls_24h = 0;
  std::uint64_t calls_7d = 0;
  std::uint64_t busiest_hour = 0;  // most calls in one clock hour (UTC) of the 7 days
  std::uint64_t busiest_day = 0;   // most calls in one of the 7 trailing 24-hour spans
  std::uint64_t hourly_capacity = 0;
  std::uint64_t daily_capacity = 0;
  std::uint64_t numbers_needed = 0;       // active numbers the busiest hour and day need
  std::uint64_t more_numbers_needed = 0;  // numbers_needed beyond `active`
};

// The query for the store: calls since the start of the clock hour 7 days before `now`'s.
store::CoverageQuery CoverageQueryAt(core::TimePoint now, std::uint16_t default_hourly_cap,
                                     std::uint16_t default_daily_cap);

// Every area code with numbers or with calls, those needing the most numbers first, then by calls
// in the 7 days, then by area code.
std::vector<AreaCodeCoverage> BuildCoverage(const store::CoverageData& data,
                                            const store::CoverageQuery& query, core::TimePoint now);

}  // namespace cidrotor::service
