#include "app/tz_calendar.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <exception>

namespace cidrotor::app {

using core::TimePoint;
using std::chrono::days;
using std::chrono::hours;

core::Result<std::unique_ptr<TzCalendar>> TzCalendar::Open(std::string_view name) {
  try {
    const date::time_zone* zone = date::locate_zone(name);
    return std::unique_ptr<TzCalendar>(new TzCalendar(zone));
  } catch (const std::exception&) {
    return core::Fail(core::Error::InvalidArgument(
        "TIMEZONE", fmt::format("unknown time zone '{}' (use an IANA name such as "
                                "America/New_York or UTC)",
                                name)));
  }
}

core::Windows TzCalendar::WindowsAt(TimePoint t) const {
  {
    std::lock_guard lock(mu_);
    if (has_cached_ && cached_.Contains(t)) return cached_;
  }
  const core::Windows windows = Compute(t);
  std::lock_guard lock(mu_);
  cached_ = windows;
  has_cached_ = true;
  return windows;
}

core::Windows TzCalendar::Compute(TimePoint t) const {
  const auto to_ms = [](auto tp) { return std::chrono::time_point_cast<core::Milliseconds>(tp); };
  // The offset in force at t, and the span of instants it is in force for.
  const date::sys_info info = zone_->get_info(t);
  const auto local = date::local_time<core::Milliseconds>(t.time_since_epoch() + info.offset);

  // Hour: the local hour containing t, cut where the offset changes (a transition at a
  // non-hour instant, or the skipped/repeated hour of a DST change).
  const auto local_hour = date::floor<hours>(local);
  TimePoint hour_start = t - (local - local_hour);
  TimePoint next_hour = hour_start + hours(1);
  hour_start = std::max(hour_start, to_ms(info.begin));
  next_hour = std::min(next_hour, to_ms(info.end));

  // Day: local midnight to the next local midnight. A midnight that does not exist (a zone that
  // springs forward at 00:00) maps to the transition instant; an ambiguous one to its first
  // occurrence.
  const auto local_day = date::floor<days>(local);
  TimePoint day_start = to_ms(zone_->to_sys(local_day, date::choose::earliest));
  TimePoint next_day = to_ms(zone_->to_sys(local_day + days(1), date::choose::earliest));
  // Guards for exotic transitions, so that the Calendar contract always holds.
  if (day_start > t) day_start = hour_start;
  if (next_day <= t) next_day = next_hour;
  hour_start = std::max(hour_start, day_start);
  next_hour = std::min(next_hour, next_day);
  return core::Windows{hour_start, next_hour, day_start, next_day};
}

}  // namespace cidrotor::app
