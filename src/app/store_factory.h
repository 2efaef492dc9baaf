// The store of `cidrotor serve`, in the deployment mode SPEC's selection picks (config.h
// SelectMode): embedded (the SQLite journal in CIDROTOR_DATA_DIR under the in-memory index, the
// data directory locked against direct imports) or cluster (the PostgreSQL journal under the Redis
// store). With serve.cc, the only unit that knows every backend.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "app/config.h"
#include "cli/data_dir_lock.h"
#include "core/calendar.h"
#include "core/clock.h"
#include "core/number_index.h"
#include "core/result.h"
#include "store/history_pruner.h"
#include "store/postgres/pg_connection.h"
#include "store/redis/redis_connection.h"
#include "store/store.h"

namespace cidrotor::app {

struct ServeStore {
  std::unique_ptr<store::Store> store;
  std::optional<cli::DataDirLock> data_dir_lock;  // embedded: held while serving
  DeploymentMode mode = DeploymentMode::kEmbedded;
  std::string where;  // for the start-up log line, without secrets: "data_dir=./var", ...
};

// Opens and loads the store of `config`'s mode. Errors: kInvalidArgument naming the variable
// (a bad REDIS_URL, only one of PostgreSQL and Redis configured); kConflict (the data directory
// is locked by another process); kUnavailable (the store cannot be opened or loaded; a Redis that
// is down is not an error: the cluster store starts unable to allocate and recovers).
[[nodiscard]] core::Result<ServeStore> OpenServeStore(const Config& config,
                                                      const core::Clock& clock,
                                                      const core::Calendar& calendar);

// The DEFAULT_* caps and reservation TTL, as both stores take them.
core::IndexOptions IndexOptionsFor(const Config& config);
// API_LOG_RETENTION_DAYS and RESERVATION_RETENTION_DAYS.
store::HistoryRetention RetentionFor(const Config& config);

// PostgreSQL's settings from DATABASE_URL or the split POSTGRES_* variables.
store::postgres::ConnectionSettings PostgresSettings(const Config& config);

// Redis's address from REDIS_URL (store/redis/redis_url.h) or REDIS_HOST/REDIS_PORT.
// Errors: kInvalidArgument field "REDIS_URL".
[[nodiscard]] core::Result<store::redis::ConnectionOptions> RedisSettings(const Config& config);

}  // namespace cidrotor::app
