// The per-agent allocation limit: at most `limit` allocations in any sliding 60-second window.
//
// Only allocations that were made count (Record after success): refused requests don't. The
// agent "auto" (predictive dialing, no agent at dial time) is never limited. Memory: one deque of
// at most `limit` instants per agent seen in the last minute; Prune drops idle agents.
// Not thread-safe: the owning store serializes calls.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/result.h"

namespace cidrotor::core {

class AgentRateLimiter {
 public:
  static constexpr Seconds kWindow{60};

  // limit 0 disables the limit.
  explicit AgentRateLimiter(std::uint32_t limit_per_minute) : limit_(limit_per_minute) {}

  // Ok when `agent` may allocate at `now`; kRateLimited with the seconds until a slot frees.
  [[nodiscard]] Result<void> Check(std::string_view agent, TimePoint now);
  // Counts one allocation by `agent` at `now`.
  void Record(std::string_view agent, TimePoint now);
  // Takes back one allocation Record counted at `at` (its commit failed: it was never made).
  void Forget(std::string_view agent, TimePoint at);
  // Forgets agents with no allocation in the last window.
  void Prune(TimePoint now);

  std::size_t tracked_agents() const { return agents_.size(); }

 private:
  bool Exempt(std::string_view agent) const;

  std::uint32_t limit_;
  std::unordered_map<std::string, std::deque<TimePoint>> agents_;
};

}  // namespace cidrotor::core
