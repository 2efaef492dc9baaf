#include "core/probation.h"

namespace cidrotor::core {

bool OnProbation(CompactTime rest_until, CompactTime day_start, CompactTime next_day,
                 Seconds probation) {
  if (rest_until == 0 || probation.count() <= 0 || rest_until >= next_day) return false;
  return ProbationEnd(rest_until, probation) > day_start;
}

CompactTime ProbationEnd(CompactTime rest_until, Seconds probation) {
  // 64-bit sum: a rest far ahead plus a long probation stays past every day start.
  const auto end = std::uint64_t{rest_until} + static_cast<std::uint64_t>(probation.count());
  return end > UINT32_MAX ? UINT32_MAX : static_cast<CompactTime>(end);
}

CompactTime PatchedRestUntil(CompactTime current, CompactTime patched, CompactTime now,
                             bool unless_resting) {
  if (unless_resting && current > now) return current;
  if (patched != 0) return patched;
  return current > now ? now : current;
}

}  // namespace cidrotor::core
