// GET /api/reservations, GET /api/logs, GET /api/stats, GET /api/coverage, GET /api/lookup.
#include <boost/json/array.hpp>

#include "http/error_response.h"
#include "http/handlers.h"
#include "http/json_codec.h"
#include "http/request_decoding.h"
#include "http/store_call.h"
#include "service/coverage.h"
#include "service/requests.h"

namespace cidrotor::http {

boost::asio::awaitable<Response> HandleListReservations(const Request& request,
                                                        RequestContext& context) {
  auto params = DecodeParams(request, ParamSources::kQuery);
  if (!params) co_return ErrorResponse(params.error());
  auto query = service::ParseReservationQuery(*params);
  if (!query) co_return ErrorResponse(query.error());

  using Records = std::vector<store::ReservationRecord>;
  auto records = co_await CallStore<Records>([&](store::Callback<Records> done) {
    context.services.store.ListReservations(*query, std::move(done));
  });
  if (!records) co_return ErrorResponse(records.error());
  boost::json::array reservations;
  reservations.reserve(records->size());
  for (const auto& record : *records) reservations.emplace_back(ReservationJson(record));
  co_return JsonResponse({{"success", true}, {"reservations", std::move(reservations)}});
}

boost::asio::awaitable<Response> HandleCoverage(const Request& /*request*/,
                                                RequestContext& context) {
  const Services& services = context.services;
  const core::TimePoint now = services.clock.Now();
  std::optional<std::vector<service::AreaCodeCoverage>> report;
  if (services.coverage_cache != nullptr) report = services.coverage_cache->Fresh(now);
  if (!report) {
    static const core::FixedOffsetCalendar kUtc;
    const core::Calendar& calendar =
        services.options.calendar != nullptr ? *services.options.calendar : kUtc;
    const store::CoverageQuery query = service::CoverageQueryAt(
        now, calendar, services.options.default_hourly_cap, services.options.default_daily_cap);
    auto data =
        co_await CallStore<store::CoverageData>([&](store::Callback<store::CoverageData> done) {
          services.store.GetCoverage(query, std::move(done));
        });
    if (!data) co_return ErrorResponse(data.error());
    auto stats = co_await CallStore<store::StoreStats>(
        [&](store::Callback<store::StoreStats> done) { services.store.GetStats(std::move(done)); });
    if (!stats) co_return ErrorResponse(stats.error());
    report = service::BuildCoverage(*data, query, now, calendar, stats->area_codes);
    if (services.coverage_cache != nullptr) services.coverage_cache->Put(now, *report);
  }
  boost::json::array area_codes;
  for (const auto& a : *report) area_codes.emplace_back(CoverageJson(a));
  co_return JsonResponse(
      {{"success", true}, {"days", service::kCoverageDays}, {"area_codes", std::move(area_codes)}});
}

boost::asio::awaitable<Response> HandleListLogs(const Request& request, RequestContext& context) {
  auto params = DecodeParams(request, ParamSources::kQuery);
  if (!params) co_return ErrorResponse(params.error());
  auto query = service::ParseLogQuery(*params);
  if (!query) co_return ErrorResponse(query.error());

  using Logs = std::vector<store::StoredLog>;
  auto rows = co_await CallStore<Logs>([&](store::Callback<Logs> done) {
    context.services.store.ListLogs(*query, std::move(done));
  });
  if (!rows) co_return ErrorResponse(rows.error());
  boost::json::array logs;
  logs.reserve(rows->size());
  for (const auto& row : *rows) logs.emplace_back(LogJson(row));
  co_return JsonResponse({{"success", true}, {"logs", std::move(logs)}});
}

boost::asio::awaitable<Response> HandleLookup(const Request& request, RequestContext& context) {
  auto params = DecodeParams(request, ParamSources::kQuery);
  if (!params) co_return ErrorResponse(params.error());
  auto query = service::ParseLookupQuery(*params);
  if (!query) co_return ErrorResponse(query.error());

  auto found = co_await CallStore<store::LookupData>([&](store::Callback<store::LookupData> done) {
    context.services.store.Lookup(*query, std::move(done));
  });
  if (!found) co_return ErrorResponse(found.error());
  if (!found->known) {
    co_return ErrorResponse(core::Error::NotFound(
        "caller_id " + query->caller_id.ToString() + " is not in the pool", "caller_id"));
  }
  const auto record_or_null = [](const std::optional<store::ReservationRecord>& record) {
    return record ? boost::json::value(ReservationJson(*record)) : boost::json::value(nullptr);
  };
  boost::json::object json{{"success", true},
                           {"caller_id", query->caller_id.ToString()},
                           {"last", record_or_null(found->last)}};
  if (query->from) {
    json["from"] = query->from->ToString();
    json["called"] = record_or_null(found->called);
  }
  co_return JsonResponse(json);
}

boost::asio::awaitable<Response> HandleStats(const Request& /*request*/, RequestContext& context) {
  auto stats = co_await CallStore<store::StoreStats>([&](store::Callback<store::StoreStats> done) {
    context.services.store.GetStats(std::move(done));
  });
  if (!stats) co_return ErrorResponse(stats.error());
  boost::json::object json = StatsJson(*stats);
  if (const auto* telemetry = context.services.telemetry) {  // issue 6: the dashboard's live view
    AddLiveViewJson(*telemetry, context.services.store.Health(), context.services.clock.Now(),
                    json);
  }
  co_return JsonResponse(json);
}

}  // namespace cidrotor::http
