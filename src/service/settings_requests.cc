// ParseCampaignName, ParseCampaignPool and ParsePoolSettings (service/requests.h): the settings
// tables' requests.
#include <string>
#include <utility>

#include "service/field_parsers.h"
#include "service/requests.h"

namespace cidrotor::service {

core::Result<std::string> ParseCampaignName(std::string_view campaign) {
  return ParseAgentOrCampaign(campaign, "campaign");
}

core::Result<store::CampaignPool> ParseCampaignPool(std::string_view campaign,
                                                    const Params& params) {
  auto name = ParseCampaignName(campaign);
  if (!name) return core::Fail(std::move(name).error());
  auto known = RefuseUnknownFields(params, {"pool"}, "a campaign's mapping");
  if (!known) return core::Fail(std::move(known).error());
  const auto pool_text = params.Get("pool");
  if (!pool_text) return core::Fail(core::Error::InvalidArgument("pool", "is required"));
  auto pool = ParsePoolName(*pool_text);
  if (!pool) return core::Fail(std::move(pool).error());
  return store::CampaignPool{std::move(*name), std::move(*pool)};
}

core::Result<store::PoolSettings> ParsePoolSettings(std::string_view pool, const Params& params) {
  auto name = ParsePoolName(pool);
  if (!name) return core::Fail(std::move(name).error());
  auto known = RefuseUnknownFields(params, {"fallback"}, "a pool's settings");
  if (!known) return core::Fail(std::move(known).error());
  const auto fallback = params.Get("fallback");
  if (!fallback) return core::Fail(core::Error::InvalidArgument("fallback", "is required"));
  if (*fallback != "any" && *fallback != "none") {
    return core::Fail(core::Error::InvalidArgument("fallback", "must be any or none"));
  }
  return store::PoolSettings{std::move(*name), *fallback == "any"};
}

}  // namespace cidrotor::service
