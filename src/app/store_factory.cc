#include "app/store_factory.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "cli/init_db.h"
#include "store/memory/indexed_store.h"
#include "store/postgres/postgres_journal.h"
#include "store/redis/redis_store.h"
#include "store/redis/redis_url.h"

namespace cidrotor::app {
namespace {

core::Result<ServeStore> OpenEmbedded(const Config& config, const core::Clock& clock,
                                      const core::Calendar& calendar) {
  // Held while serving: a direct `cidrotor import` on this data directory is refused (it would
  // write rows this process's index never sees) and told to use --via-api (cli/data_dir_lock.h).
  auto lock = cli::DataDirLock::Acquire(config.data_dir, "serve");
  if (!lock) return core::Fail(std::move(lock.error()));
  auto journal = cli::OpenDataDirJournal(config.data_dir);
  if (!journal) return core::Fail(std::move(journal.error()));
  store::IndexedStoreOptions options;
  options.index = IndexOptionsFor(config);
  options.rate_limit_per_agent = config.default_rate_limit_per_agent;
  options.retention = RetentionFor(config);
  auto store = store::IndexedStore::Open(clock, calendar, options, std::move(*journal));
  if (!store) return core::Fail(std::move(store.error()));
  ServeStore opened;
  opened.store = std::move(*store);
  opened.data_dir_lock.emplace(std::move(*lock));
  opened.mode = DeploymentMode::kEmbedded;
  opened.where = "data_dir=" + config.data_dir;
  return opened;
}

// A number's edit lock outlives the longest wait for its change's journal append: the commit
// watchdog's (it acknowledges within 1.25 x commit_wait) or, without one, the statement deadline
// (statement_timeout + 1 s); twice that, and never under the store's default.
std::chrono::milliseconds EditLeaseFor(const store::PostgresOptions& postgres) {
  const std::chrono::milliseconds longest =
      postgres.commit_wait.count() > 0
          ? postgres.commit_wait * 5 / 4
          : postgres.connection.statement_timeout + std::chrono::seconds(1);
  return std::max(store::RedisStoreOptions{}.edit_lease, 2 * longest);
}

core::Result<ServeStore> OpenCluster(const Config& config, const core::Clock& clock,
                                     const core::Calendar& calendar) {
  auto redis = RedisSettings(config);
  if (!redis) return core::Fail(std::move(redis.error()));
  store::PostgresOptions postgres;
  postgres.connection = PostgresSettings(config);
  postgres.commit_wait = config.postgres_commit_wait;
  // The backlog's local copy while PostgreSQL is down, for the next start on this directory.
  postgres.spill_dir = (std::filesystem::path(config.data_dir) / "pg-backlog").string();
  auto journal = store::PostgresJournal::Open(postgres);
  if (!journal) return core::Fail(std::move(journal.error()));
  store::RedisStoreOptions options;
  options.index = IndexOptionsFor(config);
  options.rate_limit_per_agent = config.default_rate_limit_per_agent;
  options.retention = RetentionFor(config);
  options.redis.connection = *redis;
  options.edit_lease = EditLeaseFor(postgres);
  auto store = store::RedisStore::Open(clock, calendar, options, std::move(*journal));
  if (!store) return core::Fail(std::move(store.error()));
  ServeStore opened;
  opened.store = std::move(*store);
  opened.mode = DeploymentMode::kCluster;
  opened.where = fmt::format("redis={}:{}/{} backlog_dir={}", redis->host, redis->port, redis->db,
                             postgres.spill_dir);
  return opened;
}

}  // namespace

core::IndexOptions IndexOptionsFor(const Config& config) {
  core::IndexOptions index;
  index.default_hourly_cap = config.default_hourly_limit;
  index.default_daily_cap = config.default_daily_limit;
  index.default_ttl = config.default_reservation_ttl;
  index.sticky = std::chrono::seconds(std::int64_t{config.sticky_days} * 86'400);
  index.warmup_days = config.warmup_days;
  index.probation = std::chrono::hours(config.probation_hours);
  index.probation_daily_cap = config.probation_daily_limit;
  return index;
}

store::HistoryRetention RetentionFor(const Config& config) {
  constexpr std::chrono::seconds kDay{86'400};
  return {config.api_log_retention_days * kDay, config.reservation_retention_days * kDay};
}

store::postgres::ConnectionSettings PostgresSettings(const Config& config) {
  store::postgres::ConnectionSettings settings;
  settings.url = config.database_url;
  settings.host = config.postgres_host;
  settings.port = config.postgres_port;
  settings.user = config.postgres_user;
  settings.password = config.postgres_password;
  settings.dbname = config.postgres_db;
  return settings;
}

core::Result<store::redis::ConnectionOptions> RedisSettings(const Config& config) {
  if (!config.redis_url.empty()) return store::redis::ParseRedisUrl(config.redis_url);
  store::redis::ConnectionOptions options;
  options.host = config.redis_host;
  options.port = config.redis_port;
  return options;
}

core::Result<ServeStore> OpenServeStore(const Config& config, const core::Clock& clock,
                                        const core::Calendar& calendar) {
  auto mode = SelectMode(config);
  if (!mode) return core::Fail(std::move(mode.error()));
  return *mode == DeploymentMode::kCluster ? OpenCluster(config, clock, calendar)
                                           : OpenEmbedded(config, clock, calendar);
}

}  // namespace cidrotor::app
