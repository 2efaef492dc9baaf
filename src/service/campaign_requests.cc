// ParseCampaignName and ParseCampaignPool (service/requests.h).
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
  const auto pool_text = params.Get("pool");
  if (!pool_text) return core::Fail(core::Error::InvalidArgument("pool", "is required"));
  auto pool = ParsePoolName(*pool_text);
  if (!pool) return core::Fail(std::move(pool).error());
  return store::CampaignPool{std::move(*name), std::move(*pool)};
}

}  // namespace cidrotor::service
