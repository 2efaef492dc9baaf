#include "core/answer_rate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <utility>

namespace cidrotor::core {
namespace {

struct Tally {
  std::uint64_t calls = 0;
  std::uint64_t answered = 0;
  void Add(const NumberAnswers& n) {
    calls += n.calls;
    answered += n.answered;
  }
};

// The answer rate of a group's numbers other than `n`, when they have enough calls; else -1.
double BaselineWithout(const Tally& group, const NumberAnswers& n, std::uint32_t min_calls) {
  const std::uint64_t calls = group.calls - n.calls;
  if (calls == 0 || calls < min_calls) return -1;
  return static_cast<double>(group.answered - n.answered) / static_cast<double>(calls);
}

// How far below its baselines a number is: its rate over the higher one (0 = nobody picks up).
double Severity(const AnswerRateDrop& drop) {
  return drop.rate / std::max(drop.area_code_baseline, drop.pool_baseline);
}

bool Collapsed(const AnswerRateDrop& drop, std::uint32_t threshold_percent) {
  const double share = threshold_percent / 100.0;
  double lowest = 2;  // the lower baseline: the one that is hardest to be significantly below
  for (const double baseline : {drop.area_code_baseline, drop.pool_baseline}) {
    if (baseline < 0) continue;
    if (!(drop.rate < share * baseline)) return false;
    lowest = std::min(lowest, baseline);
  }
  return lowest <= 1 && BinomialLowerTail(drop.answered, drop.calls, lowest) < kRestSignificance;
}

}  // namespace

double BinomialLowerTail(std::uint32_t k, std::uint32_t n, double p) {
  if (k >= n || p <= 0) return 1;
  if (p >= 1) return 0;
  // In logarithms (a term like 0.7^5000 underflows a double): term(i) = C(n, i) p^i (1-p)^(n-i),
  // term(i+1) = term(i) * (n-i)/(i+1) * p/(1-p). Below the mean (k < np, the only case asked)
  // the terms grow with i, so the sum is taken relative to the last, the largest.
  const double log_ratio = std::log(p) - std::log1p(-p);
  std::vector<double> logs(k + 1U);
  logs[0] = n * std::log1p(-p);
  for (std::uint32_t i = 0; i < k; ++i) {
    logs[i + 1] = logs[i] + std::log(static_cast<double>(n - i) / (i + 1)) + log_ratio;
  }
  const double top = *std::max_element(logs.begin(), logs.end());
  double sum = 0;
  for (const double l : logs) sum += std::exp(l - top);
  return std::min(1.0, std::exp(top + std::log(sum)));
}

bool IsJudgedOutcome(CallOutcome outcome) {
  switch (outcome) {  // every enumerator: a new one is a compiler warning here
    case CallOutcome::kAnswered:
    case CallOutcome::kNoAnswer:
    case CallOutcome::kBusy:
    case CallOutcome::kVoicemail:
      return true;
    case CallOutcome::kUnknown:
    case CallOutcome::kFailed:
    case CallOutcome::kOther:
      return false;
  }
  return false;
}

std::vector<AnswerRateDrop> ChooseNumbersToRest(const std::vector<NumberAnswers>& numbers,
                                                const std::vector<PoolRestCounts>& pools,
                                                const AutoRestRules& rules, CompactTime now) {
  std::vector<AnswerRateDrop> chosen;
  if (rules.max_share_percent == 0) return chosen;

  // Every number with calls feeds its baselines, inactive ones too: they are the pool's experience.
  std::map<std::string, Tally> by_pool;
  std::map<std::pair<std::string, std::uint32_t>, Tally> by_area_code;
  for (const NumberAnswers& n : numbers) {
    by_pool[n.pool].Add(n);
    by_area_code[{n.pool, n.caller_id.area_code()}].Add(n);
  }

  std::map<std::string, std::vector<AnswerRateDrop>> collapsed;
  for (const NumberAnswers& n : numbers) {
    if (!n.active || n.rest_until > now || n.calls < rules.min_calls) continue;
    AnswerRateDrop drop{n.caller_id, n.pool, n.calls, n.answered,
                        static_cast<double>(n.answered) / static_cast<double>(n.calls)};
    drop.area_code_baseline =
        BaselineWithout(by_area_code[{n.pool, n.caller_id.area_code()}], n, rules.min_calls);
    drop.pool_baseline = BaselineWithout(by_pool[n.pool], n, rules.min_calls);
    if (Collapsed(drop, rules.threshold_percent)) collapsed[n.pool].push_back(drop);
  }

  for (const PoolRestCounts& pool : pools) {
    auto found = collapsed.find(pool.pool);
    if (found == collapsed.end()) continue;
    // The share, rounded down: a pool of nine with 10 % rests none automatically.
    const std::uint64_t allowed = std::uint64_t{pool.active} * rules.max_share_percent / 100U;
    if (allowed <= pool.resting) continue;
    std::vector<AnswerRateDrop>& drops = found->second;
    std::sort(drops.begin(), drops.end(), [](const AnswerRateDrop& a, const AnswerRateDrop& b) {
      return std::tuple(Severity(a), -static_cast<std::int64_t>(a.calls), a.caller_id.digits()) <
             std::tuple(Severity(b), -static_cast<std::int64_t>(b.calls), b.caller_id.digits());
    });
    const auto take = std::min<std::uint64_t>(drops.size(), allowed - pool.resting);
    chosen.insert(chosen.end(), drops.begin(), drops.begin() + static_cast<std::ptrdiff_t>(take));
  }
  return chosen;
}

}  // namespace cidrotor::core
