// RedisStore's settings tables (store/redis/redis_store.h): campaigns → pools and the pools'
// fallback. Each lives in one Redis hash, cid:campaign_pools and cid:pool_settings
// (docs/redis-keys.md), written before the journal append and undone when the journal refuses
// the change, under an edit lock of the entry, as number changes are; PostgreSQL's rows are the
// record a rebuild loads them from. Allocation never reads the hashes: each instance keeps a copy
// (NameTables), loaded before its first allocation and read again at every Tick, so a change made
// through another instance applies here within about a second, and at once (once durable) through
// this one.
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

RedisStore::EditSubject RedisStore::CampaignEdit(const std::string& campaign) {
  return {"campaign:" + campaign, "campaign " + campaign};
}
RedisStore::EditSubject RedisStore::PoolEdit(const std::string& pool) {
  return {"pool:" + pool, "pool " + pool};
}

core::Result<std::vector<NameTable::Entry>> RedisStore::ReadHash(RedisConnection& connection,
                                                                 const char* key) {
  auto hash = connection.Run({"HGETALL", key});
  if (!hash) return core::Fail(hash.error());
  if (hash->type == redis::RedisReply::Type::kError) {
    return core::Fail(core::Error::Unavailable("redis: " + hash->str));
  }
  std::vector<NameTable::Entry> entries;
  for (std::size_t i = 0; i + 1 < hash->elements.size(); i += 2) {
    entries.emplace_back(hash->elements[i].str, hash->elements[i + 1].str);
  }
  return entries;
}

core::Result<void> RedisStore::LoadSettings(RedisConnection& connection) {
  for (int attempt = 0;; ++attempt) {
    const std::string epoch = Epoch();
    const std::uint64_t campaigns_version = campaign_pools_.Version();
    const std::uint64_t pools_version = pool_fallbacks_.Version();
    auto campaigns = ReadHash(connection, redis::kCampaignPoolsKey);
    if (!campaigns) return core::Fail(campaigns.error());
    auto pools = ReadHash(connection, redis::kPoolSettingsKey);
    if (!pools) return core::Fail(pools.error());
    // The generation after the reads: still the one known before them, so the hashes were not
    // read from a Redis that lost its data or is half rebuilt (a rebuild publishes its
    // generation only after both hashes). Gone: ResolveGeneration starts the rebuild and fails;
    // newer: adopted, read again.
    auto current = ResolveGeneration(connection, epoch);
    if (!current) return core::Fail(current.error());
    if (!*current) continue;
    // A change of this instance on its way to the journal: keep the copies as they are (the
    // next tick reads again), unless this is the first load.
    if (setting_changes_pending_.load() > 0 && settings_loaded_.load()) return {};
    // A copy read before one of this instance's own changes completed must not undo it: read
    // again. Only copies that replaced both tables count as loaded, else the first allocations
    // would go by a table that holds that one change only.
    const bool campaigns_replaced =
        campaign_pools_.ReplaceIfUnchanged(*campaigns, campaigns_version);
    const bool pools_replaced = pool_fallbacks_.ReplaceIfUnchanged(*pools, pools_version);
    if (campaigns_replaced && pools_replaced) {
      settings_loaded_.store(true);
      return {};
    }
    // Refused: a change of this instance, or another worker's load, came in between. Once
    // some load has succeeded the tables are whole, and this read is simply one too late.
    if (settings_loaded_.load()) return {};
    if (attempt >= 10) {
      return core::Fail(core::Error::Unavailable("redis store: settings changing, try again"));
    }
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
                                      if (auto loaded = LoadSettings(connection); !loaded) {
                                        done(core::Fail(loaded.error()));
                                        return;
                                      }
                                      done(ToCampaignPools(campaign_pools_.List()));
                                    });
}

void RedisStore::SetCampaignPool(CampaignPool mapping, Callback<CampaignPool> on_done) {
  JournalEntry entry = CampaignPoolChanged{mapping.campaign, mapping.pool};
  const std::string campaign = mapping.campaign;
  const std::string pool = mapping.pool;
  ChangeSetting(CampaignEdit(campaign), redis::kCampaignPoolsKey, campaign_pools_, campaign, pool,
                std::move(entry),
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
  JournalEntry entry = CampaignPoolChanged{campaign, std::nullopt};
  ChangeSetting(
      CampaignEdit(campaign), redis::kCampaignPoolsKey, campaign_pools_, campaign, std::nullopt,
      std::move(entry),
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

void RedisStore::ListPoolSettings(Callback<std::vector<PoolSettings>> on_done) {
  Submit<std::vector<PoolSettings>>(std::move(on_done),
                                    [this](RedisConnection& connection, auto& done) {
                                      if (auto loaded = LoadSettings(connection); !loaded) {
                                        done(core::Fail(loaded.error()));
                                        return;
                                      }
                                      std::vector<PoolSettings> list;
                                      for (const auto& [pool, fallback] : pool_fallbacks_.List()) {
                                        list.push_back(PoolSettings{pool, FallbackIsAny(fallback)});
                                      }
                                      done(std::move(list));
                                    });
}

void RedisStore::SetPoolSettings(PoolSettings settings, Callback<PoolSettings> on_done) {
  JournalEntry entry = PoolSettingsChanged{settings};
  const std::string pool = settings.pool;
  const std::string fallback = FallbackName(settings.fallback_any);
  ChangeSetting(PoolEdit(pool), redis::kPoolSettingsKey, pool_fallbacks_, pool, fallback,
                std::move(entry),
                [settings = std::move(settings),
                 on_done = std::move(on_done)](core::Result<std::optional<std::string>> changed) {
                  if (!changed) {
                    on_done(core::Fail(changed.error()));
                    return;
                  }
                  on_done(settings);
                });
}

void RedisStore::ChangeSetting(EditSubject subject, const char* key, NameTable& table,
                               const std::string& field, std::optional<std::string> value,
                               JournalEntry entry, Callback<std::optional<std::string>> on_done) {
  // One change of an entry at a time, through every instance: the journal gets them in the order
  // Redis did.
  SubmitEdit<std::optional<std::string>>(
      std::move(subject), std::move(on_done),
      [this, key, &table, field, value = std::move(value), entry = std::move(entry)](
          RedisConnection& connection, auto& done) {
        // Not into a Redis that lost its data: the rebuild would drop the entry.
        if (auto current = ResolveGeneration(connection, Epoch()); !current) {
          done(core::Fail(current.error()));
          return;
        }
        const std::string written = value.value_or("");
        // This instance's changes reach Redis and the journal in the same order.
        std::unique_lock order(setting_changes_mu_);
        auto swapped = connection.Run({"EVAL", kSwapScript, "1", key, field, written});
        if (!swapped || swapped->type == redis::RedisReply::Type::kError) {  // READONLY, OOM
          done(core::Fail(swapped ? core::Error::Unavailable("redis: " + swapped->str)
                                  : swapped.error()));
          return;
        }
        std::optional<std::string> previous;
        if (!swapped->is_nil()) previous = swapped->str;
        if (!value && !previous) {  // removing what was not there: nothing to record
          order.unlock();
          table.Remove(field);  // another instance removed it: the copy follows
          done(std::optional<std::string>());
          return;
        }
        std::vector<JournalEntry> entries;
        entries.push_back(entry);
        setting_changes_pending_.fetch_add(1);  // until applied, or undone in Redis
        journal_->Append(
            std::move(entries), [this, key, &table, field, value, written, previous,
                                 done = std::move(done)](core::Result<void> durable) mutable {
              if (durable) {
                table.Apply(field, value);
                setting_changes_pending_.fetch_sub(1);
                done(previous);
                return;
              }
              spdlog::error("store: {} {} change not durable, undone: {}", key, field,
                            durable.error().ToString());
              UndoThenFail<std::optional<std::string>>(
                  [key, field, written, previous](RedisConnection& worker) {
                    auto undone = worker.Run(
                        {"EVAL", kUndoScript, "1", key, field, written, previous.value_or("")});
                    if (!undone || undone->type == redis::RedisReply::Type::kError) {
                      spdlog::error("store: {} {} could not be undone in Redis: {}", key, field,
                                    undone ? undone->str : undone.error().ToString());
                    }
                  },
                  durable.error(),
                  [this, done = std::move(done)](core::Result<std::optional<std::string>> r) {
                    setting_changes_pending_.fetch_sub(1);  // the undo has run (or could not)
                    done(std::move(r));
                  });
            });
      });
}

}  // namespace cidrotor::store
