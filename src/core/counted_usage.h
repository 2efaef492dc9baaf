// A number's counters checked against its allocation history.
//
// In cluster mode the counters stored with a number (caller_ids) are written by each instance's
// writer, newest allocation wins, and an instance's backlog can reach PostgreSQL late: one
// recovered from a dead instance's directory after Redis was reloaded without it. Allocations
// made through that Redis then write counts that leave the backlog's out (1 use this hour where
// there were 4), and a reload of Redis from the stored counters would let the number go past its
// caps. The history (reservations) holds every allocation however late it came, so a reload
// raises the stored counters to what it counts in the current windows, and never lowers them
// (an import may name counts of its own; a pruned history counts short).
#pragma once

#include <cstdint>

#include "core/calendar.h"
#include "core/clock.h"
#include "core/number.h"

namespace cidrotor::core {

// A number's allocations in the history since the start of the current day.
struct CountedUse {
  std::uint32_t this_hour = 0;  // made at or after the current hour's start
  std::uint32_t today = 0;      // made at or after the current day's start (this hour's included)
  CompactTime newest = 0;       // the second of the newest of them; 0 when there is none
};

// `usage` with each counter of the current windows (`windows`) at least what `counted` counts
// in it, and its last use at least the newest counted allocation. A counter of an older window
// (or a newer one: another instance's clock ahead) counts nothing now, so it is replaced.
NumberUsage RaiseToCounted(NumberUsage usage, const Windows& windows, const CountedUse& counted);

}  // namespace cidrotor::core
