#include "app/store_factory.h"

#include <fmt/format.h>

#include <boost/url/parse.hpp>
#include <charconv>

#include "cli/init_db.h"
#include "store/memory/indexed_store.h"
#include "store/postgres/postgres_journal.h"
#include "store/redis/redis_store.h"

namespace cidrotor::app {
namespace {

core::IndexOptions IndexOptionsOf(const Config& config) {
  core::IndexOptions index;
  index.default_hourly_cap = config.default_hourly_limit;
  index.default_daily_cap = config.default_daily_limit;
  index.default_ttl = config.default_reservation_ttl;
  return index;
}

core::Result<ServeStore> OpenEmbedded(const Config& config, const core::Clock& clock,
                                      const core::Calendar& calendar) {
  // Held while serving: a direct `cidrotor import` on this data directory is refused (it would
  // write rows this process's index never sees) and told to use --via-api (cli/data_dir_lock.h).
  auto lock = cli::DataDirLock::Acquire(config.data_dir, "serve");
  if (!lock) return core::Fail(std::move(lock.error()));
  auto journal = cli::OpenDataDirJournal(config.data_dir);
  if (!journal) return core::Fail(std::move(journal.error()));
  store::IndexedStoreOptions options;
  options.index = IndexOptionsOf(config);
  options.rate_limit_per_agent = config.default_rate_limit_per_agent;
  auto store = store::IndexedStore::Open(clock, calendar, options, std::move(*journal));
  if (!store) return core::Fail(std::move(store.error()));
  ServeStore opened;
  opened.store = std::move(*store);
  opened.data_dir_lock.emplace(std::move(*lock));
  opened.mode = DeploymentMode::kEmbedded;
  opened.where = "data_dir=" + config.data_dir;
  return opened;
}

core::Result<ServeStore> OpenCluster(const Config& config, const core::Clock& clock,
                                     const core::Calendar& calendar) {
  auto redis = RedisSettings(config);
  if (!redis) return core::Fail(std::move(redis.error()));
  store::PostgresOptions postgres;
  postgres.connection = PostgresSettings(config);
  auto journal = store::PostgresJournal::Open(postgres);
  if (!journal) return core::Fail(std::move(journal.error()));
  store::RedisStoreOptions options;
  options.index = IndexOptionsOf(config);
  options.rate_limit_per_agent = config.default_rate_limit_per_agent;
  options.redis.connection = *redis;
  auto store = store::RedisStore::Open(clock, calendar, options, std::move(*journal));
  if (!store) return core::Fail(std::move(store.error()));
  ServeStore opened;
  opened.store = std::move(*store);
  opened.mode = DeploymentMode::kCluster;
  opened.where = fmt::format("redis={}:{}/{}", redis->host, redis->port, redis->db);
  return opened;
}

}  // namespace

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
  store::redis::ConnectionOptions options;
  if (config.redis_url.empty()) {
    options.host = config.redis_host;
    options.port = config.redis_port;
    return options;
  }
  const auto bad = [](std::string_view why) {
    return core::Fail(core::Error::InvalidArgument(
        "REDIS_URL",
        fmt::format("REDIS_URL: {} (expected redis://[:password@]host[:port][/db])", why)));
  };
  auto url = boost::urls::parse_uri(config.redis_url);
  if (!url) return bad("not a URL");
  if (url->scheme() != "redis") return bad("the scheme must be redis://");
  if (url->host().empty()) return bad("no host");
  options.host = std::string(url->host());
  if (url->has_port()) {
    if (url->port_number() == 0) return bad("not a port number");
    options.port = url->port_number();
  }
  if (url->has_password()) options.password = std::string(url->password());
  std::string_view path = url->encoded_path();
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty()) {
    const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), options.db);
    if (ec != std::errc() || end != path.data() + path.size() || options.db < 0) {
      return bad("the path must be a database number");
    }
  }
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
