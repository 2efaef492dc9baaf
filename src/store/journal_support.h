// Helpers both systems of record share (store/sqlite/sqlite_journal.cc,
// store/postgres/postgres_journal.cc).
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "store/journal.h"

namespace cidrotor::store {

// Whether an append holds api_logs rows only (such appends are dropped, not refused, past a
// journal's bound).
inline bool IsLogOnly(const std::vector<JournalEntry>& entries) {
  return !entries.empty() && std::all_of(entries.begin(), entries.end(), [](const auto& e) {
    return std::holds_alternative<ApiLogEntry>(e);
  });
}

// Whether an append carries releases only (answered before their commit: IndexedStore::Release).
inline bool IsReleaseOnly(const std::vector<JournalEntry>& entries) {
  return !entries.empty() && std::all_of(entries.begin(), entries.end(), [](const auto& e) {
    return std::holds_alternative<ReservationReleased>(e);
  });
}

// Runs a caller's callback. Callbacks must not throw; one that does must not take the journal's
// thread or the other waiters down, so it is logged (as `who`, e.g. "sqlite journal") and dropped.
template <class F, class... Args>
void CallSafely(std::string_view who, const F& callback, Args&&... args) {
  if (!callback) return;
  try {
    callback(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    spdlog::error("{}: a callback threw: {}", who, e.what());
  } catch (...) {
    spdlog::error("{}: a callback threw a non-standard exception", who);
  }
}

// Of `total` allocations, those the listed `pairs` leave out (the pairs past kActivityMaxPairs).
inline std::uint64_t UnlistedAllocations(const std::vector<CampaignAgentCount>& pairs,
                                         std::uint64_t total) {
  std::uint64_t listed = 0;
  for (const auto& pair : pairs) listed += pair.allocations;
  return total > listed ? total - listed : 0;
}

// A LoadSink that forwards numbers only, dropping live reservations (ScanNumbers: export, fills).
class NumbersOnly final : public LoadSink {
 public:
  explicit NumbersOnly(LoadSink& sink) : sink_(sink) {}
  void OnNumber(const core::NumberSpec& spec, const core::NumberUsage& usage) override {
    sink_.OnNumber(spec, usage);
  }
  void OnLiveReservation(const core::Reservation& /*reservation*/) override {}

 private:
  LoadSink& sink_;
};

}  // namespace cidrotor::store
