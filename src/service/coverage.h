// The coverage report (SPEC; GET /api/coverage): per area code, the calls made to it in the last
// 24 hours and 7 days, its numbers, and how many more numbers it needs so that every number stays
// under its caps.
//
// What "needs" means here: cidrotor spreads an area code's calls over its numbers (least recently
// used first), so it can take at most the sum of its active numbers' hourly caps in a local hour
// and of their daily caps in a local day (TIMEZONE's, as the caps count). The report sizes each
// area code for its busiest local hour and local day of the last 7 days, at the average caps of
// its numbers (the configured defaults when it has none): `numbers_needed` once every number is
// at its full caps, and `more_numbers_needed` today, when a resting number takes nothing and one
// warming up or on probation takes only today's share of its daily cap (core::DailyCapOn), so
// that an area code whose numbers rest is told to add some now. Only calls made are counted: a
// request refused for want of a number made none, so an area code that served its whole capacity in
// an hour or a day is marked `saturated` (its real demand may be higher). Calls another area code's
// numbers served (the state and any tiers) count where they were made to: the report is about
// local presence. Toll-free and other non-geographic destinations are left out.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "core/calendar.h"
#include "core/clock.h"
#include "core/number_index.h"
#include "store/store.h"

namespace cidrotor::service {

inline constexpr int kCoverageDays = 7;

struct AreaCodeCoverage {
  std::uint32_t area_code = 0;
  std::string_view state;  // core::StateOfAreaCode; "" when the numbering plan places it nowhere
  std::uint64_t numbers = 0;
  std::uint64_t active = 0;
  std::uint64_t available = 0;     // eligible right now (the store's live count)
  std::uint64_t resting = 0;       // active and resting now: no capacity today
  std::uint64_t ramping = 0;       // active, warming up or on probation: part of a daily cap
  std::uint64_t calls_24h = 0;     // the last 24 hours
  std::uint64_t calls_7d = 0;      // today and the 6 local days before
  std::uint64_t busiest_hour = 0;  // most calls in one local hour of those days
  std::uint64_t busiest_day = 0;   // most calls in one local day of those days
  std::uint64_t hourly_capacity = 0;  // today's: the active numbers' caps that apply now, added up
  std::uint64_t daily_capacity = 0;
  std::uint64_t full_hourly_capacity = 0;  // the active numbers' full caps added up
  std::uint64_t full_daily_capacity = 0;
  bool saturated = false;            // the busiest hour or day took the whole capacity of today
  std::uint64_t numbers_needed = 0;  // active numbers the busiest hour and day need at full caps
  // Numbers (at the average full cap) to add so that today's capacity takes the busiest hour and
  // day: numbers_needed beyond `active` when every number is at its full caps.
  std::uint64_t more_numbers_needed = 0;
};

// The rules a number's caps follow (the defaults, warm-up and probation) and the calendar of their
// windows, TIMEZONE's.
struct CoverageRules {
  const core::Calendar& calendar;
  core::IndexOptions caps;
};

// The query for the store: calls since local midnight 6 days before `now`'s; the numbers whose
// warm-up or rest may still hold their caps down today.
store::CoverageQuery CoverageQueryAt(core::TimePoint now, const CoverageRules& rules);

// Every area code with numbers or with calls, those needing the most numbers first, then by calls
// in the 7 days, then by area code. `availability`: the store's live counts (GetStats).
std::vector<AreaCodeCoverage> BuildCoverage(
    const store::CoverageData& data, const store::CoverageQuery& query, core::TimePoint now,
    const CoverageRules& rules, const std::vector<store::AreaCodeAvailability>& availability);

// The last report, for a minute, and one report made at a time: it reads a week of calls (seconds
// at millions of calls a day), and every open dashboard asks for it every few seconds.
// Thread-safe.
class CoverageCache {
 public:
  using Report = std::vector<AreaCodeCoverage>;
  // Makes a report and hands it to its callback (on any thread).
  using Fetch = std::function<void(store::Callback<Report>)>;
  static constexpr std::chrono::seconds kMaxAge{60};

  // `done` gets the report made less than kMaxAge before `now` (at once, on this thread); else the
  // one the fetch under way makes; else `fetch` is started, and its result goes to every caller
  // that asked meanwhile (a failure too: kept for nobody after).
  void Get(core::TimePoint now, const Fetch& fetch, store::Callback<Report> done);

 private:
  std::mutex mu_;
  std::optional<core::TimePoint> made_at_;        // guarded by mu_
  Report report_;                                 // guarded by mu_
  bool fetching_ = false;                         // guarded by mu_
  std::vector<store::Callback<Report>> waiting_;  // guarded by mu_; for the fetch under way
};

}  // namespace cidrotor::service
