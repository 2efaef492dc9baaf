// Cluster mode's PostgreSQL schema and its versioned migrations: the same tables and columns as
// the embedded SQLite schema (store/sqlite/schema.cc documents the column conventions), in
// PostgreSQL's dialect.
//
// Every schema change is a numbered migration, applied in order, each in one transaction that
// also records `(version, applied_at)` in `schema_migrations`. A database at an older version is
// migrated; one at a newer version than this binary knows is refused, so an old binary never
// writes into a schema it does not understand. Any number of instances may start at once: the
// migration runs under a session-level advisory lock, so one migrates and the others wait, then
// find the work done.
//
// Thread-safety: functions use the Connection they are given; see pg_connection.h.
#pragma once

#include "core/result.h"
#include "store/postgres/pg_connection.h"

namespace cidrotor::store::postgres {

// The newest schema version this binary knows (the number of migrations).
inline constexpr int kSchemaVersion = 11;

// Brings the schema (in the connection's search_path) to kSchemaVersion. Returns the version
// found before migrating (0 for an empty database). A migration (and the wait for another
// instance's) may take longer than the connection's statement timeout: it gets up to an hour
// (a backfill of a long history; schema.cc).
// Errors: kUnavailable on server failures, or when the database's version is newer than
// kSchemaVersion (the detail names both versions).
[[nodiscard]] core::Result<int> Migrate(Connection& conn);

// The version recorded in the database (0 when it has no schema_migrations table).
// Errors: kUnavailable.
[[nodiscard]] core::Result<int> ReadSchemaVersion(Connection& conn);

}  // namespace cidrotor::store::postgres
