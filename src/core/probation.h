// Probation after a rest (SPEC: "rest → probation (a small daily budget) → back in rotation").
// A number whose rest ends, automatic (service/auto_rest.h) or an admin's, comes back with a
// small daily cap, PROBATION_DAILY_LIMIT, for PROBATION_HOURS after the rest's end, so a number
// that got a "spam likely" label is tried gently before it carries its full share again.
//
// The budget is a day's, like every daily cap: it applies on each local day in which the rest
// ends or that begins before the probation ends, and lifts at the local midnight after that. Caps
// then change only when a change re-places the number (a rest being set or ended) or at midnight,
// when every daily window rolls over anyway: a number parked at its probation budget comes back at
// the next day like any capped one, and nothing else has to be woken. A day wholly inside the
// rest is not on probation, so a resting number counts as resting, not as capped. No state beyond
// rest_until is needed, which the cluster's Lua scripts read as well (store/redis/scripts/lib.lua
// caps(), checked against this).
#pragma once

#include <cstdint>

#include "core/clock.h"

namespace cidrotor::core {

// Whether a number rested until `rest_until` (0: never) is on probation on the local day
// [day_start, next_day): the rest ends before the day does, and the probation (`probation` long,
// 0 = off) after the day's start. On the day the rest ends, also in its hours before that.
bool OnProbation(CompactTime rest_until, CompactTime day_start, CompactTime next_day,
                 Seconds probation);

// When the probation after a rest until `rest_until` ends (for display).
CompactTime ProbationEnd(CompactTime rest_until, Seconds probation);

// A number's rest_until after a PATCH of it to `patched` (NumberPatch::rest_until) at `now`: a
// time sets the rest; 0 ends a rest that is going on at `now` (the rest ends now, and its
// probation follows as after any rest; the judging of its answer rate starts afresh from then,
// service/auto_rest.h) and leaves a number that does not rest as it was. With
// `unless_resting`, a number that rests at `now` keeps its rest whatever is patched.
CompactTime PatchedRestUntil(CompactTime current, CompactTime patched, CompactTime now,
                             bool unless_resting = false);

}  // namespace cidrotor::core
