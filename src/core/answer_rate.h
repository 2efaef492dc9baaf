// Automatic resting by answer rate (SPEC: "a number whose answer rate collapses against its area
// code's and pool's baseline (the signature of a 'spam likely' label) is rested automatically
// ... never resting more than a configured share of a pool at once"). Pure: the counts come from
// the system of record (store::Store::GetAnswerStats), the rests are set by
// service/auto_rest.h, and probation follows every rest (core/probation.h).
//
// A number is judged on its calls whose outcome says whether a person picked up (answered, or
// no_answer, busy, voicemail) in a rolling window, once it has at least `min_calls` of them. Its
// baselines are the answer rates of the OTHER numbers of its pool in its area code, and of the
// other numbers of its pool, each used only when those numbers have `min_calls` judged calls
// together. It has collapsed when its rate is below `threshold_percent` % of every baseline it
// has (at least one): a label hits one number, while an area code that answers less than the
// rest of the pool lowers its own baseline too, so its numbers are not rested for their region.
// And the shortfall must not be chance: a number answering like the lower baseline would answer
// this few of its calls with a probability below kRestSignificance (a one-sided binomial test).
// Checked every few minutes over a rolling window, a healthy number would otherwise meet a bad
// run sooner or later: at 30 calls and a 25 % baseline, 2 answers or fewer happen 1 % of the
// time, 0 answers 0.02 %.
// A pool rests at most `max_share_percent` % of its active numbers at once, counting the rests
// already going on (an admin's too); the furthest below their baselines go first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/allocation.h"
#include "core/clock.h"
#include "core/phone_number.h"

namespace cidrotor::core {

// Whether a call's outcome says how the called party took it: answered, or not picked up
// (no_answer, busy, voicemail). Failed, other and unknown outcomes asked nobody. The SQL journals
// list the same names (core::CallOutcomeName) in their queries; the journal contract checks them.
bool IsJudgedOutcome(CallOutcome outcome);

inline constexpr double kRestSignificance = 0.001;

// P(X <= k) for X binomial with n trials of probability p: how likely a number answering at rate
// p is to answer k or fewer of n calls.
double BinomialLowerTail(std::uint32_t k, std::uint32_t n, double p);

struct AutoRestRules {
  std::uint32_t min_calls = 30;          // AUTO_REST_MIN_CALLS
  std::uint32_t threshold_percent = 40;  // AUTO_REST_THRESHOLD
  std::uint32_t max_share_percent = 10;  // AUTO_REST_MAX_SHARE; 0 = no automatic rests
};

// The first second whose calls are judged after a rest until `rest_until`: the one after the
// rest's end. rest_until is whole seconds, and an admin may end a rest (PatchedRestUntil:
// rest_until = now) within the very second of the calls that got the number rested; those are
// before the end and must not count again. The calls of the rest's last second are left out
// with them: a second's calls hardly change a judgement made over hours.
constexpr CompactTime FirstJudgedSecondAfterRest(CompactTime rest_until) { return rest_until + 1; }

// One number's judged calls in the window (counted from the end of its last rest, if later).
struct NumberAnswers {
  PhoneNumber caller_id = PhoneNumber::FromValidDigits(2'015'550'100);
  std::string pool;
  bool active = true;
  CompactTime rest_until = 0;  // as stored; 0 = never rested
  std::uint32_t calls = 0;     // judged calls
  std::uint32_t answered = 0;  // of those, answered
};

// A pool's active numbers and, of those, how many rest now.
struct PoolRestCounts {
  std::string pool;
  std::uint32_t active = 0;
  std::uint32_t resting = 0;
};

// A number to rest, with the figures that condemned it (for the webhook and the log).
struct AnswerRateDrop {
  PhoneNumber caller_id = PhoneNumber::FromValidDigits(2'015'550'100);
  std::string pool;
  std::uint32_t calls = 0;
  std::uint32_t answered = 0;
  double rate = 0;                 // answered / calls
  double area_code_baseline = -1;  // the other numbers of its pool and area code; < 0: none
  double pool_baseline = -1;       // the other numbers of its pool; < 0: none
};

// The numbers to rest now: active, not resting at `now`, collapsed, within their pools' shares;
// by pool, then furthest below their baseline first. `numbers` need not be sorted.
std::vector<AnswerRateDrop> ChooseNumbersToRest(const std::vector<NumberAnswers>& numbers,
                                                const std::vector<PoolRestCounts>& pools,
                                                const AutoRestRules& rules, CompactTime now);

}  // namespace cidrotor::core
