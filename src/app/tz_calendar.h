// core::Calendar on the IANA time-zone database (date::tz, Debian's libhowardhinnant-date with
// USE_OS_TZDB, i.e. /usr/share/zoneinfo): the hour and day windows that caps count in are the
// local hours and days of TIMEZONE.
//
// DST: a spring-forward day has 23 hours and its skipped hour is no window at all (in New York on
// 2026-03-08, 01:00-02:00 EST is followed directly by 03:00-04:00 EDT); a fall-back day has 25
// hours and the repeated local hour is two windows, one per offset. Half-hour zones
// (Asia/Kolkata) have windows starting at :30 UTC. Windows always nest: a day window contains
// every hour window that starts in it.
//
// Thread-safe: immutable apart from a one-entry cache of the last hour's windows (guarded by
// mu_), which makes the common call (same hour as the previous one) a compare instead of two
// time-zone look-ups.
#pragma once

#include <memory>
#include <mutex>
#include <string_view>

#include "core/calendar.h"
#include "core/result.h"

namespace date {
class time_zone;
}

namespace cidrotor::app {

class TzCalendar final : public core::Calendar {
 public:
  // The calendar of zone `name` ("America/New_York", "UTC", ...).
  // Errors: kInvalidArgument with field "TIMEZONE" when the zone is unknown.
  [[nodiscard]] static core::Result<std::unique_ptr<TzCalendar>> Open(std::string_view name);

  core::Windows WindowsAt(core::TimePoint t) const override;

 private:
  explicit TzCalendar(const date::time_zone* zone) : zone_(zone) {}
  core::Windows Compute(core::TimePoint t) const;

  const date::time_zone* zone_;  // owned by date's tzdb, which lives as long as the process
  mutable std::mutex mu_;
  mutable core::Windows cached_{};   // guarded by mu_
  mutable bool has_cached_ = false;  // guarded by mu_
};

}  // namespace cidrotor::app
