#include "core/calendar.h"

namespace cidrotor::core {

Windows FixedOffsetCalendar::WindowsAt(TimePoint t) const {
  using std::chrono::days;
  using std::chrono::floor;
  using std::chrono::hours;
  const TimePoint local = t + offset_;
  const TimePoint hour = floor<hours>(local) - offset_;
  const TimePoint day = floor<days>(local) - offset_;
  return Windows{hour, hour + hours(1), day, day + days(1)};
}

}  // namespace cidrotor::core
