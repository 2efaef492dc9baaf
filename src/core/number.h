// A caller-ID of the center's pool: what an admin sets (NumberSpec) and what the index reports
// about it (NumberView). Plain values, thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/phone_number.h"

namespace cidrotor::core {

inline constexpr std::uint32_t kMaxCap = 65'535;  // caps are whole numbers 1..65,535 (SPEC)
inline constexpr const char* kDefaultPool = "default";

// The admin-owned attributes of a number. A cap of 0 means "no value of its own": the configured
// DEFAULT_HOURLY_LIMIT / DEFAULT_DAILY_LIMIT apply, and follow that setting when it changes.
struct NumberSpec {
  PhoneNumber caller_id = PhoneNumber::FromValidDigits(2'015'550'100);
  std::string carrier;              // free text, may be empty
  std::string pool = kDefaultPool;  // pool the number rotates in
  std::string state;                // two-letter state/province; empty when unknown
  std::uint16_t hourly_cap = 0;     // allocations per local hour; 0 = default
  std::uint16_t daily_cap = 0;      // allocations per local day; 0 = default
  bool active = true;               // inactive numbers are never allocated
};

// A partial update (PATCH): only the fields that are set change.
struct NumberPatch {
  std::optional<std::string> carrier;
  std::optional<std::string> pool;
  std::optional<std::string> state;
  std::optional<std::uint16_t> hourly_cap;  // 0 resets to the default
  std::optional<std::uint16_t> daily_cap;   // 0 resets to the default
  std::optional<bool> active;
  // Rests the number until then (an admin's "rest": out of rotation, back on its own at that
  // time); 0 ends a rest now (core::PatchedRestUntil).
  std::optional<CompactTime> rest_until;
  // With rest_until: only for a number that does not rest already (an automatic rest never
  // shortens or moves a rest an admin set meanwhile).
  bool rest_unless_resting = false;
};

// The usage state the store persists with a number so that a restart resumes the same windows.
struct NumberUsage {
  CompactTime last_used = 0;   // 0 = never used
  CompactTime hour_start = 0;  // window that hourly_used counts in
  CompactTime day_start = 0;   // window that daily_used counts in
  std::uint16_t hourly_used = 0;
  std::uint16_t daily_used = 0;
  // Local midnight of the day the number entered the pool without a usage history: its daily cap
  // ramps from then (core/warm_up.h). 0 = established, no ramp.
  CompactTime warm_from = 0;
  // Resting (out of rotation, spam-label guard) until then; 0 or past = not resting.
  CompactTime rest_until = 0;
  // The millisecond of last_used's second: numbers used within one second rotate in the order
  // they were used, not by number. Kept beside the allocation state (the embedded index, Redis)
  // only; the system of record has whole seconds, so after a restart or a rebuild the numbers
  // used in one second tie again, by number.
  std::uint16_t last_used_ms = 0;
};

// Sets a last_used that comes from outside (an import row): whole seconds, so its millisecond is
// 0, in both stores.
inline void SetLastUsed(NumberUsage& usage, CompactTime last_used) {
  usage.last_used = last_used;
  usage.last_used_ms = 0;
}

struct NumberView {
  NumberSpec spec;
  NumberUsage usage;
  std::uint16_t effective_hourly_cap = 0;  // spec's cap, or the default when it has none
  std::uint16_t effective_daily_cap = 0;
  std::uint16_t daily_cap_today = 0;  // effective_daily_cap, or the warm-up's share of it
  std::uint16_t warmup_day = 0;       // 1.. while warming up (the day it is on); 0 = not
  std::uint16_t hourly_used_now = 0;  // usage counted in the current window (0 after roll-over)
  std::uint16_t daily_used_now = 0;
  bool reserved = false;
  bool resting = false;    // usage.rest_until is still ahead
  // On probation after a rest (core/probation.h) until then: its daily cap is the probation's
  // budget on each local day that starts before it. 0 = not on probation (or still resting).
  CompactTime probation_until = 0;
  bool available = false;  // eligible for allocation right now
};

}  // namespace cidrotor::core
