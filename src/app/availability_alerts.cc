#include "app/availability_alerts.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cidrotor::app {
namespace {

// "a, b,,c" → {"a", "b", "c"}.
std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

// The turn each check claims (cluster mode: one instance checks at a time), and the name of the
// levels the instances share.
constexpr const char* kTurnJob = "webhooks";
constexpr const char* kLevelsName = "alert-levels";

}  // namespace

core::Result<std::unique_ptr<AvailabilityAlerts>> AvailabilityAlerts::Create(const Config& config) {
  notify::WebhookOptions options;
  options.urls = SplitList(config.webhook_urls);
  if (options.urls.empty()) return std::unique_ptr<AvailabilityAlerts>();
  options.secret = config.webhook_secret;
  options.ca_file = config.webhook_ca_file;
  auto sender = notify::WebhookSender::Create(std::move(options));
  if (!sender) return core::Fail(sender.error());
  auto shared = std::make_shared<Shared>(config.webhook_low_available);
  shared->sender = std::move(*sender);
  return std::unique_ptr<AvailabilityAlerts>(
      new AvailabilityAlerts(std::move(shared), config.webhook_check_interval));
}

void AvailabilityAlerts::Check(store::Store& store, core::TimePoint now) {
  std::uint64_t check = 0;
  {
    std::lock_guard lock(shared_->mu);
    check = ++shared_->checks;
  }
  // The turn lasts a little less than the interval, so this instance's next check can take the
  // next one; the levels outlive a few missed turns, not an hour without any instance checking.
  const auto turn = std::chrono::duration_cast<std::chrono::milliseconds>(interval_) * 9 / 10;
  const auto keep = std::max<std::chrono::milliseconds>(interval_ * 10, std::chrono::minutes(10));
  store.ClaimTurn(
      kTurnJob, turn, [&store, shared = shared_, now, check, keep](core::Result<bool> mine) {
        if (!mine) spdlog::debug("webhooks: no turn this time: {}", mine.error().ToString());
        if (!mine || !*mine) return;  // another instance checks this time
        store.GetStats([&store, shared, now, check, keep](core::Result<store::StoreStats> stats) {
          if (!stats) {
            spdlog::debug("webhooks: no stats this time: {}", stats.error().ToString());
            return;  // the next check compares with the last levels
          }
          store.LoadShared(kLevelsName, [&store, shared, now, check, keep,
                                         stats = std::move(*stats)](
                                            core::Result<std::optional<std::string>> levels) {
            if (!levels) {
              spdlog::debug("webhooks: no levels this time: {}", levels.error().ToString());
              return;  // comparing with this instance's own might repeat another's events
            }
            std::string saved;
            {
              std::lock_guard lock(shared->mu);
              // Cluster stats come from any Redis worker: one that answers after a newer check's
              // must not take the levels back in time.
              if (check < shared->applied) return;
              shared->applied = check;
              if (*levels && !shared->watch.RestoreLevels(**levels)) {
                spdlog::warn(
                    "webhooks: the shared alert levels are not readable; going on from ours");
              }
              for (const service::AvailabilityEvent& event : shared->watch.Update(stats, now)) {
                const std::string name = service::EventName(event);
                spdlog::info("webhooks: {} {}", name,
                             event.area_code != 0 ? std::to_string(event.area_code) : event.pool);
                // Keyed: a newer level of the same area code or pool replaces a queued one.
                shared->sender->Send(name, service::EventJson(event),
                                     event.area_code != 0
                                         ? "area_code " + std::to_string(event.area_code)
                                         : "pool " + event.pool);
              }
              saved = shared->watch.SaveLevels();
            }
            // After the events are queued: an instance that dies in between makes the next one send
            // them again rather than nobody.
            store.SaveShared(kLevelsName, std::move(saved), keep, [](core::Result<void> ok) {
              if (!ok) spdlog::warn("webhooks: alert levels not shared: {}", ok.error().ToString());
            });
          });
        });
      });
}

void AvailabilityAlerts::Send(std::string_view event, std::string json) {
  spdlog::info("webhooks: {}", event);
  shared_->sender->Send(std::string(event), json);
}

}  // namespace cidrotor::app
