// Lets a log line that can repeat at request rate (a dry pool's refusals, accept failing while
// file descriptors are out) through once per period, saying how many it stands for: the log
// stays readable, and journald's own rate limit does not drop other lines because of it.
//
// Example:
//   static net::LogThrottle throttle(std::chrono::seconds(10));
//   if (const auto n = throttle.Pass()) spdlog::warn("accept failed ({} times): {}", n, why);
//
// Thread-safe, lock-free.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cidrotor::net {

class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::steady_clock::duration period) : period_(period) {}

  // Counts one event. Returns how many events the line to log now stands for (this one and
  // those held back since the last line), or 0: stay quiet. The first event logs at once.
  std::uint64_t Pass() {
    held_.fetch_add(1);
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto next = next_.load();
    if (now < next || !next_.compare_exchange_strong(next, now + period_.count())) return 0;
    return held_.exchange(0);
  }

 private:
  const std::chrono::steady_clock::duration period_;
  std::atomic<std::uint64_t> held_{0};
  std::atomic<std::chrono::steady_clock::rep> next_{0};
};

}  // namespace cidrotor::net
