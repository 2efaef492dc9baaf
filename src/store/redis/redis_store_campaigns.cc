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

namespace {

// Sets (ARGV[2] not empty) or deletes a campaign's entry and returns what it was (nil: none), in
// one step: the undo must know exactly what this change replaced.
constexpr const char* kSwapScript = R"lua(
local old = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return old
)lua";

// The undo: puts back ARGV[3] ('' = no entry) only while the entry is still ARGV[2], what the
// refused change wrote, so a change made meanwhile (through another instance) is never undone.
constexpr const char* kUndoScript = R"lua(
local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if cur ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1
)lua";

}  // namespace

core::Result<void> RedisStore::LoadCampaignPools(RedisConnection& connection) {
  std::uint64_t version = campaign_pools_.Version();
  for (int attempt = 0;; ++attempt) {
    auto hash = connection.Run({"HGETALL", redis::kCampaignPoolsKey});
    if (!hash) return core::Fail(hash.error());
    std::vector<NameTable::Entry> mappings;
    for (std::size_t i = 0; i + 1 < hash->elements.size(); i += 2) {
      mappings.emplace_back(hash->elements[i].str, hash->elements[i + 1].str);
    }
    // No mapping at all may mean a Redis that lost its data: believe it once the generation
    // is the published one (ResolveGeneration starts the rebuild when it is gone).
    if (mappings.empty() && attempt == 0) {  // once: a second empty read is believed
      auto current = ResolveGeneration(connection, Epoch());
      if (!current) return core::Fail(current.error());
      if (!*current) continue;
    }
    // A copy read before one of this instance's own changes completed must not undo it: read
    // again (the change is in Redis by then). Only a copy that replaced the table counts as
    // loaded, else the first allocations would go by a table that holds that one change only.
    // A change of this instance on its way to the journal: keep the copy as it is (the next
    // tick reads again), unless it is the first load.
    if (campaign_changes_pending_.load() > 0 && campaign_pools_loaded_.load()) return {};
    if (campaign_pools_.ReplaceIfUnchanged(mappings, version)) {
      campaign_pools_loaded_.store(true);
      return {};
    }
    // Refused: a change of this instance, or another worker's load, came in between. Once
    // some load has succeeded the table is whole, and this read is simply one too late.
    if (campaign_pools_loaded_.load()) return {};
    if (attempt >= 10) {
      return core::Fail(core::Error::Unavailable("redis store: campaigns changing, try again"));
    }
    version = campaign_pools_.Version();
  }
}

std::string RedisStore::PoolOfCampaign(std::string_view campaign) const {
  std::string pool = campaign_pools_.Lookup(campaign);
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
                                      done(ToCampaignPools(campaign_pools_.List()));
                                    });
}

void RedisStore::SetCampaignPool(CampaignPool mapping, Callback<CampaignPool> on_done) {
  const std::string campaign = mapping.campaign;
  const std::string pool = mapping.pool;
  ChangeCampaign(campaign, pool,
                 [mapping = std::move(mapping),
                  on_done = std::move(on_done)](core::Result<std::optional<std::string>> changed) {
                   if (!changed) {
                     on_done(core::Fail(changed.error()));
                     return;
                   }
                   on_done(mapping);
                 });
}

void RedisStore::RemoveCampaignPool(std::string campaign, Callback<void> on_done) {
  ChangeCampaign(
      campaign, std::nullopt,
      [campaign, on_done = std::move(on_done)](core::Result<std::optional<std::string>> changed) {
        if (!changed) {
          on_done(core::Fail(changed.error()));
          return;
        }
        if (!*changed) {
          on_done(core::Fail(core::Error::NotFound(
              "campaign " + campaign + " is not mapped to a pool", "campaign")));
          return;
        }
        on_done({});
      });
}

void RedisStore::ChangeCampaign(const std::string& campaign, std::optional<std::string> pool,
                                Callback<std::optional<std::string>> on_done) {
  Submit<std::optional<std::string>>(
      std::move(on_done),
      [this, campaign, pool = std::move(pool)](RedisConnection& connection, auto& done) {
        // Not into a Redis that lost its data: the rebuild would drop the entry.
        if (auto current = ResolveGeneration(connection, Epoch()); !current) {
          done(core::Fail(current.error()));
          return;
        }
        const std::string written = pool.value_or("");
        // This instance's changes reach Redis and the journal in the same order.
        std::unique_lock order(campaign_changes_mu_);
        auto swapped =
            connection.Run({"EVAL", kSwapScript, "1", redis::kCampaignPoolsKey, campaign, written});
        if (!swapped || swapped->type == redis::RedisReply::Type::kError) {  // READONLY, OOM
          done(core::Fail(swapped ? core::Error::Unavailable("redis: " + swapped->str)
                                  : swapped.error()));
          return;
        }
        std::optional<std::string> previous;
        if (!swapped->is_nil()) previous = swapped->str;
        if (!pool && !previous) {  // unmapping a campaign that was not mapped: nothing to record
          order.unlock();
          campaign_pools_.Remove(campaign);  // another instance unmapped it: the copy follows
          done(std::optional<std::string>());
          return;
        }
        std::vector<JournalEntry> entries;
        entries.push_back(CampaignPoolChanged{campaign, pool});
        campaign_changes_pending_.fetch_add(1);  // until applied, or undone in Redis
        journal_->Append(
            std::move(entries), [this, campaign, pool, written, previous,
                                 done = std::move(done)](core::Result<void> durable) mutable {
              if (durable) {
                campaign_pools_.Apply(campaign, pool);
                campaign_changes_pending_.fetch_sub(1);
                done(previous);
                return;
              }
              spdlog::error("store: campaign {} change not durable, undone: {}", campaign,
                            durable.error().ToString());
              UndoThenFail<std::optional<std::string>>(
                  [campaign, written, previous](RedisConnection& worker) {
                    auto undone = worker.Run({"EVAL", kUndoScript, "1", redis::kCampaignPoolsKey,
                                              campaign, written, previous.value_or("")});
                    if (!undone || undone->type == redis::RedisReply::Type::kError) {
                      spdlog::error("store: campaign {} could not be undone in Redis: {}", campaign,
                                    undone ? undone->str : undone.error().ToString());
                    }
                  },
                  durable.error(),
                  [this, done = std::move(done)](core::Result<std::optional<std::string>> r) {
                    campaign_changes_pending_.fetch_sub(1);  // the undo has run (or could not)
                    done(std::move(r));
                  });
            });
      });
}

}  // namespace cidrotor::store
