// IndexedStore's settings tables (store/memory/indexed_store.h): campaigns → pools and the pools'
// fallback live in memory (NameTables, read by every Allocate) and follow the journal: a change
// is appended, and applied to its table once its batch committed, in the writer's completion
// order (the journal's). So a change the journal refuses never shows, and two changes of one
// key land in memory in the order the journal keeps them.
#include <spdlog/spdlog.h>

#include <utility>

#include "store/memory/indexed_store.h"

namespace cidrotor::store {

void IndexedStore::ListCampaignPools(Callback<std::vector<CampaignPool>> done) {
  done(ToCampaignPools(campaign_pools_.List()));
}

void IndexedStore::SetCampaignPool(CampaignPool mapping, Callback<CampaignPool> done) {
  std::string campaign = mapping.campaign;
  std::string pool = mapping.pool;
  CommitCampaignChange(
      std::move(campaign), std::move(pool),
      [mapping = std::move(mapping), done = std::move(done)](core::Result<void> durable) {
        if (!durable) {
          done(core::Fail(durable.error()));
          return;
        }
        done(mapping);
      });
}

void IndexedStore::RemoveCampaignPool(std::string campaign, Callback<void> done) {
  if (campaign_pools_.Lookup(campaign).empty()) {
    done(core::Fail(
        core::Error::NotFound("campaign " + campaign + " is not mapped to a pool", "campaign")));
    return;
  }
  CommitCampaignChange(std::move(campaign), std::nullopt, std::move(done));
}

void IndexedStore::ListPoolSettings(Callback<std::vector<PoolSettings>> done) {
  std::vector<PoolSettings> list;
  for (const auto& [pool, fallback] : pool_fallbacks_.List()) {
    list.push_back(PoolSettings{pool, FallbackIsAny(fallback)});
  }
  done(std::move(list));
}

void IndexedStore::SetPoolSettings(PoolSettings settings, Callback<PoolSettings> done) {
  std::vector<JournalEntry> entries;
  entries.push_back(PoolSettingsChanged{settings});
  journal_->Append(std::move(entries), [this, settings = std::move(settings),
                                        done = std::move(done)](core::Result<void> durable) {
    if (!durable) {
      spdlog::error("store: pool {} settings not durable, not made: {}", settings.pool,
                    durable.error().ToString());
      done(core::Fail(durable.error()));
      return;
    }
    pool_fallbacks_.Set(settings.pool, FallbackName(settings.fallback_any));
    done(settings);
  });
}

void IndexedStore::CommitCampaignChange(std::string campaign, std::optional<std::string> pool,
                                        std::function<void(core::Result<void>)> done) {
  std::vector<JournalEntry> entries;
  entries.push_back(CampaignPoolChanged{campaign, pool});
  journal_->Append(std::move(entries),
                   [this, campaign = std::move(campaign), pool = std::move(pool),
                    done = std::move(done)](core::Result<void> durable) {
                     if (durable) {
                       campaign_pools_.Apply(campaign, pool);  // completions come in append order
                     } else {
                       spdlog::error("store: campaign {} change not durable, not made: {}",
                                     campaign, durable.error().ToString());
                     }
                     done(std::move(durable));
                   });
}

}  // namespace cidrotor::store
