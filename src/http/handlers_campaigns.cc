// GET /api/campaigns and GET/PUT/DELETE /api/campaigns/{campaign}: which pool serves a campaign
// (SPEC: campaigns map to pools; an unmapped campaign allocates from pool "default").
#include <boost/json.hpp>

#include "core/number.h"
#include "http/error_response.h"
#include "http/handlers.h"
#include "http/json_codec.h"
#include "http/request_decoding.h"
#include "http/store_call.h"
#include "service/requests.h"

namespace cidrotor::http {
namespace {

namespace json = boost::json;

core::Result<std::string> PathCampaign(const RequestContext& context) {
  auto text = DecodePathSegment(context.path_param, "campaign");
  if (!text) return core::Fail(std::move(text).error());
  return service::ParseCampaignName(*text);
}

json::object CampaignJson(std::string_view campaign, std::string_view pool, bool mapped) {
  return {{"campaign", campaign}, {"pool", pool}, {"mapped", mapped}};
}

Response CampaignResponse(std::string_view campaign, std::string_view pool, bool mapped) {
  json::object body = CampaignJson(campaign, pool, mapped);
  body.emplace("success", true);
  return JsonResponse(body);
}

}  // namespace

boost::asio::awaitable<Response> HandleListCampaigns(const Request& /*request*/,
                                                     RequestContext& context) {
  auto mappings = co_await CallStore<std::vector<store::CampaignPool>>(
      [&](store::Callback<std::vector<store::CampaignPool>> done) {
        context.services.store.ListCampaignPools(std::move(done));
      });
  if (!mappings) co_return ErrorResponse(mappings.error());
  json::array campaigns;
  campaigns.reserve(mappings->size());
  for (const store::CampaignPool& m : *mappings) {
    campaigns.push_back(CampaignJson(m.campaign, m.pool, true));
  }
  co_return JsonResponse({{"success", true},
                          {"campaigns", std::move(campaigns)},
                          {"default_pool", core::kDefaultPool}});
}

boost::asio::awaitable<Response> HandleGetCampaign(const Request& /*request*/,
                                                   RequestContext& context) {
  auto campaign = PathCampaign(context);
  if (!campaign) co_return ErrorResponse(campaign.error());
  context.campaign = *campaign;
  auto mappings = co_await CallStore<std::vector<store::CampaignPool>>(
      [&](store::Callback<std::vector<store::CampaignPool>> done) {
        context.services.store.ListCampaignPools(std::move(done));
      });
  if (!mappings) co_return ErrorResponse(mappings.error());
  for (const store::CampaignPool& m : *mappings) {
    if (m.campaign == *campaign) co_return CampaignResponse(m.campaign, m.pool, true);
  }
  co_return CampaignResponse(*campaign, core::kDefaultPool, false);
}

boost::asio::awaitable<Response> HandlePutCampaign(const Request& request,
                                                   RequestContext& context) {
  auto params = DecodeParams(request, ParamSources::kQueryAndBody);
  if (!params) co_return ErrorResponse(params.error());
  auto text = DecodePathSegment(context.path_param, "campaign");
  if (!text) co_return ErrorResponse(text.error());
  auto mapping = service::ParseCampaignPool(*text, *params);
  if (!mapping) co_return ErrorResponse(mapping.error());
  context.campaign = mapping->campaign;

  auto set =
      co_await CallStore<store::CampaignPool>([&](store::Callback<store::CampaignPool> done) {
        context.services.store.SetCampaignPool(std::move(*mapping), std::move(done));
      });
  if (!set) co_return ErrorResponse(set.error());
  co_return CampaignResponse(set->campaign, set->pool, true);
}

boost::asio::awaitable<Response> HandleDeleteCampaign(const Request& /*request*/,
                                                      RequestContext& context) {
  auto campaign = PathCampaign(context);
  if (!campaign) co_return ErrorResponse(campaign.error());
  context.campaign = *campaign;
  auto removed = co_await CallStore<void>([&](store::Callback<void> done) {
    context.services.store.RemoveCampaignPool(*campaign, std::move(done));
  });
  if (!removed) co_return ErrorResponse(removed.error());
  co_return CampaignResponse(*campaign, core::kDefaultPool, false);
}

}  // namespace cidrotor::http
