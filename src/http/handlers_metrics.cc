// GET /metrics: Prometheus text format. Open, like /health (SPEC: scrapers rarely carry a JWT;
// bind to 127.0.0.1 or filter at the proxy). Never written to api_logs. Counters come from
// RequestMetrics and AllocationTelemetry (atomics); gauges from one Store::GetStats and Health().
#include <fmt/format.h>

#include <string>

#include "http/handlers.h"
#include "http/prometheus_text.h"
#include "http/request_metrics.h"
#include "http/store_call.h"
#include "notify/webhook_sender.h"
#include "service/auto_rest.h"

namespace cidrotor::http {
namespace {

void WriteRequests(const RequestMetrics& metrics, PrometheusWriter& out) {
  out.Family("cidrotor_http_requests_total", "counter",
             "HTTP requests answered, by endpoint (route pattern), method and status.");
  const auto routes = RegisteredRoutes();
  for (std::size_t endpoint = 0; endpoint < metrics.endpoints(); ++endpoint) {
    const bool matched = endpoint < routes.size();
    const std::string_view pattern = matched ? routes[endpoint].pattern : "unmatched";
    const std::string_view method = matched ? MethodName(routes[endpoint].method) : "any";
    for (std::size_t slot = 0; slot < RequestMetrics::kStatuses.size(); ++slot) {
      const std::uint64_t count = metrics.Count(endpoint, slot);
      if (count == 0) continue;  // the label set is fixed; absent series read as 0
      const std::uint16_t status = RequestMetrics::kStatuses[slot];
      const std::string status_text = status == 0 ? "other" : std::to_string(status);
      out.Sample("cidrotor_http_requests_total",
                 {{"endpoint", pattern}, {"method", method}, {"status", status_text}}, count);
    }
  }
}

void WriteAllocations(const service::AllocationTelemetry& telemetry, PrometheusWriter& out) {
  out.Family("cidrotor_allocations_total", "counter",
             "Caller-IDs allocated (HTTP and FastAGI), by the tier that matched.");
  for (std::size_t i = 0; i < service::kTierCount; ++i) {
    const auto tier = static_cast<core::MatchTier>(i);
    out.Sample("cidrotor_allocations_total", {{"match", core::MatchTierName(tier)}},
               telemetry.AllocatedByTier(tier));
  }
  out.Family("cidrotor_allocation_refusals_total", "counter",
             "Allocations refused, by error code (no_caller_id_available and store_unavailable "
             "are the 503s).");
  for (std::size_t i = 0; i < service::kErrorCodeCount; ++i) {
    const auto code = static_cast<core::ErrorCode>(i);
    out.Sample("cidrotor_allocation_refusals_total", {{"error", core::ErrorCodeName(code)}},
               telemetry.RefusedByCode(code));
  }
  out.Family("cidrotor_allocation_duration_seconds", "histogram",
             "Time from asking the store for a caller-ID to its answer (commit included).");
  const service::LatencySnapshot latency = telemetry.Latency();
  for (std::size_t i = 0; i < service::kLatencyBucketsMicros.size(); ++i) {
    const std::string le = fmt::format("{}", service::kLatencyBucketsMicros[i] / 1e6);
    out.Sample("cidrotor_allocation_duration_seconds_bucket", {{"le", le}}, latency.cumulative[i]);
  }
  out.Sample("cidrotor_allocation_duration_seconds_bucket", {{"le", "+Inf"}},
             latency.cumulative.back());
  out.Sample("cidrotor_allocation_duration_seconds_sum", {},
             static_cast<double>(latency.sum_micros) / 1e6);
  out.Sample("cidrotor_allocation_duration_seconds_count", {}, latency.count);
}

void WriteAutoRest(const service::AutoRestCounters& counters, PrometheusWriter& out) {
  out.Family("cidrotor_auto_rest_checks_total", "counter",
             "Checks of the answer rates (automatic rests), by result: judged, skipped (another "
             "instance's turn, or the previous check still runs), failed (a store error).");
  out.Sample("cidrotor_auto_rest_checks_total", {{"result", "judged"}}, counters.judged.load());
  out.Sample("cidrotor_auto_rest_checks_total", {{"result", "skipped"}}, counters.skipped.load());
  out.Sample("cidrotor_auto_rest_checks_total", {{"result", "failed"}}, counters.failed.load());
  out.Family("cidrotor_auto_rests_total", "counter",
             "Numbers rested automatically for a collapsed answer rate.");
  out.Sample("cidrotor_auto_rests_total", {}, counters.rested.load());
}

void WriteWebhooks(const notify::WebhookSender& sender, PrometheusWriter& out) {
  out.Family("cidrotor_webhook_events_total", "counter",
             "Webhook events over all URLs, by what became of them: delivered (a 2xx), abandoned "
             "(retries used up, or a 3xx/4xx), dropped (a full queue, or the stop), superseded (a "
             "newer state of the same area code or pool replaced it in a full queue).");
  const std::pair<std::string_view, std::uint64_t> results[] = {
      {"delivered", sender.Delivered()},
      {"abandoned", sender.Abandoned()},
      {"dropped", sender.Dropped()},
      {"superseded", sender.Superseded()}};
  for (const auto& [result, count] : results) {
    out.Sample("cidrotor_webhook_events_total", {{"result", result}}, count);
  }
  out.Family("cidrotor_webhook_queued_events", "gauge",
             "Webhook events waiting for delivery, over all URLs (a receiver that is down keeps "
             "this up).");
  out.Sample("cidrotor_webhook_queued_events", {}, std::uint64_t{sender.Queued()});
}

void WriteStats(const store::StoreStats& stats, PrometheusWriter& out) {
  out.Family("cidrotor_numbers", "gauge", "Numbers of the pool by state.");
  const std::pair<std::string_view, std::uint64_t> states[] = {
      {"total", stats.total_numbers},       {"active", stats.active_numbers},
      {"reserved", stats.reserved_numbers}, {"available", stats.available_numbers},
      {"capped", stats.capped_numbers},     {"resting", stats.resting_numbers}};
  for (const auto& [state, count] : states) {
    out.Sample("cidrotor_numbers", {{"state", state}}, count);
  }
  out.Family("cidrotor_pool_available_numbers", "gauge",
             "Numbers eligible for allocation right now, by pool.");
  for (const auto& pool : stats.pools) {
    out.Sample("cidrotor_pool_available_numbers", {{"pool", pool.pool}},
               std::uint64_t{pool.available});
  }
  out.Family("cidrotor_live_reservations", "gauge", "Reservations held right now.");
  out.Sample("cidrotor_live_reservations", {}, stats.reserved_numbers);
  out.Family("cidrotor_store_write_queue_depth", "gauge",
             "Entries waiting for the store's group commit.");
  out.Sample("cidrotor_store_write_queue_depth", {}, std::uint64_t{stats.journal_queue_depth});
  out.Family("cidrotor_store_backlog_copy_failures_total", "counter",
             "Cluster: writes of the PostgreSQL backlog's local copy that failed (a full or "
             "read-only data directory); those changes are in memory only until written.");
  out.Sample("cidrotor_store_backlog_copy_failures_total", {}, stats.journal_backlog_copy_failures);
}

void WriteHealth(const store::StoreHealth& health, PrometheusWriter& out) {
  const bool cluster = health.mode == "cluster";
  const bool database_up = health.database == "healthy";
  out.Family("cidrotor_store_up", "gauge",
             "Whether each backend of the store answers (embedded: sqlite; cluster: postgresql "
             "and redis).");
  if (cluster) {
    out.Sample("cidrotor_store_up", {{"backend", "postgresql"}}, std::uint64_t{database_up});
    out.Sample("cidrotor_store_up", {{"backend", "redis"}}, std::uint64_t{health.can_allocate});
  } else {
    out.Sample("cidrotor_store_up", {{"backend", "sqlite"}}, std::uint64_t{database_up});
  }
  out.Family("cidrotor_store_degraded", "gauge",
             "1 while allocating without the system of record (cluster mode, PostgreSQL down).");
  out.Sample("cidrotor_store_degraded", {}, std::uint64_t{health.degraded});
}

}  // namespace

boost::asio::awaitable<Response> HandleMetrics(const Request& /*request*/,
                                               RequestContext& context) {
  const Services& services = context.services;
  auto stats = co_await CallStore<store::StoreStats>(
      [&](store::Callback<store::StoreStats> done) { services.store.GetStats(std::move(done)); });
  const store::StoreHealth health = services.store.Health();

  PrometheusWriter out;
  out.Family("cidrotor_build_info", "gauge", "Version and deployment mode of this process.");
  out.Sample("cidrotor_build_info", {{"version", services.options.version}, {"mode", health.mode}},
             std::uint64_t{1});
  WriteHealth(health, out);
  if (stats) WriteStats(*stats, out);  // the counters are still worth a scrape without them
  if (services.request_metrics != nullptr) WriteRequests(*services.request_metrics, out);
  if (services.telemetry != nullptr) WriteAllocations(*services.telemetry, out);
  if (services.auto_rest != nullptr) WriteAutoRest(*services.auto_rest, out);
  if (services.webhooks != nullptr) WriteWebhooks(*services.webhooks, out);

  Response response;
  response.content_type = kPrometheusContentType;
  response.body = out.Take();
  co_return response;
}

}  // namespace cidrotor::http
