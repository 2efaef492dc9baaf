// The hour and day windows that caps count in, as calendar windows of the configured TIMEZONE.
//
// Caps are "per hour" and "per day" of the call center's wall clock, so window starts come from a
// time-zone rule: a DST day has 23 or 25 hours, and some zones are offset by half an hour. The
// date::tz implementation lives in app/ (core does no I/O and has no time-zone database);
// FixedOffsetCalendar here serves UTC and tests. Implementations are immutable and thread-safe.
#pragma once

#include <chrono>

#include "core/clock.h"

namespace cidrotor::core {

struct Windows {
  TimePoint hour_start;  // start of the local hour containing the instant
  TimePoint next_hour;   // start of the following local hour
  TimePoint day_start;   // local midnight at or before the instant
  TimePoint next_day;    // the following local midnight (23, 24 or 25 hours later)

  bool Contains(TimePoint t) const { return t >= hour_start && t < next_hour; }
};

class Calendar {
 public:
  virtual ~Calendar() = default;
  // The windows containing `t`. Always hour_start <= t < next_hour and day_start <= t < next_day.
  virtual Windows WindowsAt(TimePoint t) const = 0;
};

// A zone with a constant UTC offset (UTC itself, or a test's fixed zone).
class FixedOffsetCalendar final : public Calendar {
 public:
  explicit FixedOffsetCalendar(std::chrono::minutes utc_offset = std::chrono::minutes(0))
      : offset_(utc_offset) {}
  Windows WindowsAt(TimePoint t) const override;

 private:
  std::chrono::minutes offset_;
};

}  // namespace cidrotor::core
