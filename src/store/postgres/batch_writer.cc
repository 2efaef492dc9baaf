#include "store/postgres/batch_writer.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "store/row_codec.h"

namespace cidrotor::store::postgres {
namespace {

// created_at is set once, by the database clock, when the row is first inserted (compact seconds
// since 2020-01-01 like the other caller_ids times); an upsert of an existing number keeps it,
// and meta. warm_from and rest_until are written as given, on insert and update alike: the store
// decided them (a PATCH hands back the number's own warm_from, and its rest as patched). The
// usage it carries is the number's as the change read it: an allocation made just after (in
// Redis) whose batch, another instance's, committed first holds newer counters, which the
// change must not take back (a Redis rebuild would then allow one call over the cap); "newer" as
// kUpdateUsages tells it. $16, the change's version (store/journal.h ChangeVersion): the change
// first claims the number's number_versions row (schema.cc), and applies only when it is not
// older than the number's newest change there (a delete that ran after it in Redis, another
// instance's, may have committed first). The claim waits for another writer's uncommitted claim
// of the number and then judges by it (ON CONFLICT DO UPDATE sees the newest committed row), and
// the INSERT below finds a row committed meanwhile (its conflict check is not bound to the
// statement's snapshot): so two writers' changes of one number apply in version order. 0 is
// applied as it comes, and claims nothing.
constexpr std::string_view kUpsertNumber = R"sql(
WITH claimed AS (
  INSERT INTO number_versions AS v(caller_id, version, deleted)
  SELECT $1::bigint, $16::bigint, FALSE WHERE $16::bigint <> 0
  ON CONFLICT(caller_id) DO UPDATE SET version = excluded.version, deleted = FALSE
  WHERE v.version <= excluded.version
  RETURNING 1)
INSERT INTO caller_ids AS c(caller_id, carrier, area_code, hourly_limit, daily_limit, is_active,
                            pool, state, last_used, hour_start, hourly_used, day_start,
                            daily_used, warm_from, rest_until, created_at)
SELECT $1::bigint, $2::text, $3::text, $4::integer, $5::integer, $6::boolean, $7::text, $8::text,
       $9::bigint, $10::bigint, $11::integer, $12::bigint, $13::integer, $14::bigint, $15::bigint,
       GREATEST(EXTRACT(EPOCH FROM now())::bigint - 1577836800, 0)
WHERE $16::bigint = 0 OR EXISTS (SELECT 1 FROM claimed)
ON CONFLICT(caller_id) DO UPDATE SET
  carrier = excluded.carrier, area_code = excluded.area_code,
  hourly_limit = excluded.hourly_limit, daily_limit = excluded.daily_limit,
  is_active = excluded.is_active, pool = excluded.pool, state = excluded.state,
  (last_used, hour_start, hourly_used, day_start, daily_used) =
    (SELECT CASE WHEN keep THEN c.last_used ELSE excluded.last_used END,
            CASE WHEN keep THEN c.hour_start ELSE excluded.hour_start END,
            CASE WHEN keep THEN c.hourly_used ELSE excluded.hourly_used END,
            CASE WHEN keep THEN c.day_start ELSE excluded.day_start END,
            CASE WHEN keep THEN c.daily_used ELSE excluded.daily_used END
     FROM (SELECT c.last_used >= excluded.last_used
                  AND (c.day_start, c.daily_used) > (excluded.day_start, excluded.daily_used)
                  AS keep) AS newer),
  warm_from = excluded.warm_from, rest_until = excluded.rest_until
)sql";

// The numbers a batch changes with a version, locked first, in caller_id order. A change claims
// its number's number_versions row before it touches caller_ids, but this batch may already hold
// that caller_ids row (an allocation of the number earlier in it: kUpdateUsages) while another
// writer's claim of the number waits for it, and this batch's own claim then waits for that
// writer: a deadlock (PostgreSQL cancels one batch, which is replayed after a reconnect).
// Taking every claim's row at the start, in one order, leaves no such cycle. A number without a
// row gets version 0, the same as none.
constexpr std::string_view kLockVersions = R"sql(
INSERT INTO number_versions AS v(caller_id, version, deleted)
SELECT unnest($1::bigint[]), 0, FALSE
ON CONFLICT(caller_id) DO UPDATE SET version = v.version
)sql";

// A delete with a version ($2, not 0) claims the number's number_versions row as kUpsertNumber
// does, leaving a tombstone (deleted) that older changes arriving later find; then, as a
// statement of its own (a snapshot taken after the claim's wait, which sees a row another
// writer committed meanwhile), deletes the row if the claim was its. Version 0 deletes as it
// comes.
constexpr std::string_view kClaimDelete = R"sql(
INSERT INTO number_versions AS v(caller_id, version, deleted) VALUES($1, $2, TRUE)
ON CONFLICT(caller_id) DO UPDATE SET version = excluded.version, deleted = TRUE
WHERE v.version <= excluded.version
)sql";
// The row's link to its newest reservation goes to retired_numbers (schema.cc), for the lookup.
constexpr std::string_view kDeleteNumber = R"sql(
WITH gone AS (
  DELETE FROM caller_ids WHERE caller_id = $1::bigint
    AND ($2::bigint = 0 OR EXISTS (SELECT 1 FROM number_versions v WHERE v.caller_id = $1::bigint
                                   AND v.version = $2::bigint AND v.deleted))
  RETURNING caller_id, last_reservation_id)
INSERT INTO retired_numbers(caller_id, last_reservation_id)
SELECT caller_id, last_reservation_id FROM gone WHERE last_reservation_id IS NOT NULL
ON CONFLICT(caller_id) DO UPDATE SET last_reservation_id = excluded.last_reservation_id
)sql";

// A deleted number's usage (store/deleted_usage.h) kept ($9, keep_until, not 0), or an older row
// of it dropped ($9 = 0); and up to 64 rows of other numbers whose time ($10) is over, so each
// delete clears up after earlier ones: those another instance's batch holds are skipped, so two
// instances' sweeps never wait for each other's rows (a deadlock once each also writes a row
// the other swept). The three touch disjoint rows. A delete with a version ($11, not 0) that
// lost its claim (kClaimDelete: a newer delete of the number committed first) keeps or drops
// nothing: the newer one's usage stays.
constexpr std::string_view kKeepDeleted = R"sql(
WITH swept AS (
  DELETE FROM deleted_numbers WHERE caller_id IN (
    SELECT caller_id FROM deleted_numbers
    WHERE keep_until <= $10::bigint AND caller_id <> $1::bigint LIMIT 64
    FOR UPDATE SKIP LOCKED)),
mine AS (SELECT $11::bigint = 0 OR EXISTS (SELECT 1 FROM number_versions v
                                           WHERE v.caller_id = $1::bigint
                                             AND v.version = $11::bigint AND v.deleted) AS applies),
forgot AS (DELETE FROM deleted_numbers WHERE caller_id = $1::bigint AND $9::bigint = 0
                                         AND (SELECT applies FROM mine))
INSERT INTO deleted_numbers(caller_id, last_used, hour_start, hourly_used, day_start, daily_used,
                            warm_from, rest_until, keep_until)
SELECT $1::bigint, $2::bigint, $3::bigint, $4::integer, $5::bigint, $6::integer, $7::bigint,
       $8::bigint, $9::bigint
WHERE $9::bigint <> 0 AND (SELECT applies FROM mine)
ON CONFLICT(caller_id) DO UPDATE SET
  last_used = excluded.last_used, hour_start = excluded.hour_start,
  hourly_used = excluded.hourly_used, day_start = excluded.day_start,
  daily_used = excluded.daily_used, warm_from = excluded.warm_from,
  rest_until = excluded.rest_until, keep_until = excluded.keep_until
)sql";

// previous_id (the lookup's link, schema.cc): the one the caller gave (Redis's, exact across
// instances) or the number's reservation before it in this group (AddReservations); only where
// neither is known (u.previous_id NULL), the number's newest as this transaction sees it. COALESCE
// evaluates the subquery for those rows only, so a batch whose links are all known reads nothing
// more than before: in cluster mode that is every allocation but a number's first (or its first
// since Redis was loaded by a binary older than schema 4: a rebuild loads each number's newest
// into Redis). The newest is taken only when it is not the later one of the two (the same test
// as the usage UPDATE's, below): another instance's batch with a later reservation that links to
// this one may have committed first, and linking back to it would make a cycle. $11..$13 (this
// reservation's usage) are sent only when some row needs them, else empty: unnest pads them with
// NULL, and then nothing reads them.
constexpr std::string_view kInsertReservations = R"sql(
INSERT INTO reservations(id, caller_id, reserved_at, reserved_until, agent, campaign, destination,
                         pool, lead_id, match, previous_id)
SELECT u.id, u.caller_id, u.reserved_at, u.reserved_until, u.agent, u.campaign, u.destination,
       u.pool, u.lead_id, u.match,
       COALESCE(u.previous_id,
                (SELECT c.last_reservation_id FROM caller_ids c
                 WHERE c.caller_id = u.caller_id
                   AND NOT (c.last_used >= u.last_used
                            AND (c.day_start, c.daily_used) > (u.day_start, u.daily_used))),
                (SELECT t.last_reservation_id FROM retired_numbers t
                 WHERE t.caller_id = u.caller_id))
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::bigint[], $10::text[], $11::bigint[], $12::bigint[],
            $13::bigint[], $14::integer[])
     AS u(id, caller_id, reserved_at, reserved_until, agent, campaign, destination, pool, lead_id,
          match, previous_id, last_used, day_start, daily_used)
)sql";
constexpr std::string_view kReplaySuffix = "ON CONFLICT(id) DO NOTHING";

// Each number's newest reservation of the group and its usage after it. Two instances' batches
// commit in either order (each has its own writer), so the row only moves forward: a batch whose
// allocation is older than the one the row holds (another instance's, committed first) leaves it
// alone, or last_reservation_id would name an older reservation than the newest, and the
// counters would lose the other's allocation, until the number's next allocation. Older: by
// both of last_used and (day_start, daily_used), which Redis's allocations raise at each one of
// a number (daily_used by one within a day), so each also covers where the other fails: a clock
// behind another instance's (last_used alone), a last_used imported from the future, a change of
// TIMEZONE (the day windows alone). Equal (a replay of the batch that wrote the row) writes the
// same values again. The test reads only the row the UPDATE locks anyway.
constexpr std::string_view kUpdateUsages = R"sql(
UPDATE caller_ids c SET last_used = u.last_used, hour_start = u.hour_start,
                        hourly_used = u.hourly_used, day_start = u.day_start,
                        daily_used = u.daily_used, last_reservation_id = u.last_reservation_id
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::integer[], $5::bigint[], $6::integer[],
            $7::bigint[])
     AS u(caller_id, last_used, hour_start, hourly_used, day_start, daily_used,
          last_reservation_id)
WHERE c.caller_id = u.caller_id
  AND NOT (c.last_used >= u.last_used
           AND (c.day_start, c.daily_used) > (u.day_start, u.daily_used))
)sql";

// A release whose reservation is not stored yet (another instance's allocation, still in that
// instance's backlog) waits in early_releases (schema.cc) for kSweepEarlyReleases; the first to
// arrive of several releases of one id stays, as in reservations. The primary query sees the
// table as it was before the UPDATE, which changes no id: NOT EXISTS asks the same index pages
// the UPDATE has just read. A late outcome (journal.h: `late`) applies only to a reservation
// stored and ended by then, and never waits.
constexpr std::string_view kReleaseReservations = R"sql(
WITH u AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::integer[],
                                $5::boolean[])
                         AS u(id, released_at, outcome, duration, late)),
     released AS (UPDATE reservations r
                  SET released_at = u.released_at, outcome = u.outcome, duration = u.duration
                  FROM u WHERE r.id = u.id AND r.released_at IS NULL
                           AND (NOT u.late OR r.reserved_until <= u.released_at))
INSERT INTO early_releases(id, released_at, outcome, duration)
SELECT u.id, u.released_at, u.outcome, u.duration FROM u
WHERE NOT u.late AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.id = u.id)
ON CONFLICT(id) DO NOTHING
)sql";

// Moves the early releases whose reservations have arrived onto them. Two instances sweeping at
// once delete each row once: the second waits for the first's row lock, then skips the row. An
// early release whose reservation arrives in a transaction that commits while this one runs is
// taken by the next sweep.
constexpr std::string_view kSweepEarlyReleases = R"sql(
WITH arrived AS (DELETE FROM early_releases e USING reservations r WHERE r.id = e.id
                 RETURNING e.id, e.released_at, e.outcome, e.duration)
UPDATE reservations r SET released_at = a.released_at, outcome = a.outcome, duration = a.duration
FROM arrived a WHERE r.id = a.id AND r.released_at IS NULL
)sql";

constexpr std::string_view kInsertLogs = R"sql(
INSERT INTO api_logs(timestamp, endpoint, method, agent, campaign, caller_id_allocated,
                     response_time_ms, status_code)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::float8[], $8::integer[])
)sql";

constexpr std::string_view kUpsertCampaignPool = R"sql(
INSERT INTO campaign_pools(campaign, pool) VALUES($1, $2)
ON CONFLICT(campaign) DO UPDATE SET pool = excluded.pool
)sql";

constexpr std::string_view kDeleteCampaignPool = "DELETE FROM campaign_pools WHERE campaign = $1";

constexpr std::string_view kUpsertPoolSettings = R"sql(
INSERT INTO pool_settings(pool, fallback) VALUES($1, $2)
ON CONFLICT(pool) DO UPDATE SET fallback = excluded.fallback
)sql";

// Prepared statement names (per connection).
constexpr const char* kUpsertNumberName = "cidrotor_upsert_number";
constexpr const char* kLockVersionsName = "cidrotor_lock_versions";
constexpr const char* kClaimDeleteName = "cidrotor_claim_delete";
constexpr const char* kDeleteNumberName = "cidrotor_delete_number";
constexpr const char* kKeepDeletedName = "cidrotor_keep_deleted";
constexpr const char* kInsertReservationsName = "cidrotor_insert_reservations";
constexpr const char* kReplayReservationsName = "cidrotor_replay_reservations";
constexpr const char* kUpdateUsagesName = "cidrotor_update_usages";
constexpr const char* kReleaseReservationsName = "cidrotor_release_reservations";
constexpr const char* kSweepEarlyReleasesName = "cidrotor_sweep_early_releases";
constexpr const char* kInsertLogsName = "cidrotor_insert_logs";
constexpr const char* kUpsertCampaignPoolName = "cidrotor_upsert_campaign_pool";
constexpr const char* kDeleteCampaignPoolName = "cidrotor_delete_campaign_pool";
constexpr const char* kUpsertPoolSettingsName = "cidrotor_upsert_pool_settings";

std::optional<std::int64_t> CapColumn(std::uint16_t cap) {
  if (cap == 0) return std::nullopt;  // no cap of its own: NULL, the configured default applies
  return cap;
}

std::int64_t Digits(core::PhoneNumber number) { return static_cast<std::int64_t>(number.digits()); }

template <class Number>
void AppendNumber(std::string& out, Number value) {
  char digits[40];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

}  // namespace

// ---- ArrayLiteral ------------------------------------------------------------------------------

void ArrayLiteral::Clear() {
  text_.clear();
  text_.push_back('{');
}

void ArrayLiteral::Separate() {
  if (text_.size() > 1) text_.push_back(',');
}

void ArrayLiteral::Int(std::int64_t value) {
  Separate();
  AppendNumber(text_, value);
}

void ArrayLiteral::Double(double value) {
  Separate();
  AppendNumber(text_, value);
}

void ArrayLiteral::Text(std::string_view value) {
  Separate();
  text_.push_back('"');
  for (char c : value) {
    if (c == '\0') continue;  // PostgreSQL text cannot hold NUL
    if (c == '"' || c == '\\') text_.push_back('\\');
    text_.push_back(c);
  }
  text_.push_back('"');
}

void ArrayLiteral::Bool(bool value) {
  Separate();
  text_.push_back(value ? 't' : 'f');
}

void ArrayLiteral::Null() {
  Separate();
  text_ += "NULL";
}

const std::string& ArrayLiteral::Close() {
  text_.push_back('}');
  return text_;
}

// ---- BatchWriter -------------------------------------------------------------------------------

core::Result<void> BatchWriter::PrepareStatements(Connection& conn) {
  // Every statement of the writer joins a batch's unnest arrays (a few to 4,096 rows) to a table
  // by its primary key: one plan shape is right, a nested loop over the key's index, whatever
  // the table's size. Without these settings a generic plan, made while the tables were small,
  // joined them by sequential scan and kept doing so as they grew (seen: a full scan of
  // reservations per batch, half the cluster's CPU at 77,000 rows); custom plans avoid that but
  // cost a planning per statement and batch (7 % of cluster throughput, A/B).
  if (auto plans = conn.Exec(
          "SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off",
          "writer plan settings");
      !plans) {
    return plans;
  }
  const std::string replay = std::string(kInsertReservations) + std::string(kReplaySuffix);
  const std::pair<const char*, std::string_view> statements[] = {
      {kUpsertNumberName, kUpsertNumber},
      {kLockVersionsName, kLockVersions},
      {kClaimDeleteName, kClaimDelete},
      {kDeleteNumberName, kDeleteNumber},
      {kKeepDeletedName, kKeepDeleted},
      {kInsertReservationsName, kInsertReservations},
      {kReplayReservationsName, replay},
      {kUpdateUsagesName, kUpdateUsages},
      {kReleaseReservationsName, kReleaseReservations},
      {kSweepEarlyReleasesName, kSweepEarlyReleases},
      {kInsertLogsName, kInsertLogs},
      {kUpsertCampaignPoolName, kUpsertCampaignPool},
      {kDeleteCampaignPoolName, kDeleteCampaignPool},
      {kUpsertPoolSettingsName, kUpsertPoolSettings},
  };
  for (const auto& [name, sql] : statements) {
    if (auto ok = conn.Prepare(name, sql); !ok) return ok;
  }
  return {};
}

core::Result<void> BatchWriter::WriteBatch(Connection& conn,
                                           std::span<const JournalEntry* const> entries,
                                           std::span<const ApiLogEntry> logs, Replay replay) {
  batch_.Clear();
  made_.clear();
  released_.clear();
  logs_.clear();
  LockVersions(entries);
  for (const JournalEntry* entry : entries) {
    if (const auto* made = std::get_if<ReservationMade>(entry)) {
      made_.push_back(made);
    } else if (const auto* released = std::get_if<ReservationReleased>(entry)) {
      released_.push_back(released);
    } else if (const auto* log = std::get_if<ApiLogEntry>(entry)) {
      logs_.push_back(log);
    } else {
      AddGroup(replay);  // a number or mapping change ends the group: the order around it matters
      std::visit(
          [this](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, NumberUpserted> || std::is_same_v<T, NumberDeleted> ||
                          std::is_same_v<T, CampaignPoolChanged> ||
                          std::is_same_v<T, PoolSettingsChanged>) {
              Add(e);
            }
          },
          *entry);
    }
  }
  AddGroup(replay);
  for (const ApiLogEntry& log : logs) logs_.push_back(&log);
  AddLogs();
  // Last, so that it finds this batch's reservations too.
  const auto now = std::chrono::steady_clock::now();
  const bool sweep = now >= next_sweep_;
  if (sweep) batch_.Prepared(kSweepEarlyReleasesName);
  auto result = conn.Run(batch_, "commit batch");
  if (result && sweep) next_sweep_ = now + sweep_every_;
  return result;
}

void BatchWriter::LockVersions(std::span<const JournalEntry* const> entries) {
  versioned_.clear();
  bool allocates = false;
  for (const JournalEntry* entry : entries) {
    if (const auto* upserted = std::get_if<NumberUpserted>(entry)) {
      if (upserted->version != 0) versioned_.push_back(Digits(upserted->spec.caller_id));
    } else if (const auto* deleted = std::get_if<NumberDeleted>(entry)) {
      if (deleted->version != 0) versioned_.push_back(Digits(deleted->caller_id));
    } else if (std::holds_alternative<ReservationMade>(*entry)) {
      allocates = true;
    }
  }
  // Not needed where the batch takes its rows in caller_id order anyway: changes only, each
  // number's claim and row after the smaller numbers' (an import's chunk). It doubled what an
  // HTTP import of new numbers writes to number_versions (a row of version 0, then the claim).
  if (versioned_.empty() || (!allocates && std::is_sorted(versioned_.begin(), versioned_.end()))) {
    return;
  }
  // Once each (ON CONFLICT DO UPDATE refuses a row twice in one statement), in order.
  std::sort(versioned_.begin(), versioned_.end());
  versioned_.erase(std::unique(versioned_.begin(), versioned_.end()), versioned_.end());
  columns_[0].Clear();
  for (const std::int64_t number : versioned_) columns_[0].Int(number);
  batch_.Prepared(kLockVersionsName);
  batch_.Text(columns_[0].Close());
}

void BatchWriter::Add(const NumberUpserted& e) {
  const core::NumberSpec& s = e.spec;
  char area_code[3];
  AreaCodeText(s.caller_id, area_code);
  batch_.Prepared(kUpsertNumberName);
  batch_.Int(Digits(s.caller_id));
  batch_.Text(s.carrier);
  batch_.Text(std::string_view(area_code, sizeof area_code));
  batch_.OptionalInt(CapColumn(s.hourly_cap));
  batch_.OptionalInt(CapColumn(s.daily_cap));
  batch_.Text(s.active ? "t" : "f");
  batch_.Text(s.pool);
  batch_.Text(s.state);
  ForEachUsageColumn(e.usage, [this](std::int64_t value) { batch_.Int(value); });
  batch_.Int(static_cast<std::int64_t>(e.version));
}

void BatchWriter::Add(const NumberDeleted& e) {
  if (e.version != 0) {
    batch_.Prepared(kClaimDeleteName);
    batch_.Int(Digits(e.caller_id));
    batch_.Int(static_cast<std::int64_t>(e.version));
  }
  batch_.Prepared(kDeleteNumberName);
  batch_.Int(Digits(e.caller_id));
  batch_.Int(static_cast<std::int64_t>(e.version));
  batch_.Prepared(kKeepDeletedName);
  batch_.Int(Digits(e.caller_id));
  ForEachUsageColumn(e.kept.usage, [this](std::int64_t value) { batch_.Int(value); });
  batch_.Int(e.kept.keep_until);
  batch_.Int(core::ToCompact(e.at));
  batch_.Int(static_cast<std::int64_t>(e.version));
}

void BatchWriter::Add(const CampaignPoolChanged& e) {
  if (!e.pool) {
    batch_.Prepared(kDeleteCampaignPoolName);
    batch_.Text(e.campaign);
    return;
  }
  batch_.Prepared(kUpsertCampaignPoolName);
  batch_.Text(e.campaign);
  batch_.Text(*e.pool);
}

void BatchWriter::Add(const PoolSettingsChanged& e) {
  batch_.Prepared(kUpsertPoolSettingsName);
  batch_.Text(e.settings.pool);
  batch_.Text(FallbackName(e.settings.fallback_any));
}

void BatchWriter::AddGroup(Replay replay) {
  if (!made_.empty()) {
    // By number, in append order within each (stable): for the links and the usage.
    order_.resize(made_.size());
    for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    std::stable_sort(order_.begin(), order_.end(), [this](std::size_t a, std::size_t b) {
      return made_[a]->reservation.caller_id.digits() < made_[b]->reservation.caller_id.digits();
    });
    AddReservations(replay);
    AddUsages();
  }
  if (!released_.empty()) AddReleases();
  made_.clear();
  released_.clear();
}

void BatchWriter::AddReservations(Replay replay) {
  // Each reservation's link: the caller's, else the number's reservation before it in this group
  // (a number change ends the group, so a number deleted and added again starts afresh, as its
  // row does), else 0: the statement takes the number's newest (kInsertReservations).
  links_.assign(made_.size(), 0);
  for (std::size_t k = 1; k < order_.size(); ++k) {
    const ReservationMade& before = *made_[order_[k - 1]];
    if (before.reservation.caller_id == made_[order_[k]]->reservation.caller_id) {
      links_[order_[k]] = before.reservation.id;
    }
  }
  bool unlinked = false;
  for (std::size_t i = 0; i < made_.size(); ++i) {
    if (made_[i]->previous_id != 0) links_[i] = made_[i]->previous_id;
    if (links_[i] == 0) unlinked = true;
  }
  for (ArrayLiteral& column : columns_) column.Clear();
  for (std::size_t i = 0; i < made_.size(); ++i) {
    const ReservationMade& made = *made_[i];
    const core::Reservation& r = made.reservation;
    columns_[0].Int(static_cast<std::int64_t>(r.id));
    columns_[1].Int(Digits(r.caller_id));
    columns_[2].Int(ToUnixMs(r.reserved_at));
    columns_[3].Int(ToUnixMs(r.reserved_until));
    columns_[4].Text(r.agent);
    columns_[5].Text(r.campaign);
    columns_[6].Text(r.destination.ToString());
    columns_[7].Text(r.pool);
    if (r.lead_id.has_value()) {
      columns_[8].Int(static_cast<std::int64_t>(*r.lead_id));
    } else {
      columns_[8].Null();
    }
    columns_[9].Text(core::MatchTierName(r.match));
    if (links_[i] != 0) {
      columns_[10].Int(static_cast<std::int64_t>(links_[i]));
    } else {
      columns_[10].Null();
    }
    if (unlinked) {  // else left empty: nothing reads them
      columns_[11].Int(made.usage.last_used);
      columns_[12].Int(made.usage.day_start);
      columns_[13].Int(made.usage.daily_used);
    }
  }
  batch_.Prepared(replay == Replay::kYes ? kReplayReservationsName : kInsertReservationsName);
  for (int i = 0; i < 14; ++i) batch_.Text(columns_[i].Close());
}

void BatchWriter::AddUsages() {
  // Each number's last usage in the group (an UPDATE … FROM joins one source row per target
  // row), with its reservation as the number's newest, in caller_id order (order_) so
  // concurrent instances lock rows in the same order.
  for (int i = 0; i < 7; ++i) columns_[i].Clear();
  for (std::size_t k = 0; k < order_.size(); ++k) {
    const bool last_of_number =
        k + 1 == order_.size() ||
        made_[order_[k + 1]]->reservation.caller_id != made_[order_[k]]->reservation.caller_id;
    if (!last_of_number) continue;  // stable sort: the later append comes later
    const ReservationMade& made = *made_[order_[k]];
    columns_[0].Int(Digits(made.reservation.caller_id));
    columns_[1].Int(made.usage.last_used);
    columns_[2].Int(made.usage.hour_start);
    columns_[3].Int(made.usage.hourly_used);
    columns_[4].Int(made.usage.day_start);
    columns_[5].Int(made.usage.daily_used);
    columns_[6].Int(static_cast<std::int64_t>(made.reservation.id));
  }
  batch_.Prepared(kUpdateUsagesName);
  for (int i = 0; i < 7; ++i) batch_.Text(columns_[i].Close());
}

void BatchWriter::AddReleases() {
  // The first release of each id: a later one would find released_at set and change nothing.
  order_.resize(released_.size());
  for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
  std::stable_sort(order_.begin(), order_.end(), [this](std::size_t a, std::size_t b) {
    return released_[a]->reservation_id < released_[b]->reservation_id;
  });
  for (int i = 0; i < 5; ++i) columns_[i].Clear();
  for (std::size_t k = 0; k < order_.size(); ++k) {
    const ReservationReleased& e = *released_[order_[k]];
    if (k > 0 && released_[order_[k - 1]]->reservation_id == e.reservation_id) continue;
    columns_[0].Int(static_cast<std::int64_t>(e.reservation_id));
    columns_[1].Int(ToUnixMs(e.released_at));
    const std::string_view outcome = core::CallOutcomeName(e.outcome);  // kUnknown's is empty
    if (outcome.empty()) {
      columns_[2].Null();
    } else {
      columns_[2].Text(outcome);
    }
    if (e.duration_seconds.has_value()) {
      columns_[3].Int(*e.duration_seconds);
    } else {
      columns_[3].Null();
    }
    columns_[4].Bool(e.late);
  }
  batch_.Prepared(kReleaseReservationsName);
  for (int i = 0; i < 5; ++i) batch_.Text(columns_[i].Close());
}

void BatchWriter::AddLogs() {
  if (logs_.empty()) return;
  for (int i = 0; i < 8; ++i) columns_[i].Clear();
  for (const ApiLogEntry* e : logs_) {
    columns_[0].Int(ToUnixMs(e->timestamp));
    columns_[1].Text(e->endpoint);
    columns_[2].Text(e->method);
    columns_[3].Text(e->agent);
    columns_[4].Text(e->campaign);
    columns_[5].Text(e->caller_id_allocated);
    columns_[6].Double(static_cast<double>(e->response_time_us) / 1000.0);
    columns_[7].Int(e->status_code);
  }
  batch_.Prepared(kInsertLogsName);
  for (int i = 0; i < 8; ++i) batch_.Text(columns_[i].Close());
}

}  // namespace cidrotor::store::postgres
