#include "store/history_pruner.h"

#include <spdlog/spdlog.h>

namespace cidrotor::store {

void HistoryPruner::Tick(core::TimePoint now) {
  // Also with both retentions zero (the history kept forever): deleted numbers' versions go.
  {
    std::lock_guard lock(mu_);
    if (now < next_ || running_->load()) return;
    next_ = now + kInterval;
    running_->store(true);
  }
  PruneCutoffs cutoffs;
  if (retention_.api_logs.count() > 0) cutoffs.api_logs_before = now - retention_.api_logs;
  if (retention_.reservations.count() > 0) {
    cutoffs.reservations_before = now - retention_.reservations;
  }
  cutoffs.tombstones_before = now - kTombstoneRetention;
  journal_.PruneHistory(cutoffs, [running = running_](core::Result<PruneResult> pruned) {
    running->store(false);
    if (!pruned) {
      spdlog::warn("history: pruning old rows failed, tried again in a minute: {}",
                   pruned.error().ToString());
    } else if (pruned->api_logs > 0 || pruned->reservations > 0) {
      spdlog::info("history: deleted {} api_logs rows and {} reservations past their retention",
                   pruned->api_logs, pruned->reservations);
    }
  });
}

}  // namespace cidrotor::store
