// Retention: how long api_logs rows and ended reservations are kept, and the small scheduler both
// Stores run from their Tick to delete what is older (Journal::PruneHistory does the deleting,
// in chunks, off the tick thread). Without it the history grows by two api_logs rows and one
// reservation per call, forever: a busy center's store would fill its disk in months.
//
// Example (in a Store):
//   HistoryPruner pruner_{*journal_, options.retention};
//   void Tick() { ...; pruner_.Tick(clock_.Now()); }
//
// Thread-safety: Tick may be called from any thread. The pruner may be destroyed while a pass
// runs (the pass's completion holds shared state, not the pruner).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "core/clock.h"
#include "store/journal.h"

namespace cidrotor::store {

// API_LOG_RETENTION_DAYS and RESERVATION_RETENTION_DAYS; zero keeps that history forever.
struct HistoryRetention {
  std::chrono::seconds api_logs{0};
  std::chrono::seconds reservations{0};
};

class HistoryPruner {
 public:
  // How often a pass starts at most: a minute's worth of history is a few chunks.
  static constexpr std::chrono::seconds kInterval{60};
  // How long a deleted number's version is kept where a journal keeps them (PostgreSQL's
  // number_versions): as long as a change of it may still wait in an instance's backlog. A
  // backlog lasts as long as PostgreSQL's outage; the queue's bound (entries) fills first under
  // traffic, but an instance with few calls could hold one for days.
  static constexpr std::chrono::seconds kTombstoneRetention{std::chrono::hours(24 * 30)};

  // REQUIRES: `journal` outlives the pruner.
  HistoryPruner(Journal& journal, HistoryRetention retention)
      : journal_(journal), retention_(retention) {}

  // Starts a pass for the history older than the retention at `now` (and deleted numbers'
  // versions older than kTombstoneRetention), unless one runs or the last started less than
  // kInterval ago. Logs what each pass deleted.
  void Tick(core::TimePoint now);

 private:
  Journal& journal_;
  const HistoryRetention retention_;
  std::mutex mu_;
  core::TimePoint next_{};  // guarded by mu_; no pass starts before
  std::shared_ptr<std::atomic<bool>> running_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace cidrotor::store
