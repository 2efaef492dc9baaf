#include "core/rate_limiter.h"

#include <chrono>

#include "core/allocation.h"

namespace cidrotor::core {
namespace {

void DropExpired(std::deque<TimePoint>& times, TimePoint now) {
  while (!times.empty() && times.front() + AgentRateLimiter::kWindow <= now) times.pop_front();
}

}  // namespace

bool AgentRateLimiter::Exempt(std::string_view agent) const {
  return limit_ == 0 || agent == kAutoAgent;
}

Result<void> AgentRateLimiter::Check(std::string_view agent, TimePoint now) {
  if (Exempt(agent)) return {};
  auto it = agents_.find(std::string(agent));
  if (it == agents_.end()) return {};
  DropExpired(it->second, now);
  if (it->second.size() < limit_) return {};
  // The oldest allocation in the window leaves it at front + 60 s; round up to whole seconds.
  const auto wait = std::chrono::ceil<Seconds>(it->second.front() + kWindow - now).count();
  return Fail(Error::RateLimited("agent " + std::string(agent) + " exceeded " +
                                     std::to_string(limit_) + " allocations per minute",
                                 static_cast<std::uint32_t>(wait < 1 ? 1 : wait)));
}

void AgentRateLimiter::Record(std::string_view agent, TimePoint now) {
  if (Exempt(agent)) return;
  auto& times = agents_[std::string(agent)];
  DropExpired(times, now);
  times.push_back(now);
}

void AgentRateLimiter::Prune(TimePoint now) {
  for (auto it = agents_.begin(); it != agents_.end();) {
    DropExpired(it->second, now);
    it = it->second.empty() ? agents_.erase(it) : std::next(it);
  }
}

}  // namespace cidrotor::core
