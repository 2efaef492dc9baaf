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
  // A slot frees when the count falls below the limit: when the allocation `limit` from the
  // newest leaves the window (the oldest, unless a restart with a lower limit left more in it).
  const auto& times = it->second;
  const TimePoint frees = times[times.size() - limit_];
  const auto wait = std::chrono::ceil<Seconds>(frees + kWindow - now).count();
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

void AgentRateLimiter::Forget(std::string_view agent, TimePoint at) {
  const auto it = agents_.find(std::string(agent));
  if (it == agents_.end()) return;
  auto& times = it->second;
  // The newest first: the allocation being taken back is usually the last one counted.
  for (auto t = times.rbegin(); t != times.rend(); ++t) {
    if (*t == at) {
      times.erase(std::next(t).base());
      return;
    }
  }
}

void AgentRateLimiter::Prune(TimePoint now) {
  for (auto it = agents_.begin(); it != agents_.end();) {
    DropExpired(it->second, now);
    it = it->second.empty() ? agents_.erase(it) : std::next(it);
  }
}

}  // namespace cidrotor::core
