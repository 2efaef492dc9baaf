// GET /api/reservations's live view, as both stores answer it: their live reservations, newest
// first (ties by id), at most `limit`, as history records. Pure; thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "core/allocation.h"
#include "store/store.h"

namespace cidrotor::store {

inline std::vector<ReservationRecord> NewestLiveRecords(std::vector<core::Reservation> live,
                                                        std::size_t limit) {
  std::sort(live.begin(), live.end(), [](const core::Reservation& a, const core::Reservation& b) {
    return a.reserved_at != b.reserved_at ? a.reserved_at > b.reserved_at : a.id > b.id;
  });
  if (live.size() > limit) live.resize(limit);
  std::vector<ReservationRecord> records;
  records.reserve(live.size());
  for (core::Reservation& reservation : live) {
    ReservationRecord record;
    record.reservation = std::move(reservation);
    record.live = true;
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace cidrotor::store
