// A deleted number's usage, kept while it can still matter. SPEC's caps and rests are what keeps a
// number from being labelled "spam likely", and they belong to the phone number, not to its row:
// an admin who deletes a pool and imports it again the same day (or deletes a rested number and
// adds it back) must not hand every number a fresh hour, day and rest. So deleting a number keeps
// its usage (NumberDeleted::kept), and adding it again, by add-number or by an import, takes it
// back whole, as if the number had been updated in place.
//
// Where it is kept: in the system of record (table deleted_numbers, SQLite and PostgreSQL, written
// with the delete and read back by Journal::Load, LoadSink::OnDeletedNumber), and beside the
// allocation state (the embedded store's memory; the Redis store's cid:deleted). A number that is
// in the store again ignores what was kept of it; the next delete replaces it.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/clock.h"
#include "core/number.h"
#include "core/probation.h"
#include "store/journal.h"
#include "store/store.h"

namespace cidrotor::store {

// A local day's window is at most 25 hours long (the day a DST change gives back an hour).
inline constexpr core::Seconds kLongestDay{25 * 3600};

// What a number deleted at `now` with `usage` keeps: its counts until its day's window has surely
// ended, its rest until the probation after it (`probation`, IndexOptions) and that probation's
// last day are over. keep_until 0 when nothing matters any more.
inline DeletedUsage KeepOnDelete(const core::NumberUsage& usage, core::CompactTime now,
                                 core::Seconds probation) {
  const auto day_after = [](core::CompactTime t) {  // saturating: a rest may end far ahead
    const std::uint64_t end = std::uint64_t{t} + static_cast<std::uint64_t>(kLongestDay.count());
    return static_cast<core::CompactTime>(std::min<std::uint64_t>(end, UINT32_MAX));
  };
  core::CompactTime until = 0;
  if (usage.hourly_used > 0 || usage.daily_used > 0) {
    until = day_after(std::max(usage.hour_start, usage.day_start));
  }
  if (usage.rest_until != 0) {
    until = std::max(until, day_after(core::ProbationEnd(usage.rest_until, probation)));
  }
  if (until <= now) return DeletedUsage{};
  // Whole seconds, as the system of record keeps them (cid:deleted too): a number added back
  // ties with the others of its second, in both stores.
  core::NumberUsage kept = usage;
  kept.last_used_ms = 0;
  return DeletedUsage{kept, until};
}

// Whether `kept` still applies at `now`.
inline bool StillKept(const DeletedUsage& kept, core::CompactTime now) {
  return kept.keep_until > now;
}

// The usage an import row adding a deleted number again gives it: the kept usage, with the row's
// last_used, rest_until and warm_from over it, as for a number updated in place.
inline core::NumberUsage RevivedUsage(const core::NumberUsage& kept, const ImportItem& item) {
  core::NumberUsage usage = kept;
  if (item.last_used) core::SetLastUsed(usage, *item.last_used);
  if (item.rest_until) usage.rest_until = *item.rest_until;
  if (item.warm_from) usage.warm_from = *item.warm_from;
  return usage;
}

}  // namespace cidrotor::store
