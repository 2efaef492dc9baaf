// IndexedStore's campaigns → pools (store/memory/indexed_store.h): the table lives in memory
// (CampaignPools, read by every Allocate) and each change is one journal entry appended under
// mu_, so the journal holds the changes in the order the table took them. A change the journal
// refuses is undone in memory before the caller hears of it.
#include <spdlog/spdlog.h>

#include <utility>

#include "store/memory/indexed_store.h"

namespace cidrotor::store {

void IndexedStore::ListCampaignPools(Callback<std::vector<CampaignPool>> done) {
  done(campaign_pools_.List());
}

void IndexedStore::SetCampaignPool(CampaignPool mapping, Callback<CampaignPool> done) {
  std::lock_guard lock(mu_);
  std::optional<std::string> previous = campaign_pools_.Set(mapping.campaign, mapping.pool);
  CommitCampaignChange(mapping.campaign, mapping.pool, std::move(previous),
                       [mapping, done = std::move(done)](core::Result<void> durable) {
                         if (!durable) {
                           done(core::Fail(durable.error()));
                           return;
                         }
                         done(mapping);
                       });
}

void IndexedStore::RemoveCampaignPool(std::string campaign, Callback<void> done) {
  std::unique_lock lock(mu_);
  std::optional<std::string> previous = campaign_pools_.Remove(campaign);
  if (!previous) {
    lock.unlock();
    done(core::Fail(
        core::Error::NotFound("campaign " + campaign + " is not mapped to a pool", "campaign")));
    return;
  }
  CommitCampaignChange(campaign, std::nullopt, std::move(previous), std::move(done));
}

void IndexedStore::CommitCampaignChange(const std::string& campaign,
                                        std::optional<std::string> pool,
                                        std::optional<std::string> previous,
                                        std::function<void(core::Result<void>)> done) {
  std::vector<JournalEntry> entries;
  entries.push_back(CampaignPoolChanged{campaign, std::move(pool)});
  journal_->Append(std::move(entries), [this, campaign, previous = std::move(previous),
                                        done = std::move(done)](core::Result<void> durable) {
    if (!durable) {
      spdlog::error("store: campaign {} change not durable, undone: {}", campaign,
                    durable.error().ToString());
      std::lock_guard undo_lock(mu_);
      campaign_pools_.Apply(campaign, previous);
    }
    done(std::move(durable));
  });
}

}  // namespace cidrotor::store
