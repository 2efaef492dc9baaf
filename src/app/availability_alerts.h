// The webhooks of SPEC "Administration": every WEBHOOK_CHECK_SECONDS the housekeeping thread
// reads the store's stats, service::AvailabilityWatch says which area codes and pools got low,
// ran dry or recovered, and notify::WebhookSender delivers those events to WEBHOOK_URLS.
// Allocation never waits for any of it.
//
// In cluster mode every instance may have the same WEBHOOK_URLS, and each change is sent once:
// each check claims a turn (Store::ClaimTurn, one instance per period) and goes on from the
// levels the last check saved, whichever instance made it (Store::LoadShared / SaveShared, kept
// in Redis). An embedded store grants every turn and shares nothing: the levels live here.
//
// Thread-safety: Check may be called from any thread; the store's completions may run on a store
// thread after the caller returned (the state they need is shared with them). `store` must
// outlive the completions (serve stops the store last).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include "app/config.h"
#include "core/clock.h"
#include "core/result.h"
#include "notify/webhook_sender.h"
#include "service/availability_watch.h"
#include "store/store.h"

namespace cidrotor::app {

class AvailabilityAlerts {
 public:
  // nullptr when WEBHOOK_URLS is empty. Errors: kInvalidArgument (field WEBHOOK_URLS).
  [[nodiscard]] static core::Result<std::unique_ptr<AvailabilityAlerts>> Create(
      const Config& config);

  // Compares the stats of `store` at `now` with the last ones and queues the events.
  void Check(store::Store& store, core::TimePoint now);

  // Queues another event (an admin's rest) for the same URLs; never blocks.
  void Send(std::string_view event, std::string json);

  std::chrono::seconds interval() const { return interval_; }
  // The sender, for its counters (GET /metrics).
  const notify::WebhookSender& sender() const { return *shared_->sender; }

 private:
  struct Shared {
    std::mutex mu;
    service::AvailabilityWatch watch;  // guarded by mu
    std::uint64_t checks = 0;          // guarded by mu; Check calls so far
    std::uint64_t applied = 0;         // guarded by mu; the newest check whose stats were used
    std::unique_ptr<notify::WebhookSender> sender;
    explicit Shared(std::uint32_t threshold) : watch(threshold) {}
  };

  AvailabilityAlerts(std::shared_ptr<Shared> shared, std::chrono::seconds interval)
      : shared_(std::move(shared)), interval_(interval) {}

  std::shared_ptr<Shared> shared_;
  std::chrono::seconds interval_;
};

}  // namespace cidrotor::app
