// GET /api/pools and PUT /api/pools/{pool}: the pools with their counts and their fallback
// (SPEC: a pool whose fallback is `none` has no `any` tier).
#include <boost/json.hpp>
#include <map>

#include "http/error_response.h"
#include "http/handlers.h"
#include "http/json_codec.h"
#include "http/request_decoding.h"
#include "http/store_call.h"
#include "service/requests.h"

namespace cidrotor::http {

boost::asio::awaitable<Response> HandleListPools(const Request& /*request*/,
                                                 RequestContext& context) {
  auto stats = co_await CallStore<store::StoreStats>(
      [&](store::Callback<store::StoreStats> done) { context.services.store.GetStats(done); });
  if (!stats) co_return ErrorResponse(stats.error());
  auto settings = co_await CallStore<std::vector<store::PoolSettings>>(
      [&](store::Callback<std::vector<store::PoolSettings>> done) {
        context.services.store.ListPoolSettings(std::move(done));
      });
  if (!settings) co_return ErrorResponse(settings.error());
  // Every pool that holds numbers or has settings, by name.
  std::map<std::string, boost::json::object> pools;
  for (const store::PoolAvailability& p : stats->pools) {
    pools[p.pool] = {{"pool", p.pool},
                     {"fallback", "any"},
                     {"total", p.total},
                     {"active", p.active},
                     {"available", p.available}};
  }
  for (const store::PoolSettings& s : *settings) {
    auto [it, inserted] = pools.try_emplace(s.pool);
    if (inserted) {
      it->second = {{"pool", s.pool}, {"total", 0}, {"active", 0}, {"available", 0}};
    }
    it->second["fallback"] = store::FallbackName(s.fallback_any);
  }
  boost::json::array list;
  for (auto& [name, pool] : pools) list.push_back(std::move(pool));
  co_return JsonResponse({{"success", true}, {"pools", std::move(list)}});
}

boost::asio::awaitable<Response> HandlePutPool(const Request& request, RequestContext& context) {
  auto params = DecodeParams(request, ParamSources::kQueryAndBody);
  if (!params) co_return ErrorResponse(params.error());
  auto text = DecodePathSegment(context.path_param, "pool");
  if (!text) co_return ErrorResponse(text.error());
  auto settings = service::ParsePoolSettings(*text, *params);
  if (!settings) co_return ErrorResponse(settings.error());

  auto set =
      co_await CallStore<store::PoolSettings>([&](store::Callback<store::PoolSettings> done) {
        context.services.store.SetPoolSettings(std::move(*settings), std::move(done));
      });
  if (!set) co_return ErrorResponse(set.error());
  co_return JsonResponse({{"success", true},
                          {"pool", set->pool},
                          {"fallback", store::FallbackName(set->fallback_any)}});
}

}  // namespace cidrotor::http
