#include "store/postgres/schema.h"

#include <array>
#include <chrono>
#include <string>
#include <string_view>

namespace cidrotor::store::postgres {
namespace {

// Migration N is kMigrations[N - 1]. Never edit a migration that has shipped: add one.
//
// The columns mirror store/sqlite/schema.cc one for one (same names, same units: compact
// seconds in caller_ids, Unix milliseconds in reservations and api_logs), so the two stores hold
// the same rows and row_codec.h reads both. PostgreSQL-specific choices:
// - caller_id is a BIGINT primary key (10 digits do not fit an INTEGER);
// - is_active is a BOOLEAN (NULL, as in rows copied from the seed, reads as active);
// - meta is JSONB, the seed's JSON column, kept and never interpreted;
// - caller_ids is filled to 80 % per page: every allocation rewrites a number's usage columns,
//   and free room in its page lets that UPDATE be a HOT update (no index entry written);
// - api_logs.id is an identity column: concurrent instances each get ids from one sequence, and
//   ids still grow with time, so a time range is an id range (no index on timestamp);
// - reservations keep the index on reserved_until only (start-up reads the live ones); there is
//   none on caller_id, as in SQLite: one index write less per allocation (and a random index
//   page per allocation in the group commit: an index on (caller_id, reserved_at) cost 18 % of
//   allocate+release). So the lookup (who used a number last, which of its calls reached a
//   party) follows links instead (4): caller_ids.last_reservation_id names the number's newest
//   reservation (NULL: none), written by the UPDATE of its usage columns that every allocation
//   makes anyway, and reservations.previous_id the same number's reservation before it (NULL:
//   none, or unknown: made before schema 4, or its number's row was gone). A link may name a
//   reservation pruned since: the walk ends there. Neither column is indexed: the walk reads one
//   row per step by the primary key (batch_writer.h says how the cluster keeps them exact).
// - caller_ids.warm_from (5): the local midnight (compact seconds) of the day a number entered the
//   pool without a usage history, from which its daily cap ramps up (core/warm_up.h); 0 =
//   established. Written as Redis decided it (NumberUpserted, insert and update alike) or, by
//   `cidrotor import`, for a new row without last_used (bulk_import.h); allocations never touch
//   it. A rebuild hands it back to Redis (the number hash's `wf`).
// - caller_ids.rest_until (6): resting (out of rotation) until then, compact seconds; 0 (or a
//   time past) = not resting. An admin's rest (a PATCH); the number comes back by itself. Written
//   as the store holds it (NumberUpserted, insert and update alike); allocations and bulk imports
//   never write it (a new row gets 0, an existing one keeps its own). A rebuild hands it back to
//   Redis (the number hash's `rs`).
// - early_releases (7): a release whose reservation is not in the table yet. Each instance has a
//   writer of its own, so while PostgreSQL is down (or one instance cannot reach it) an allocation
//   acknowledged by one instance and released through another wait in two backlogs, flushed in
//   either order on reconnection: the release may come first. It waits here (same columns as
//   reservations' release columns) until a writer's sweep finds its reservation and moves it
//   over (batch_writer.h); a row whose reservation never comes (lost with a degraded instance)
//   goes with the history it would have belonged to (PruneChunk).
// - deleted_numbers (8): a deleted number's usage (caller_ids' usage columns), kept until
//   keep_until so that the number added again takes it back (store/deleted_usage.h), as SQLite's.
//   Written with the delete; ignored while the number is in caller_ids again; each delete drops up
//   to 64 rows past their keep_until (indexed). A rebuild hands the rows to Redis (cid:deleted).
// - retired_numbers (11): a deleted number's link to its newest reservation, as SQLite's
//   (sqlite/schema.cc): written by the delete that removes its caller_ids row, read by the lookup
//   when the number has no row (or a row without a link: added back, not used since) and for
//   the previous_id of a number's first reservation since it was added back.
// - number_versions (10): the order of each number's admin changes (store/journal.h
//   ChangeVersion: Redis's clock in microseconds when the change ran there), its newest change's
//   version and whether that was a delete (a tombstone). Each instance's writer commits its own
//   backlog, and after an outage the backlogs arrive in either order: a change older than the
//   number's row here changes nothing, so PostgreSQL ends with what Redis ended with. The row is
//   also the number's lock: a change claims it (INSERT … ON CONFLICT DO UPDATE, which waits for
//   another writer's uncommitted claim and then judges by it) before it touches caller_ids, so
//   two writers' changes of one number never interleave (batch_writer.cc). Numbers never
//   changed with a version (before 10, `cidrotor import`, init-db) have no row: older than any
//   change. Tombstones older than 30 days go with the history's pruning (PruneChunk).
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE caller_ids (
  caller_id    BIGINT  PRIMARY KEY,
  carrier      TEXT    DEFAULT '',
  area_code    TEXT,
  hourly_limit INTEGER,
  daily_limit  INTEGER,
  is_active    BOOLEAN DEFAULT TRUE,
  pool         TEXT    DEFAULT 'default',
  state        TEXT    DEFAULT '',
  last_used    BIGINT  NOT NULL DEFAULT 0,
  hour_start   BIGINT  NOT NULL DEFAULT 0,
  hourly_used  INTEGER NOT NULL DEFAULT 0,
  day_start    BIGINT  NOT NULL DEFAULT 0,
  daily_used   INTEGER NOT NULL DEFAULT 0,
  created_at   BIGINT  NOT NULL DEFAULT 0,
  meta         JSONB
) WITH (fillfactor = 80);
CREATE INDEX caller_ids_area_code ON caller_ids(area_code);

CREATE TABLE reservations (
  id             BIGINT  PRIMARY KEY,
  caller_id      BIGINT  NOT NULL,
  reserved_at    BIGINT  NOT NULL,
  reserved_until BIGINT  NOT NULL,
  agent          TEXT    NOT NULL DEFAULT '',
  campaign       TEXT    NOT NULL DEFAULT '',
  destination    TEXT    NOT NULL DEFAULT '',
  pool           TEXT    NOT NULL DEFAULT '',
  lead_id        BIGINT,
  match          TEXT    NOT NULL DEFAULT 'any',
  released_at    BIGINT,
  outcome        TEXT,
  duration       INTEGER
);
CREATE INDEX reservations_until ON reservations(reserved_until);

CREATE TABLE api_logs (
  id                  BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  timestamp           BIGINT           NOT NULL,
  endpoint            TEXT             NOT NULL DEFAULT '',
  method              TEXT             NOT NULL DEFAULT '',
  agent               TEXT             NOT NULL DEFAULT '',
  campaign            TEXT             NOT NULL DEFAULT '',
  caller_id_allocated TEXT             NOT NULL DEFAULT '',
  response_time_ms    DOUBLE PRECISION NOT NULL DEFAULT 0,
  status_code         INTEGER          NOT NULL DEFAULT 0
);

CREATE TABLE campaign_pools (
  campaign TEXT PRIMARY KEY,
  pool     TEXT NOT NULL
);
)sql",
    // 2: the pools' own settings (SPEC: a pool whose fallback is `none` has no `any` tier).
    R"sql(
CREATE TABLE pool_settings (
  pool     TEXT PRIMARY KEY,
  fallback TEXT NOT NULL DEFAULT 'any'
);
)sql",
    // 3: the sticky tier reads the recent allocations of leads back at start-up. Partial: an
    // allocation without a lead (most predictive dialing sends none) writes no index entry;
    // covering: start-up reads the index alone, not a table row per allocation.
    R"sql(
CREATE INDEX reservations_lead ON reservations(reserved_at, pool, lead_id, caller_id)
  WHERE lead_id IS NOT NULL;
)sql",
    // 4: the lookup's links (see reservations above), filled in for the history kept so far
    // (as SQLite's migration 4): each reservation links to the number's one before it by
    // (reserved_at, id), each number to its newest. Adding a NULL column rewrites nothing; the
    // two UPDATEs rewrite the rows that get a link, once.
    R"sql(
ALTER TABLE caller_ids ADD COLUMN last_reservation_id BIGINT;
ALTER TABLE reservations ADD COLUMN previous_id BIGINT;
UPDATE reservations SET previous_id = linked.previous_id
FROM (SELECT id, LAG(id) OVER (PARTITION BY caller_id ORDER BY reserved_at, id) AS previous_id
      FROM reservations) AS linked
WHERE linked.id = reservations.id AND linked.previous_id IS NOT NULL;
UPDATE caller_ids SET last_reservation_id = newest.id
FROM (SELECT caller_id, id, ROW_NUMBER() OVER (PARTITION BY caller_id
                                                ORDER BY reserved_at DESC, id DESC) AS age
      FROM reservations) AS newest
WHERE newest.caller_id = caller_ids.caller_id AND newest.age = 1;
)sql",
    // 5: warm-up (see caller_ids above). Numbers added before it are established. A NOT NULL
    // column with a constant default is catalog-only since PostgreSQL 11: no table rewrite.
    R"sql(
ALTER TABLE caller_ids ADD COLUMN warm_from BIGINT NOT NULL DEFAULT 0;
)sql",
    // 6: an admin's rest (see caller_ids above). Numbers added before it are not resting.
    R"sql(
ALTER TABLE caller_ids ADD COLUMN rest_until BIGINT NOT NULL DEFAULT 0;
)sql",
    // 7: releases that reached PostgreSQL before their allocation (see early_releases above).
    R"sql(
CREATE TABLE early_releases (
  id          BIGINT  PRIMARY KEY,
  released_at BIGINT  NOT NULL,
  outcome     TEXT,
  duration    INTEGER
);
)sql",
    // 8: deleted numbers' usage (see deleted_numbers above).
    R"sql(
CREATE TABLE deleted_numbers (
  caller_id   BIGINT  PRIMARY KEY,
  last_used   BIGINT  NOT NULL DEFAULT 0,
  hour_start  BIGINT  NOT NULL DEFAULT 0,
  hourly_used INTEGER NOT NULL DEFAULT 0,
  day_start   BIGINT  NOT NULL DEFAULT 0,
  daily_used  INTEGER NOT NULL DEFAULT 0,
  warm_from   BIGINT  NOT NULL DEFAULT 0,
  rest_until  BIGINT  NOT NULL DEFAULT 0,
  keep_until  BIGINT  NOT NULL
);
CREATE INDEX deleted_numbers_keep ON deleted_numbers(keep_until);
)sql",
    // 9: the history newest first by the time of the allocation: ids are not in time order
    // across instances (each takes a block of 1,024 at a time), so an instance with few calls
    // listed its new ones behind the other's older ones. Times only grow: each insert lands in
    // the index's last page.
    R"sql(
CREATE INDEX reservations_at ON reservations(reserved_at);
)sql",
    // 10: the admin changes' order (see number_versions above).
    R"sql(
CREATE TABLE number_versions (
  caller_id BIGINT  PRIMARY KEY,
  version   BIGINT  NOT NULL,
  deleted   BOOLEAN NOT NULL
);
CREATE INDEX number_versions_deleted ON number_versions(version) WHERE deleted;
)sql",
    // 11: deleted numbers' link to their newest reservation (see retired_numbers above).
    R"sql(
CREATE TABLE retired_numbers (
  caller_id           BIGINT PRIMARY KEY,
  last_reservation_id BIGINT NOT NULL
);
)sql",
};

// How long a migration may run, and another instance wait for it (the lock), instead of the
// connection's statement timeout: migration 4 rewrites every reservation, about 20 s per million
// on the 2-core test machine, with fsync on. Upgrades stop every instance first (docs/cluster.md),
// so nothing waits for allocations meanwhile.
constexpr std::chrono::milliseconds kMigrationTimeout = std::chrono::hours(1);

// One key for every cidrotor instance migrating this database (pg_advisory_lock's bigint).
constexpr std::string_view kLockKey = "7305121465839260417";

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version    INTEGER PRIMARY KEY,"
    "  applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";

core::Error TooNew(int found) {
  return core::Error::Unavailable("database schema version " + std::to_string(found) +
                                  " is newer than version " + std::to_string(kSchemaVersion) +
                                  ", the newest this cidrotor knows: upgrade cidrotor");
}

// Applies the missing migrations. REQUIRES: the advisory lock is held.
core::Result<int> MigrateLocked(Connection& conn) {
  auto ok = conn.Exec(kCreateMigrationsTable, "create schema_migrations");
  if (!ok) return core::Fail(ok.error());
  auto before = ReadSchemaVersion(conn);
  if (!before) return before;
  if (*before > kSchemaVersion) return core::Fail(TooNew(*before));
  for (int next = *before + 1; next <= kSchemaVersion; ++next) {
    // One simple-protocol message without BEGIN is one implicit transaction: the migration and
    // its record commit together or not at all.
    const std::string sql = std::string(kMigrations[static_cast<std::size_t>(next - 1)]) +
                            ";\nINSERT INTO schema_migrations(version) VALUES(" +
                            std::to_string(next) + ")";
    ok = conn.ExecLong(sql, "apply migration " + std::to_string(next), kMigrationTimeout);
    if (!ok) return core::Fail(ok.error());
  }
  return before;
}

}  // namespace

core::Result<int> ReadSchemaVersion(Connection& conn) {
  // Two statements: a query naming a missing table fails at parse time, whatever CASE guards it.
  bool exists = false;
  auto ok =
      conn.Exec("SELECT to_regclass('schema_migrations') IS NOT NULL", "find schema_migrations",
                [&](Rows rows) { exists = rows.size() > 0 && rows.Text(0, 0) == "t"; });
  if (!ok) return core::Fail(ok.error());
  if (!exists) return 0;
  int version = 0;
  ok = conn.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", "read schema version",
                 [&](Rows rows) {
                   if (rows.size() > 0) version = static_cast<int>(rows.Int64(0, 0));
                 });
  if (!ok) return core::Fail(ok.error());
  return version;
}

core::Result<int> Migrate(Connection& conn) {
  // Cheap check first, so an up-to-date database (every start) takes no lock.
  auto current = ReadSchemaVersion(conn);
  if (!current) return current;
  if (*current > kSchemaVersion) return core::Fail(TooNew(*current));
  if (*current == kSchemaVersion) return current;

  auto locked = conn.ExecLong("SELECT pg_advisory_lock(" + std::string(kLockKey) + ")",
                              "take the migration lock", kMigrationTimeout);
  if (!locked) return core::Fail(locked.error());
  auto before = MigrateLocked(conn);
  // A lost connection releases the lock by itself; the first error is the one to report.
  (void)conn.Exec("SELECT pg_advisory_unlock(" + std::string(kLockKey) + ")",
                  "release the migration lock");
  return before;
}

}  // namespace cidrotor::store::postgres
