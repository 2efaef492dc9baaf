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
  // The history's next page starts after the last one of a full page (before_id).
  boost::json::value next_before_id = nullptr;
  if (!query->live_only && !records->empty() && records->size() == query->limit) {
    next_before_id = records->back().reservation.id;
  }
  co_return JsonResponse({{"success", true},
                          {"reservations", std::move(reservations)},
                          {"next_before_id", std::move(next_before_id)}});
}

namespace {

using CoverageReport = service::CoverageCache::Report;

// Reads the calls and the live counts from the store and builds the report; `done` runs on the
// store's thread. `services` outlives every request.
void MakeCoverage(const Services& services, core::TimePoint now,
                  store::Callback<CoverageReport> done) {
  static const core::FixedOffsetCalendar kUtc;
  const service::CoverageRules rules{
      services.options.calendar != nullptr ? *services.options.calendar : kUtc,
      services.options.caps};
  const store::CoverageQuery query = service::CoverageQueryAt(now, rules);
  services.store.GetCoverage(query, [&services, rules, query, now, done = std::move(done)](
                                        core::Result<store::CoverageData> data) {
    if (!data) {
      done(core::Fail(data.error()));
      return;
    }
    services.store.GetStats(
        [rules, query, now, data = std::move(*data), done](core::Result<store::StoreStats> stats) {
          if (!stats) {
            done(core::Fail(stats.error()));
            return;
          }
          done(service::BuildCoverage(data, query, now, rules, stats->area_codes));
        });
  });
}

}  // namespace

boost::asio::awaitable<Response> HandleCoverage(const Request& /*request*/,
                                                RequestContext& context) {
  const Services& services = context.services;
  const core::TimePoint now = services.clock.Now();
  auto report = co_await CallStore<CoverageReport>([&](store::Callback<CoverageReport> done) {
    if (services.coverage_cache == nullptr) {
      MakeCoverage(services, now, std::move(done));
      return;
    }
    services.coverage_cache->Get(
        now,
        [&services, now](store::Callback<CoverageReport> made) {
          MakeCoverage(services, now, std::move(made));
        },
        std::move(done));
  });
  if (!report) co_return ErrorResponse(report.error());
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
                           {"deleted", found->deleted},
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
    using History = service::ActivityHistory::ReadPtr;
    History history;
    if (auto* activity_history = context.services.activity_history) {
      store::Store& store = context.services.store;
      // Never an error: without a history the view is this process's own.
      history = *co_await CallStore<History>([&](store::Callback<History> done) {
        activity_history->Get(
            context.services.clock.Now(),
            [&store](store::ActivityQuery query, store::Callback<store::ActivityData> read) {
              store.GetActivity(query, std::move(read));
            },
            [done = std::move(done)](History read) { done(std::move(read)); });
      });
    }
    const core::TimePoint now = context.services.clock.Now();
    AddLiveViewJson(service::MergeActivity(history.get(), *telemetry, now),
                    context.services.store.Health(), json);
  }
  co_return JsonResponse(json);
}

}  // namespace cidrotor::http
