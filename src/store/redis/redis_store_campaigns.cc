// RedisStore's campaigns → pools (store/redis/redis_store.h). The table lives in one Redis hash,
// cid:campaign_pools (docs/redis-keys.md), written before the journal append and undone when the
// journal refuses the change, as number changes are; PostgreSQL's campaign_pools rows are the
// record a rebuild loads it from. Allocation never reads the hash: each instance keeps a copy
// (campaign_pools_), loaded before its first allocation and read again at every Tick, so a change
// made through another instance applies here within about a second, and at once through this one.
#include <spdlog/spdlog.h>

#include <utility>

#include "store/redis/redis_store.h"

namespace cidrotor::store {

using redis::RedisConnection;
using redis::RedisReply;

namespace {

// Restores `campaign`'s entry of the hash to `pool` (nullopt: no entry).
void PutBack(RedisConnection& connection, const std::string& campaign,
             const std::optional<std::string>& pool) {
  if (pool) {
    (void)connection.Run({"HSET", redis::kCampaignPoolsKey, campaign, *pool});
  } else {
    (void)connection.Run({"HDEL", redis::kCampaignPoolsKey, campaign});
  }
}

}  // namespace

core::Result<void> RedisStore::LoadCampaignPools(RedisConnection& connection) {
  const std::uint64_t version = campaign_pools_.Version();
  for (int attempt = 0;; ++attempt) {
    auto hash = connection.Run({"HGETALL", redis::kCampaignPoolsKey});
    if (!hash) return core::Fail(hash.error());
    std::vector<CampaignPool> mappings;
    for (std::size_t i = 0; i + 1 < hash->elements.size(); i += 2) {
      mappings.push_back({hash->elements[i].str, hash->elements[i + 1].str});
    }
    // No mapping at all may mean a Redis that lost its data: believe it once the generation
    // is the published one (ResolveGeneration starts the rebuild when it is gone).
    if (mappings.empty() && attempt == 0) {
      auto current = ResolveGeneration(connection, Epoch());
      if (!current) return core::Fail(current.error());
      if (!*current) continue;
    }
    // A copy read before one of this instance's own changes completed must not undo it: the
    // next read has it.
    (void)campaign_pools_.ReplaceIfUnchanged(mappings, version);
    campaign_pools_loaded_.store(true);
    return {};
  }
}

std::string RedisStore::PoolOfCampaign(std::string_view campaign) const {
  std::string pool = campaign_pools_.PoolFor(campaign);
  if (pool.empty()) pool = core::kDefaultPool;
  return pool;
}

void RedisStore::ListCampaignPools(Callback<std::vector<CampaignPool>> on_done) {
  Submit<std::vector<CampaignPool>>(std::move(on_done),
                                    [this](RedisConnection& connection, auto& done) {
                                      if (auto loaded = LoadCampaignPools(connection); !loaded) {
                                        done(core::Fail(loaded.error()));
                                        return;
                                      }
                                      done(campaign_pools_.List());
                                    });
}

void RedisStore::SetCampaignPool(CampaignPool mapping, Callback<CampaignPool> on_done) {
  Submit<CampaignPool>(std::move(on_done), [this, mapping = std::move(mapping)](
                                               RedisConnection& connection, auto& done) {
    // Not into a Redis that lost its data: the rebuild would drop the entry.
    if (auto current = ResolveGeneration(connection, Epoch()); !current) {
      done(core::Fail(current.error()));
      return;
    }
    auto before = connection.Run({"HGET", redis::kCampaignPoolsKey, mapping.campaign});
    if (!before) {
      done(core::Fail(before.error()));
      return;
    }
    std::optional<std::string> previous;
    if (!before->is_nil()) previous = before->str;
    if (auto set = connection.Run({"HSET", redis::kCampaignPoolsKey, mapping.campaign,
                                   mapping.pool});
        !set) {
      done(core::Fail(set.error()));
      return;
    }
    std::vector<JournalEntry> entries;
    entries.push_back(CampaignPoolChanged{mapping.campaign, mapping.pool});
    journal_->Append(std::move(entries), [this, mapping, previous, done = std::move(done)](
                                             core::Result<void> durable) mutable {
      if (durable) {
        campaign_pools_.Set(mapping.campaign, mapping.pool);
        done(mapping);
        return;
      }
      spdlog::error("store: campaign {} change not durable, undone: {}", mapping.campaign,
                    durable.error().ToString());
      UndoThenFail<CampaignPool>(
          [campaign = mapping.campaign, previous](RedisConnection& worker) {
            PutBack(worker, campaign, previous);
          },
          durable.error(), std::move(done));
    });
  });
}

void RedisStore::RemoveCampaignPool(std::string campaign, Callback<void> on_done) {
  Submit<void>(std::move(on_done), [this, campaign = std::move(campaign)](
                                       RedisConnection& connection, auto& done) {
    if (auto current = ResolveGeneration(connection, Epoch()); !current) {
      done(core::Fail(current.error()));
      return;
    }
    auto before = connection.Run({"HGET", redis::kCampaignPoolsKey, campaign});
    if (!before) {
      done(core::Fail(before.error()));
      return;
    }
    if (before->is_nil()) {
      campaign_pools_.Remove(campaign);  // another instance unmapped it: the copy follows
      done(core::Fail(core::Error::NotFound("campaign " + campaign + " is not mapped to a pool",
                                            "campaign")));
      return;
    }
    std::string previous = before->str;
    if (auto deleted = connection.Run({"HDEL", redis::kCampaignPoolsKey, campaign}); !deleted) {
      done(core::Fail(deleted.error()));
      return;
    }
    std::vector<JournalEntry> entries;
    entries.push_back(CampaignPoolChanged{campaign, std::nullopt});
    journal_->Append(std::move(entries), [this, campaign, previous, done = std::move(done)](
                                             core::Result<void> durable) mutable {
      if (durable) {
        campaign_pools_.Remove(campaign);
        done(std::move(durable));
        return;
      }
      spdlog::error("store: campaign {} change not durable, undone: {}", campaign,
                    durable.error().ToString());
      UndoThenFail<void>(
          [campaign, previous](RedisConnection& worker) { PutBack(worker, campaign, previous); },
          durable.error(), std::move(done));
    });
  });
}

}  // namespace cidrotor::store
