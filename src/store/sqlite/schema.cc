#include "store/sqlite/schema.h"

#include <spdlog/spdlog.h>

#include <array>
#include <string>
#include <string_view>

namespace cidrotor::store::sqlite {
namespace {

// Migration N is kMigrations[N - 1]. Never edit a migration that has shipped: add one.
//
// Column conventions (DESIGN-NOTES §5):
// - caller_ids: the seed's table had a surrogate `id` plus a unique text `caller_id`; here the
//   10-digit number itself is the INTEGER PRIMARY KEY (the rowid), which makes the import and the
//   start-up scan in key order about twice as fast. There is no separate `id` column: the
//   caller_id IS the key. Times are compact seconds (core::CompactTime, seconds since
//   2020-01-01 UTC; last_used 0 = never). A NULL hourly_limit/daily_limit means "use the
//   configured default" (NumberSpec cap 0). hour_start/hourly_used and day_start/daily_used are
//   the window counters the group-commit writer keeps current, so start-up never replays history.
//   area_code is derived from caller_id (kept for the seed's readers); meta is the seed's JSON
//   column, kept and never interpreted. The text columns and is_active accept NULL, as rows
//   copied from the seed's database may carry it: NULL reads as empty, pool "default", active.
// - reservations: id is the reservation id (ids grow, so id order is age order); times are Unix
//   milliseconds; released_at/outcome/duration are NULL until an early release (expiry leaves
//   them NULL); match is core::MatchTierName, outcome core::CallOutcomeName. No index on
//   caller_id: with a big pool each allocation would dirty a random index page in the group
//   commit (measured: 13 % of allocate+release throughput, 18 % with reserved_at in it). So
//   the lookup (who used a number last, which of its calls reached a party) follows links (4):
//   caller_ids.last_reservation_id names the number's newest reservation, written in the same
//   UPDATE as its usage counters, and reservations.previous_id the same number's one before
//   (NULL: none, or made before schema 4 without one).
// - api_logs: one row per API request; timestamp in Unix milliseconds, with no index of its own
//   (ids grow with time, so a time range is an id range, and an index is one more write per
//   request); response_time_ms keeps the seed's name and unit (fractional milliseconds). Plain
//   INTEGER PRIMARY KEY (no AUTOINCREMENT): pruning deletes the oldest rows, so ids are never
//   reused.
// - caller_ids.warm_from (5): the local midnight (compact seconds) of the day a number entered the
//   pool without a usage history, from which its daily cap ramps up (core/warm_up.h); 0 =
//   established. Written by the index's choice (NumberUpserted) or, by `cidrotor import`, for a
//   new row without last_used.
// - caller_ids.rest_until (6): resting (out of rotation) until then, compact seconds; 0 = not.
//   An admin's rest (PATCH); the number comes back by itself.
// - deleted_numbers (7): a deleted number's usage (caller_ids' usage columns), kept until
//   keep_until (compact seconds) so that the number added again takes it back
//   (store/deleted_usage.h). Written with the delete; ignored while the number is in caller_ids
//   again (the next delete replaces it). Each delete drops up to 64 rows past their keep_until
//   (indexed), so the table holds about the deletes of the last day.
// - retired_numbers (8): a deleted number's link to its newest reservation (caller_ids'
//   last_reservation_id, written with the delete when it has one), so that the lookup still
//   follows a retired number's calls (callbacks come for days). Also the start of the walk for a
//   number added back and not used since, and the previous_id of its first reservation since.
//   One row per number ever deleted, never pruned (16 bytes each); a link to a pruned
//   reservation reads as none.
// - campaign_pools: which pool serves a campaign (unmapped campaigns use pool "default").
// - pool_settings (2): a pool's own settings; fallback 'any' (the default, also for pools with
//   no row) or 'none' (no `any` tier).
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE caller_ids (
  caller_id    INTEGER PRIMARY KEY,
  carrier      TEXT    DEFAULT '',
  area_code    TEXT,
  hourly_limit INTEGER,
  daily_limit  INTEGER,
  is_active    INTEGER DEFAULT 1,
  pool         TEXT    DEFAULT 'default',
  state        TEXT    DEFAULT '',
  last_used    INTEGER NOT NULL DEFAULT 0,
  hour_start   INTEGER NOT NULL DEFAULT 0,
  hourly_used  INTEGER NOT NULL DEFAULT 0,
  day_start    INTEGER NOT NULL DEFAULT 0,
  daily_used   INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL DEFAULT 0,
  meta         TEXT
);
CREATE INDEX caller_ids_area_code ON caller_ids(area_code);

CREATE TABLE reservations (
  id             INTEGER PRIMARY KEY,
  caller_id      INTEGER NOT NULL,
  reserved_at    INTEGER NOT NULL,
  reserved_until INTEGER NOT NULL,
  agent          TEXT    NOT NULL DEFAULT '',
  campaign       TEXT    NOT NULL DEFAULT '',
  destination    TEXT    NOT NULL DEFAULT '',
  pool           TEXT    NOT NULL DEFAULT '',
  lead_id        INTEGER,
  match          TEXT    NOT NULL DEFAULT 'any',
  released_at    INTEGER,
  outcome        TEXT,
  duration       INTEGER
);
CREATE INDEX reservations_until ON reservations(reserved_until);

CREATE TABLE api_logs (
  id                  INTEGER PRIMARY KEY,
  timestamp           INTEGER NOT NULL,
  endpoint            TEXT    NOT NULL DEFAULT '',
  method              TEXT    NOT NULL DEFAULT '',
  agent               TEXT    NOT NULL DEFAULT '',
  campaign            TEXT    NOT NULL DEFAULT '',
  caller_id_allocated TEXT    NOT NULL DEFAULT '',
  response_time_ms    REAL    NOT NULL DEFAULT 0,
  status_code         INTEGER NOT NULL DEFAULT 0
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
    // 4: the lookup's links (see reservations above), filled in for the history kept so far.
    R"sql(
ALTER TABLE caller_ids ADD COLUMN last_reservation_id INTEGER;
ALTER TABLE reservations ADD COLUMN previous_id INTEGER;
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
    // 5: warm-up (see caller_ids above). Numbers added before it are established.
    R"sql(
ALTER TABLE caller_ids ADD COLUMN warm_from INTEGER NOT NULL DEFAULT 0;
)sql",
    // 6: an admin's rest (see caller_ids above). Numbers added before it are not resting.
    R"sql(
ALTER TABLE caller_ids ADD COLUMN rest_until INTEGER NOT NULL DEFAULT 0;
)sql",
    // 7: deleted numbers' usage (see deleted_numbers above).
    R"sql(
CREATE TABLE deleted_numbers (
  caller_id   INTEGER PRIMARY KEY,
  last_used   INTEGER NOT NULL DEFAULT 0,
  hour_start  INTEGER NOT NULL DEFAULT 0,
  hourly_used INTEGER NOT NULL DEFAULT 0,
  day_start   INTEGER NOT NULL DEFAULT 0,
  daily_used  INTEGER NOT NULL DEFAULT 0,
  warm_from   INTEGER NOT NULL DEFAULT 0,
  rest_until  INTEGER NOT NULL DEFAULT 0,
  keep_until  INTEGER NOT NULL
);
CREATE INDEX deleted_numbers_keep ON deleted_numbers(keep_until);
)sql",
    // 8: deleted numbers' link to their newest reservation (see retired_numbers above).
    R"sql(
CREATE TABLE retired_numbers (
  caller_id           INTEGER PRIMARY KEY,
  last_reservation_id INTEGER NOT NULL
);
)sql",
};

constexpr std::string_view kCreateMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version    INTEGER PRIMARY KEY,"
    "  applied_at INTEGER NOT NULL)";

core::Error TooNew(int found) {
  return core::Error::Unavailable("database schema version " + std::to_string(found) +
                                  " is newer than version " + std::to_string(kSchemaVersion) +
                                  ", the newest this cidrotor knows: upgrade cidrotor");
}

}  // namespace

core::Result<void> ConfigureConnection(Database& db, Database::Access access, Durability durability,
                                       std::chrono::milliseconds busy_timeout) {
  // busy_timeout first: switching to WAL takes a lock another process may hold.
  auto ok =
      db.Exec("PRAGMA busy_timeout = " + std::to_string(busy_timeout.count()), "set busy_timeout");
  if (!ok) return ok;
  if (access == Database::Access::kReadWrite) {
    // WAL lets the reader connection read while the writer commits, and makes a commit one
    // append + fsync. It is a property of the file: readers inherit it.
    auto mode = db.QueryText("PRAGMA journal_mode = WAL", "set journal_mode");
    if (!mode) return core::Fail(mode.error());
    if (*mode != "wal") {
      return core::Fail(
          core::Error::Unavailable("sqlite: the database refused WAL mode (got '" + *mode + "')"));
    }
  }
  ok = db.Exec(
      durability == Durability::kFull ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
      "set synchronous");
  if (!ok) return ok;
  // wal_autocheckpoint stays at SQLite's default (1000 pages): the checkpoint then runs inside
  // the commit that crosses it, so an occasional batch is slower (DESIGN-NOTES §4).
  return db.Exec("PRAGMA foreign_keys = OFF", "set foreign_keys");
}

core::Result<int> ReadSchemaVersion(Database& db) {
  auto exists = db.QueryInt64(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
      "find schema_migrations");
  if (!exists) return core::Fail(exists.error());
  if (!exists->has_value()) return 0;
  auto version = db.QueryInt64("SELECT MAX(version) FROM schema_migrations", "read version");
  if (!version) return core::Fail(version.error());
  return static_cast<int>(version->value_or(0));
}

core::Result<int> Migrate(Database& db) {
  // Cheap check first, so an up-to-date database (every start) takes no write lock.
  auto before = ReadSchemaVersion(db);
  if (!before) return before;
  if (*before > kSchemaVersion) return core::Fail(TooNew(*before));
  if (*before == kSchemaVersion) return before;

  auto created = db.Exec(std::string(kCreateMigrationsTable), "create schema_migrations");
  if (!created) return core::Fail(created.error());
  while (true) {
    // BEGIN IMMEDIATE takes the write lock before reading the version: another process migrating
    // the same file at the same time waits (busy_timeout) and then finds the work done.
    auto begun = db.Exec("BEGIN IMMEDIATE", "begin migration");
    if (!begun) return core::Fail(begun.error());
    auto current = ReadSchemaVersion(db);
    core::Result<void> step;
    if (!current) {
      step = core::Fail(current.error());
    } else if (*current > kSchemaVersion) {
      step = core::Fail(TooNew(*current));
    } else if (*current == kSchemaVersion) {
      return db.Exec("COMMIT", "commit migration").and_then([&]() -> core::Result<int> {
        return *before;
      });
    } else {
      const int next = *current + 1;
      if (*before > 0) {  // an existing store: the history may be big, say why start-up waits
        spdlog::info("sqlite: migrating the schema to version {}{}", next,
                     next == 4 ? " (links every reservation kept: about 20 s per million)" : "");
      }
      step = db.Exec(std::string(kMigrations[static_cast<std::size_t>(next - 1)]),
                     "apply migration " + std::to_string(next));
      if (step) {
        step = db.Exec("INSERT INTO schema_migrations(version, applied_at) VALUES(" +
                           std::to_string(next) + ", CAST(strftime('%s', 'now') AS INTEGER))",
                       "record migration");
      }
      if (step) step = db.Exec("COMMIT", "commit migration");
      if (step) continue;
    }
    (void)db.Exec("ROLLBACK", "roll back migration");  // the first error is the one to report
    return core::Fail(step.error());
  }
}

}  // namespace cidrotor::store::sqlite
