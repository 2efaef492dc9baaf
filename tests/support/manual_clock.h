// A Clock that tests move by hand: no sleeping, no timing assertions (STYLE §4).
#pragma once

#include <atomic>

#include "core/clock.h"

namespace cidrotor::testing {

class ManualClock final : public core::Clock {
 public:
  explicit ManualClock(core::TimePoint start) : now_(start.time_since_epoch().count()) {}
  core::TimePoint Now() const override { return core::TimePoint(core::Milliseconds(now_.load())); }
  void Advance(core::Milliseconds by) { now_ += by.count(); }
  void Set(core::TimePoint t) { now_ = t.time_since_epoch().count(); }

 private:
  std::atomic<long long> now_;
};

}  // namespace cidrotor::testing
