#include "store/sqlite/batch_writer.h"

#include <sqlite3.h>

#include <string_view>
#include <utility>

#include "store/row_codec.h"

namespace cidrotor::store::sqlite {
namespace {

// created_at is set once, by the database clock, when the row is first inserted (compact
// seconds like the other caller_ids times); an upsert of an existing number keeps it, and meta.
constexpr std::string_view kUpsertNumber = R"sql(
INSERT INTO caller_ids(caller_id, carrier, area_code, hourly_limit, daily_limit, is_active, pool,
                       state, last_used, hour_start, hourly_used, day_start, daily_used, warm_from,
                       rest_until, created_at)
VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
       MAX(CAST(strftime('%s', 'now') AS INTEGER) - 1577836800, 0))
ON CONFLICT(caller_id) DO UPDATE SET
  carrier = excluded.carrier, area_code = excluded.area_code,
  hourly_limit = excluded.hourly_limit, daily_limit = excluded.daily_limit,
  is_active = excluded.is_active, pool = excluded.pool, state = excluded.state,
  last_used = excluded.last_used, hour_start = excluded.hour_start,
  hourly_used = excluded.hourly_used, day_start = excluded.day_start,
  daily_used = excluded.daily_used, warm_from = excluded.warm_from,
  rest_until = excluded.rest_until
)sql";

constexpr std::string_view kDeleteNumber = "DELETE FROM caller_ids WHERE caller_id = ?1";
// Before the delete: the number's link to its newest reservation, for the lookup (schema.cc
// retired_numbers). A number never used keeps the link of an earlier life, if any.
constexpr std::string_view kRetireNumber = R"sql(
INSERT OR REPLACE INTO retired_numbers(caller_id, last_reservation_id)
SELECT caller_id, last_reservation_id FROM caller_ids
WHERE caller_id = ?1 AND last_reservation_id IS NOT NULL
)sql";

// A deleted number's usage (store/deleted_usage.h), or (keep_until 0) none: an older row goes.
constexpr std::string_view kKeepDeleted = R"sql(
INSERT OR REPLACE INTO deleted_numbers(caller_id, last_used, hour_start, hourly_used, day_start,
                                       daily_used, warm_from, rest_until, keep_until)
VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
)sql";
constexpr std::string_view kForgetDeleted = "DELETE FROM deleted_numbers WHERE caller_id = ?1";
// Up to 64 rows whose time is over: each delete clears up after earlier ones.
constexpr std::string_view kSweepDeleted = R"sql(
DELETE FROM deleted_numbers
WHERE caller_id IN (SELECT caller_id FROM deleted_numbers WHERE keep_until <= ?1 LIMIT 64)
)sql";

// previous_id: the one given, else the number's newest so far (this writer applies every
// reservation in order, so that is exact); a page the usage UPDATE below reads anyway. A number's
// first reservation since it was added back continues from the link its delete left
// (retired_numbers): read only when the others are NULL (COALESCE stops at the first value).
constexpr std::string_view kInsertReservation = R"sql(
INSERT INTO reservations(id, caller_id, reserved_at, reserved_until, agent, campaign, destination,
                         pool, lead_id, match, previous_id)
VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,
       COALESCE(?11, (SELECT last_reservation_id FROM caller_ids WHERE caller_id = ?2),
                (SELECT last_reservation_id FROM retired_numbers WHERE caller_id = ?2)))
)sql";

constexpr std::string_view kUpdateUsage = R"sql(
UPDATE caller_ids SET last_used = ?2, hour_start = ?3, hourly_used = ?4, day_start = ?5,
                      daily_used = ?6, last_reservation_id = ?7
WHERE caller_id = ?1
)sql";

constexpr std::string_view kReleaseReservation = R"sql(
UPDATE reservations SET released_at = ?2, outcome = ?3, duration = ?4
WHERE id = ?1 AND released_at IS NULL AND (?5 = 0 OR reserved_until <= ?2)
)sql";

constexpr std::string_view kInsertLog = R"sql(
INSERT INTO api_logs(timestamp, endpoint, method, agent, campaign, caller_id_allocated,
                     response_time_ms, status_code)
VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
)sql";

constexpr std::string_view kUpsertCampaignPool = R"sql(
INSERT INTO campaign_pools(campaign, pool) VALUES(?1, ?2)
ON CONFLICT(campaign) DO UPDATE SET pool = excluded.pool
)sql";

constexpr std::string_view kDeleteCampaignPool = "DELETE FROM campaign_pools WHERE campaign = ?1";

constexpr std::string_view kUpsertPoolSettings = R"sql(
INSERT INTO pool_settings(pool, fallback) VALUES(?1, ?2)
ON CONFLICT(pool) DO UPDATE SET fallback = excluded.fallback
)sql";

// The lowest ids first, deleting those that are old: the primary key bounds the read to `limit`
// rows, where a WHERE on timestamp alone (no index) would scan the whole table when nothing is old.
// The highest id stays: an emptied INTEGER PRIMARY KEY table would hand out its ids again.
constexpr std::string_view kPruneLogs = R"sql(
DELETE FROM api_logs
WHERE id IN (SELECT id FROM api_logs ORDER BY id LIMIT ?2) AND timestamp < ?1
  AND id < (SELECT MAX(id) FROM api_logs)
)sql";

// By reserved_until (indexed); the highest id stays: Load() continues the ids above it. It is
// left out before the LIMIT, so a full chunk still means "maybe more".
constexpr std::string_view kPruneReservations = R"sql(
DELETE FROM reservations
WHERE id IN (SELECT id FROM reservations
             WHERE reserved_until < ?1 AND id < (SELECT MAX(id) FROM reservations)
             ORDER BY reserved_until LIMIT ?2)
)sql";

std::optional<std::int64_t> CapColumn(std::uint16_t cap) {
  if (cap == 0) return std::nullopt;  // no cap of its own: NULL, the configured default applies
  return cap;
}

std::int64_t Digits(core::PhoneNumber number) { return static_cast<std::int64_t>(number.digits()); }

}  // namespace

core::Result<BatchWriter> BatchWriter::Create(Database& db) {
  BatchWriter w;
  struct Item {
    Statement* target;
    std::string_view sql;
    std::string_view what;
  };
  const Item items[] = {
      {&w.begin_, "BEGIN IMMEDIATE", "begin batch"},
      {&w.commit_, "COMMIT", "commit batch"},
      {&w.rollback_, "ROLLBACK", "roll back batch"},
      {&w.upsert_number_, kUpsertNumber, "upsert caller_ids"},
      {&w.retire_number_, kRetireNumber, "insert retired_numbers"},
      {&w.delete_number_, kDeleteNumber, "delete caller_ids"},
      {&w.keep_deleted_, kKeepDeleted, "keep deleted_numbers"},
      {&w.forget_deleted_, kForgetDeleted, "forget deleted_numbers"},
      {&w.sweep_deleted_, kSweepDeleted, "sweep deleted_numbers"},
      {&w.insert_reservation_, kInsertReservation, "insert reservations"},
      {&w.update_usage_, kUpdateUsage, "update caller_ids usage"},
      {&w.release_reservation_, kReleaseReservation, "release reservations"},
      {&w.insert_log_, kInsertLog, "insert api_logs"},
      {&w.upsert_campaign_pool_, kUpsertCampaignPool, "upsert campaign_pools"},
      {&w.delete_campaign_pool_, kDeleteCampaignPool, "delete campaign_pools"},
      {&w.upsert_pool_settings_, kUpsertPoolSettings, "upsert pool_settings"},
      {&w.prune_logs_, kPruneLogs, "prune api_logs"},
      {&w.prune_reservations_, kPruneReservations, "prune reservations"},
  };
  for (const Item& item : items) {
    auto stmt = db.Prepare(item.sql, item.what);
    if (!stmt) return core::Fail(stmt.error());
    *item.target = std::move(*stmt);
  }
  w.connection_ = db.handle();
  return w;
}

core::Result<void> BatchWriter::WriteBatch(std::span<const JournalEntry* const> entries,
                                           std::span<const ApiLogEntry> logs) {
  auto ok = begin_.Run();
  if (!ok) return ok;
  for (const JournalEntry* entry : entries) {
    ok = std::visit([this](const auto& e) { return Apply(e); }, *entry);
    if (!ok) break;
  }
  for (std::size_t i = 0; ok && i < logs.size(); ++i) ok = Apply(logs[i]);
  if (ok) ok = commit_.Run();
  if (!ok) {
    // A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY); a failed statement
    // inside it always does. ROLLBACK's own error (no transaction) is not the one to report.
    (void)rollback_.Run();
  }
  return ok;
}

core::Result<PruneResult> BatchWriter::PruneChunk(const PruneCutoffs& cutoffs, std::size_t limit) {
  PruneResult pruned;
  auto ok = begin_.Run();
  if (!ok) return core::Fail(ok.error());
  const auto prune = [&](Statement& st, const std::optional<core::TimePoint>& before,
                         std::uint64_t& count) -> core::Result<void> {
    if (!before) return {};
    st.BindInt64(1, ToUnixMs(*before));
    st.BindInt64(2, static_cast<std::int64_t>(limit));
    auto run = st.Run();
    if (run) count = static_cast<std::uint64_t>(sqlite3_changes64(connection_));
    return run;
  };
  ok = prune(prune_logs_, cutoffs.api_logs_before, pruned.api_logs);
  if (ok) ok = prune(prune_reservations_, cutoffs.reservations_before, pruned.reservations);
  if (ok) ok = commit_.Run();
  if (!ok) {
    (void)rollback_.Run();
    return core::Fail(ok.error());
  }
  return pruned;
}

core::Result<void> BatchWriter::Apply(const NumberUpserted& e) {
  const core::NumberSpec& s = e.spec;
  char area_code[3];
  AreaCodeText(s.caller_id, area_code);
  Statement& st = upsert_number_;
  st.BindInt64(1, Digits(s.caller_id));
  st.BindText(2, s.carrier);
  st.BindText(3, std::string_view(area_code, sizeof area_code));
  st.BindOptionalInt64(4, CapColumn(s.hourly_cap));
  st.BindOptionalInt64(5, CapColumn(s.daily_cap));
  st.BindInt64(6, s.active ? 1 : 0);
  st.BindText(7, s.pool);
  st.BindText(8, s.state);
  int column = 9;
  ForEachUsageColumn(e.usage, [&](std::int64_t value) { st.BindInt64(column++, value); });
  return st.Run();
}

core::Result<void> BatchWriter::Apply(const NumberDeleted& e) {
  retire_number_.BindInt64(1, Digits(e.caller_id));
  auto ok = retire_number_.Run();
  if (!ok) return ok;
  delete_number_.BindInt64(1, Digits(e.caller_id));
  ok = delete_number_.Run();
  if (!ok) return ok;
  sweep_deleted_.BindInt64(1, core::ToCompact(e.at));
  ok = sweep_deleted_.Run();
  if (!ok) return ok;
  if (e.kept.keep_until == 0) {
    forget_deleted_.BindInt64(1, Digits(e.caller_id));
    return forget_deleted_.Run();
  }
  Statement& st = keep_deleted_;
  st.BindInt64(1, Digits(e.caller_id));
  int column = 2;
  ForEachUsageColumn(e.kept.usage, [&](std::int64_t value) { st.BindInt64(column++, value); });
  st.BindInt64(9, e.kept.keep_until);
  return st.Run();
}

core::Result<void> BatchWriter::Apply(const ReservationMade& e) {
  const core::Reservation& r = e.reservation;
  Statement& st = insert_reservation_;
  st.BindInt64(1, static_cast<std::int64_t>(r.id));
  st.BindInt64(2, Digits(r.caller_id));
  st.BindInt64(3, ToUnixMs(r.reserved_at));
  st.BindInt64(4, ToUnixMs(r.reserved_until));
  st.BindText(5, r.agent);
  st.BindText(6, r.campaign);
  st.BindText(7, r.destination.ToString());
  st.BindText(8, r.pool);
  st.BindOptionalInt64(9, r.lead_id.has_value()
                              ? std::optional<std::int64_t>(static_cast<std::int64_t>(*r.lead_id))
                              : std::nullopt);
  st.BindText(10, core::MatchTierName(r.match));
  st.BindOptionalInt64(
      11, e.previous_id != 0 ? std::optional<std::int64_t>(static_cast<std::int64_t>(e.previous_id))
                             : std::nullopt);
  auto ok = st.Run();
  if (!ok) return ok;

  Statement& u = update_usage_;
  u.BindInt64(1, Digits(r.caller_id));
  u.BindInt64(2, e.usage.last_used);
  u.BindInt64(3, e.usage.hour_start);
  u.BindInt64(4, e.usage.hourly_used);
  u.BindInt64(5, e.usage.day_start);
  u.BindInt64(6, e.usage.daily_used);
  u.BindInt64(7, static_cast<std::int64_t>(r.id));
  return u.Run();
}

core::Result<void> BatchWriter::Apply(const ReservationReleased& e) {
  Statement& st = release_reservation_;
  st.BindInt64(1, static_cast<std::int64_t>(e.reservation_id));
  st.BindInt64(2, ToUnixMs(e.released_at));
  st.BindTextOrNull(3, core::CallOutcomeName(e.outcome));  // kUnknown's name is empty: NULL
  st.BindOptionalInt64(4, e.duration_seconds.has_value()
                              ? std::optional<std::int64_t>(*e.duration_seconds)
                              : std::nullopt);
  st.BindInt64(5, e.late ? 1 : 0);  // a late outcome: only for a reservation ended by then
  return st.Run();
}

core::Result<void> BatchWriter::Apply(const ApiLogEntry& e) {
  Statement& st = insert_log_;
  st.BindInt64(1, ToUnixMs(e.timestamp));
  st.BindText(2, e.endpoint);
  st.BindText(3, e.method);
  st.BindText(4, e.agent);
  st.BindText(5, e.campaign);
  st.BindText(6, e.caller_id_allocated);
  st.BindDouble(7, static_cast<double>(e.response_time_us) / 1000.0);
  st.BindInt64(8, e.status_code);
  return st.Run();
}

core::Result<void> BatchWriter::Apply(const PoolSettingsChanged& e) {
  upsert_pool_settings_.BindText(1, e.settings.pool);
  upsert_pool_settings_.BindText(2, FallbackName(e.settings.fallback_any));
  return upsert_pool_settings_.Run();
}

core::Result<void> BatchWriter::Apply(const CampaignPoolChanged& e) {
  if (!e.pool) {
    delete_campaign_pool_.BindText(1, e.campaign);
    return delete_campaign_pool_.Run();
  }
  upsert_campaign_pool_.BindText(1, e.campaign);
  upsert_campaign_pool_.BindText(2, *e.pool);
  return upsert_campaign_pool_.Run();
}

}  // namespace cidrotor::store::sqlite
