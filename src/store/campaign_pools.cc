#include "store/campaign_pools.h"

#include <algorithm>
#include <utility>

namespace cidrotor::store {

std::string CampaignPools::PoolFor(std::string_view campaign) const {
  if (empty_.load(std::memory_order_acquire)) return {};  // the usual case: no lock, no hashing
  std::lock_guard lock(mu_);
  const auto it = pools_.find(campaign);
  return it == pools_.end() ? std::string() : it->second;
}

std::optional<std::string> CampaignPools::Set(const std::string& campaign,
                                              const std::string& pool) {
  std::lock_guard lock(mu_);
  ++version_;
  auto [it, inserted] = pools_.try_emplace(campaign, pool);
  empty_.store(false, std::memory_order_release);
  if (inserted) return std::nullopt;
  return std::exchange(it->second, pool);
}

std::optional<std::string> CampaignPools::Remove(const std::string& campaign) {
  std::lock_guard lock(mu_);
  const auto it = pools_.find(campaign);
  if (it == pools_.end()) return std::nullopt;  // nothing changed: the version stays
  ++version_;
  std::string pool = std::move(it->second);
  pools_.erase(it);
  empty_.store(pools_.empty(), std::memory_order_release);
  return pool;
}

void CampaignPools::Apply(const std::string& campaign, const std::optional<std::string>& pool) {
  if (pool) {
    Set(campaign, *pool);
  } else {
    Remove(campaign);
  }
}

bool CampaignPools::ReplaceIfUnchanged(const std::vector<CampaignPool>& mappings,
                                       std::uint64_t version) {
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> pools;
  for (const CampaignPool& m : mappings) pools[m.campaign] = m.pool;
  std::lock_guard lock(mu_);
  if (version_ != version) return false;
  ++version_;
  pools_.swap(pools);
  empty_.store(pools_.empty(), std::memory_order_release);
  return true;
}

std::uint64_t CampaignPools::Version() const {
  std::lock_guard lock(mu_);
  return version_;
}

std::vector<CampaignPool> CampaignPools::List() const {
  std::vector<CampaignPool> list;
  {
    std::lock_guard lock(mu_);
    list.reserve(pools_.size());
    for (const auto& [campaign, pool] : pools_) list.push_back({campaign, pool});
  }
  std::sort(list.begin(), list.end(),
            [](const CampaignPool& a, const CampaignPool& b) { return a.campaign < b.campaign; });
  return list;
}

std::size_t CampaignPools::size() const {
  std::lock_guard lock(mu_);
  return pools_.size();
}

}  // namespace cidrotor::store
