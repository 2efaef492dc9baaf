// The webhooks of SPEC "Administration": every WEBHOOK_CHECK_SECONDS the housekeeping thread
// reads the store's stats, service::AvailabilityWatch says which area codes and pools got low,
// ran dry or recovered, and notify::WebhookSender delivers those events to WEBHOOK_URLS.
// Allocation never waits for any of it.
//
// In cluster mode every instance that has WEBHOOK_URLS sends: configure them on one instance.
//
// Thread-safety: Check may be called from any thread; the stats' completion may run on a store
// thread after the caller returned (the state it needs is shared with it).
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
