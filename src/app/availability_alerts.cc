#include "app/availability_alerts.h"

#include <spdlog/spdlog.h>

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
  store.GetStats([shared = shared_, now, check](core::Result<store::StoreStats> stats) {
    if (!stats) {
      spdlog::debug("webhooks: no stats this time: {}", stats.error().ToString());
      return;  // the next check compares with the last stats that came
    }
    std::lock_guard lock(shared->mu);
    // Cluster stats come from any Redis worker: one that answers after a newer check's must
    // not take the levels back in time.
    if (check < shared->applied) return;
    shared->applied = check;
    for (const service::AvailabilityEvent& event : shared->watch.Update(*stats, now)) {
      const std::string name = service::EventName(event);
      spdlog::info("webhooks: {} {}", name,
                   event.area_code != 0 ? std::to_string(event.area_code) : event.pool);
      shared->sender->Send(name, service::EventJson(event));
    }
  });
}

void AvailabilityAlerts::Send(std::string_view event, std::string json) {
  spdlog::info("webhooks: {}", event);
  shared_->sender->Send(std::string(event), json);
}

}  // namespace cidrotor::app
