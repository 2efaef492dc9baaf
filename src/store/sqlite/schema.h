// The embedded store's SQLite schema and its versioned migrations.
//
// Every schema change is a numbered migration, applied in order, each in its own transaction
// that also records `(version, applied_at)` in `schema_migrations`. Opening a database at an
// older version migrates it; one at a newer version than this binary knows is refused, so an
// old binary never writes into a schema it does not understand. Migration 1 creates the tables
// (caller_ids, reservations, api_logs, campaign_pools) and their indexes; docs in schema.cc.
//
// Thread-safety: functions use the Database they are given; see sqlite_db.h.
#pragma once

#include <chrono>

#include "core/result.h"
#include "store/sqlite/sqlite_db.h"

namespace cidrotor::store::sqlite {

// The newest schema version this binary knows (the number of migrations).
inline constexpr int kSchemaVersion = 8;

enum class Durability {
  kFull,    // synchronous=FULL: a commit survives power loss (one fsync per commit)
  kNormal,  // synchronous=NORMAL: survives a process crash (kill -9), not power loss
};

// Sets the connection's pragmas: WAL journal (read-write connections switch the file to it),
// `synchronous` per `durability`, `busy_timeout`, foreign_keys off.
// Errors: kUnavailable when a pragma fails or the file refuses WAL mode.
[[nodiscard]] core::Result<void> ConfigureConnection(Database& db, Database::Access access,
                                                     Durability durability,
                                                     std::chrono::milliseconds busy_timeout);

// Brings the schema to kSchemaVersion. Returns the version found before migrating (0 for a new
// database). Safe against another process migrating the same file at the same time.
// Errors: kUnavailable on SQLite failures, or when the database's version is newer than
// kSchemaVersion (the detail names both versions).
// REQUIRES: a read-write connection outside any transaction.
[[nodiscard]] core::Result<int> Migrate(Database& db);

// The version recorded in the database (0 when it has no schema_migrations table).
// Errors: kUnavailable on SQLite failures.
[[nodiscard]] core::Result<int> ReadSchemaVersion(Database& db);

}  // namespace cidrotor::store::sqlite
