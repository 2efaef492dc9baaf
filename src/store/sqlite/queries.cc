#include "store/sqlite/queries.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>

#include "store/row_codec.h"

namespace cidrotor::store::sqlite {
namespace {

// The start-up scan's columns; the number's newest reservation (kNewestColumn) only for sinks
// that want it (LoadSink::WantsNewest), never for the embedded index, whose scan stays as it was.
constexpr std::string_view kNumberColumns = R"sql(
SELECT caller_id, carrier, pool, state, hourly_limit, daily_limit, is_active,
       last_used, hour_start, hourly_used, day_start, daily_used, warm_from, rest_until)sql";
constexpr int kNewestColumn = 14;

// The live-reservation queries name the index on reserved_until: without statistics SQLite
// prefers to walk the whole table in id order (to skip a sort), which at start-up means every
// reservation ever made; through the index it reads only those not expired yet (released ones
// among them are filtered out). A plain index rather than a partial one on released_at IS NULL:
// a release then changes no index, which is one B-tree write less per call on the hot path.
constexpr std::string_view kLiveIndex = " INDEXED BY reservations_until";

// The sticky tier's memory: the allocations made for leads since ?1, oldest first, through the
// partial index that holds exactly those rows (schema migration 3).
constexpr std::string_view kSelectLeadAllocations = R"sql(
SELECT pool, lead_id, caller_id, reserved_at FROM reservations INDEXED BY reservations_lead
WHERE lead_id IS NOT NULL AND reserved_at >= ?1 ORDER BY reserved_at
)sql";

// The agent rate limit's memory: the allocations naming an agent since ?1, oldest first, through
// the index on reserved_until (reserved_until >= reserved_at: its range holds them all).
constexpr std::string_view kSelectAgentAllocations = R"sql(
SELECT agent, reserved_at, pool, id FROM reservations INDEXED BY reservations_until
WHERE reserved_until >= ?1 AND reserved_at >= ?1 AND agent <> '' ORDER BY reserved_at
)sql";

// Deleted numbers' usage still kept (LoadSink::OnDeletedNumber), of numbers not in caller_ids.
constexpr std::string_view kSelectDeletedNumbers = R"sql(
SELECT caller_id, last_used, hour_start, hourly_used, day_start, daily_used, warm_from, rest_until,
       keep_until
FROM deleted_numbers d
WHERE keep_until > ?1 AND NOT EXISTS (SELECT 1 FROM caller_ids c WHERE c.caller_id = d.caller_id)
)sql";

// Fills `r` from the current row. False when the row's numbers are not valid NANP numbers.
bool ReadReservation(const Statement& st, core::Reservation& r) {
  const auto caller_id = PhoneFromStored(st.ColumnInt64(kCallerId));
  const auto destination = PhoneFromStoredText(st.ColumnText(kDestination));
  if (!caller_id || !destination) return false;
  r.id = static_cast<std::uint64_t>(st.ColumnInt64(kId));
  r.caller_id = *caller_id;
  r.destination = *destination;
  r.reserved_at = FromUnixMs(st.ColumnInt64(kReservedAt));
  r.reserved_until = FromUnixMs(st.ColumnInt64(kReservedUntil));
  r.agent.assign(st.ColumnText(kAgent));
  r.campaign.assign(st.ColumnText(kCampaign));
  r.pool.assign(st.ColumnText(kPool));
  r.lead_id.reset();
  if (!st.ColumnIsNull(kLeadId)) r.lead_id = static_cast<std::uint64_t>(st.ColumnInt64(kLeadId));
  r.match = ParseMatchTier(st.ColumnText(kMatch));
  return true;
}

// Fills `record` from the current row (kReservationColumns). False for a row that is not ours.
bool ReadRecord(const Statement& st, core::TimePoint now, ReservationRecord& record) {
  if (!ReadReservation(st, record.reservation)) return false;
  if (!st.ColumnIsNull(kReleasedAt)) record.released_at = FromUnixMs(st.ColumnInt64(kReleasedAt));
  record.outcome = core::ParseCallOutcome(st.ColumnText(kOutcome));
  if (!st.ColumnIsNull(kDuration)) {
    record.duration_seconds = ClampTo<std::uint32_t>(st.ColumnInt64(kDuration));
  }
  record.live = !record.released_at.has_value() && record.reservation.reserved_until > now;
  return true;
}

// The lookup's search: from reservation ?1 back through previous_id, at most ?3 of them made at
// or after ?4, up to the first to destination ?2; that one, if any. One primary-key read per
// step, each row read once (the chain carries what the search tests).
constexpr std::string_view kLookupCalledSuffix = R"sql(
FROM reservations WHERE id = (
  WITH RECURSIVE chain(id, previous_id, destination, depth) AS (
    SELECT id, previous_id, destination, 1 FROM reservations WHERE id = ?1 AND reserved_at >= ?4
    UNION ALL
    SELECT r.id, r.previous_id, r.destination, chain.depth + 1
    FROM chain JOIN reservations r ON r.id = chain.previous_id
    WHERE chain.destination <> ?2 AND chain.depth < ?3 AND r.reserved_at >= ?4
  )
  SELECT id FROM chain WHERE destination = ?2 LIMIT 1)
)sql";

// Automatic resting's per-number counts (store.h AnswerStatsQuery). The calls since ?1 come
// through the index on reserved_until, as the coverage's do (reserved_until >= reserved_at); CROSS
// JOIN keeps them the outer loop, so each one costs a primary-key read of its number (rest end,
// pool, active) and caller_ids is never scanned for them. The outcomes judged are
// core::CallOutcomeName's answered, no_answer, busy and voicemail; a number's calls count from
// the second after the end of its rest (core::FirstJudgedSecondAfterRest; ?2: the compact epoch,
// Unix seconds), if that is later than ?1. ?3: the pool of a row whose pool is NULL.
constexpr std::string_view kAnswersSelect = R"sql(
SELECT c.caller_id, COALESCE(c.pool, ?3), COALESCE(c.is_active, 1) != 0, c.rest_until, count(*),
       sum(r.outcome = 'answered')
FROM reservations r)sql";
constexpr std::string_view kAnswersJoinAndFilter = R"sql(
CROSS JOIN caller_ids c ON c.caller_id = r.caller_id
WHERE r.reserved_until >= ?1 AND r.reserved_at >= ?1
  AND r.outcome IN ('answered', 'no_answer', 'busy', 'voicemail')
  AND r.reserved_at >= (c.rest_until + 1 + ?2) * 1000
GROUP BY c.caller_id ORDER BY c.caller_id
)sql";

// Every pool's active numbers and, of those, the ones resting at ?2 (compact seconds); ?1: the
// pool of a row whose pool is NULL. BINARY collation: by name in byte order, as std::string sorts.
constexpr std::string_view kPoolRestsSelect = R"sql(
SELECT COALESCE(pool, ?1), sum(COALESCE(is_active, 1) != 0),
       sum(COALESCE(is_active, 1) != 0 AND rest_until > ?2)
FROM caller_ids GROUP BY 1 ORDER BY 1
)sql";

core::Result<std::vector<NumberAnswers>> QueryNumberAnswers(Database& db,
                                                            const AnswerStatsQuery& query) {
  auto st = db.Prepare(
      std::string(kAnswersSelect) + std::string(kLiveIndex) + std::string(kAnswersJoinAndFilter),
      "answer stats: numbers");
  if (!st) return core::Fail(st.error());
  st->BindInt64(1, ToUnixMs(query.since));
  st->BindInt64(2, core::kCompactEpochUnixSeconds);
  st->BindText(3, core::kDefaultPool);
  std::vector<NumberAnswers> numbers;
  while (true) {
    auto row = st->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    const auto caller_id = PhoneFromStored(st->ColumnInt64(0));
    if (!caller_id) continue;  // a hand-edited row: not ours (LoadState warns about it)
    NumberAnswers& counts = numbers.emplace_back();
    counts.caller_id = *caller_id;
    counts.pool.assign(st->ColumnText(1));
    counts.active = st->ColumnInt64(2) != 0;
    counts.rest_until = ClampTo<core::CompactTime>(st->ColumnInt64(3));
    counts.calls = ClampTo<std::uint32_t>(st->ColumnInt64(4));
    counts.answered = ClampTo<std::uint32_t>(st->ColumnInt64(5));
  }
  return numbers;
}

core::Result<std::vector<PoolRestCounts>> QueryPoolRests(Database& db, core::TimePoint now) {
  auto st = db.Prepare(kPoolRestsSelect, "answer stats: pools");
  if (!st) return core::Fail(st.error());
  st->BindText(1, core::kDefaultPool);
  st->BindInt64(2, core::ToCompact(now));
  std::vector<PoolRestCounts> pools;
  while (true) {
    auto row = st->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    PoolRestCounts& counts = pools.emplace_back();
    counts.pool.assign(st->ColumnText(0));
    counts.active = ClampTo<std::uint32_t>(st->ColumnInt64(1));
    counts.resting = ClampTo<std::uint32_t>(st->ColumnInt64(2));
  }
  return pools;
}

}  // namespace

core::Result<void> ReadKeptDeleted(
    Database& db, core::TimePoint now,
    const std::function<void(core::PhoneNumber, const DeletedUsage&)>& on_kept) {
  auto st = db.Prepare(kSelectDeletedNumbers, "read deleted_numbers");
  if (!st) return core::Fail(st.error());
  st->BindInt64(1, core::ToCompact(now));
  DeletedUsage kept;
  while (true) {
    auto row = st->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) return {};
    const auto caller_id = PhoneFromStored(st->ColumnInt64(0));
    if (!caller_id) continue;
    kept.usage.last_used = ClampTo<core::CompactTime>(st->ColumnInt64(1));
    kept.usage.hour_start = ClampTo<core::CompactTime>(st->ColumnInt64(2));
    kept.usage.hourly_used = ClampTo<std::uint16_t>(st->ColumnInt64(3));
    kept.usage.day_start = ClampTo<core::CompactTime>(st->ColumnInt64(4));
    kept.usage.daily_used = ClampTo<std::uint16_t>(st->ColumnInt64(5));
    kept.usage.warm_from = ClampTo<core::CompactTime>(st->ColumnInt64(6));
    kept.usage.rest_until = ClampTo<core::CompactTime>(st->ColumnInt64(7));
    kept.keep_until = ClampTo<core::CompactTime>(st->ColumnInt64(8));
    on_kept(*caller_id, kept);
  }
}

core::Result<LoadSummary> LoadState(Database& db, core::TimePoint now, LoadSink& sink) {
  LoadSummary summary;
  std::uint64_t skipped = 0;
  {
    // ~10 ms for a million rows (an index's pages), against a lookup table grown ~20 times
    // on the way, each time reading every number loaded so far again.
    auto count = db.QueryInt64("SELECT count(*) FROM caller_ids", "count caller_ids");
    if (!count) return core::Fail(count.error());
    sink.ExpectNumbers(static_cast<std::size_t>(count->value_or(0)));
    const bool newest = sink.WantsNewest();
    const std::string sql = std::string(kNumberColumns) + (newest ? ", last_reservation_id" : "") +
                            " FROM caller_ids ORDER BY caller_id";
    auto st = db.Prepare(sql, "load caller_ids");
    if (!st) return core::Fail(st.error());
    core::NumberSpec spec;  // reused: assign() keeps the strings' capacity between rows
    core::NumberUsage usage;
    while (true) {
      auto row = st->Step();
      if (!row) return core::Fail(row.error());
      if (!*row) break;
      const auto caller_id = PhoneFromStored(st->ColumnInt64(0));
      if (!caller_id) {
        if (skipped++ == 0) {
          spdlog::warn("sqlite journal: skipping caller_ids row {}: not a valid NANP number",
                       st->ColumnInt64(0));
        }
        continue;
      }
      spec.caller_id = *caller_id;
      spec.carrier.assign(st->ColumnText(1));
      if (st->ColumnIsNull(2)) {
        spec.pool.assign(core::kDefaultPool);
      } else {
        spec.pool.assign(st->ColumnText(2));
      }
      spec.state.assign(st->ColumnText(3));
      spec.hourly_cap = ClampTo<std::uint16_t>(st->ColumnInt64(4));  // NULL reads 0: default
      spec.daily_cap = ClampTo<std::uint16_t>(st->ColumnInt64(5));
      spec.active = st->ColumnIsNull(6) || st->ColumnInt64(6) != 0;
      usage.last_used = ClampTo<core::CompactTime>(st->ColumnInt64(7));
      usage.hour_start = ClampTo<core::CompactTime>(st->ColumnInt64(8));
      usage.hourly_used = ClampTo<std::uint16_t>(st->ColumnInt64(9));
      usage.day_start = ClampTo<core::CompactTime>(st->ColumnInt64(10));
      usage.daily_used = ClampTo<std::uint16_t>(st->ColumnInt64(11));
      usage.warm_from = ClampTo<core::CompactTime>(st->ColumnInt64(12));
      usage.rest_until = ClampTo<core::CompactTime>(st->ColumnInt64(13));
      sink.OnNumber(spec, usage);
      if (newest && !st->ColumnIsNull(kNewestColumn)) {
        sink.OnNumberNewest(spec.caller_id,
                            static_cast<std::uint64_t>(st->ColumnInt64(kNewestColumn)));
      }
      ++summary.numbers;
    }
  }
  if (skipped > 0) spdlog::warn("sqlite journal: skipped {} invalid caller_ids rows", skipped);

  {
    // Reservations of deleted numbers are not live: nothing could release them after a restart.
    const std::string sql = "SELECT " + std::string(kReservationColumns) + " FROM reservations r" +
                            std::string(kLiveIndex) +
                            " WHERE released_at IS NULL AND reserved_until > ?1"
                            " AND EXISTS (SELECT 1 FROM caller_ids c WHERE c.caller_id ="
                            " r.caller_id) ORDER BY reserved_at DESC, id DESC";  // LoadSink
    auto st = db.Prepare(sql, "load live reservations");
    if (!st) return core::Fail(st.error());
    st->BindInt64(1, ToUnixMs(now));
    core::Reservation reservation;
    while (true) {
      auto row = st->Step();
      if (!row) return core::Fail(row.error());
      if (!*row) break;
      if (!ReadReservation(*st, reservation)) {
        spdlog::warn("sqlite journal: skipping reservation {}: invalid caller_id or destination",
                     st->ColumnInt64(kId));
        continue;
      }
      sink.OnLiveReservation(reservation);
      ++summary.live_reservations;
    }
  }

  if (const core::Seconds window = sink.LeadWindow(); window.count() > 0) {
    auto st = db.Prepare(kSelectLeadAllocations, "load lead allocations");
    if (!st) return core::Fail(st.error());
    st->BindInt64(1, ToUnixMs(now - window));
    LeadAllocation lead;
    while (true) {
      auto row = st->Step();
      if (!row) return core::Fail(row.error());
      if (!*row) break;
      const auto caller_id = PhoneFromStored(st->ColumnInt64(2));
      if (!caller_id) continue;  // not a number: the reservations loop above warned already
      lead.pool.assign(st->ColumnText(0));
      lead.lead_id = static_cast<std::uint64_t>(st->ColumnInt64(1));
      lead.caller_id = *caller_id;
      lead.at = FromUnixMs(st->ColumnInt64(3));
      sink.OnLeadAllocation(lead);
    }
  }

  if (const core::Seconds window = sink.AgentWindow(); window.count() > 0) {
    auto st = db.Prepare(std::string(kSelectAgentAllocations), "load agent allocations");
    if (!st) return core::Fail(st.error());
    st->BindInt64(1, ToUnixMs(now - window));
    while (true) {
      auto row = st->Step();
      if (!row) return core::Fail(row.error());
      if (!*row) break;
      sink.OnAgentAllocation({st->ColumnText(0), FromUnixMs(st->ColumnInt64(1)), st->ColumnText(2),
                              static_cast<std::uint64_t>(st->ColumnInt64(3))});
    }
  }

  if (auto kept = ReadKeptDeleted(db, now,
                                  [&](core::PhoneNumber caller_id, const DeletedUsage& usage) {
                                    sink.OnDeletedNumber(caller_id, usage);
                                  });
      !kept) {
    return core::Fail(kept.error());
  }

  {
    auto st = db.Prepare("SELECT campaign, pool FROM campaign_pools ORDER BY campaign",
                         "load campaign_pools");
    if (!st) return core::Fail(st.error());
    CampaignPool mapping;
    while (true) {
      auto row = st->Step();
      if (!row) return core::Fail(row.error());
      if (!*row) break;
      mapping.campaign.assign(st->ColumnText(0));
      mapping.pool.assign(st->ColumnText(1));
      sink.OnCampaignPool(mapping);
      ++summary.campaign_pools;
    }
  }
  {
    auto st =
        db.Prepare("SELECT pool, fallback FROM pool_settings ORDER BY pool", "load pool_settings");
    if (!st) return core::Fail(st.error());
    PoolSettings settings;
    while (true) {
      auto row = st->Step();
      if (!row) return core::Fail(row.error());
      if (!*row) break;
      settings.pool.assign(st->ColumnText(0));
      settings.fallback_any = FallbackIsAny(st->ColumnText(1));
      sink.OnPoolSettings(settings);
    }
  }

  auto max_id = db.QueryInt64("SELECT MAX(id) FROM reservations", "read max reservation id");
  if (!max_id) return core::Fail(max_id.error());
  summary.max_reservation_id =
      static_cast<std::uint64_t>(std::max<std::int64_t>(max_id->value_or(0), 0));
  return summary;
}

core::Result<std::vector<StoredLog>> QueryLogs(Database& db, const LogQuery& query) {
  auto ok = CheckHistoryLimit(query.limit);
  if (!ok) return core::Fail(ok.error());
  auto st = db.Prepare(
      "SELECT id, timestamp, endpoint, method, agent, campaign, caller_id_allocated,"
      " response_time_ms, status_code FROM api_logs WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
      "list api_logs");
  if (!st) return core::Fail(st.error());
  constexpr auto kNoBound = std::numeric_limits<std::int64_t>::max();
  st->BindInt64(1, query.before_id.has_value()
                       ? static_cast<std::int64_t>(std::min<std::uint64_t>(
                             *query.before_id, static_cast<std::uint64_t>(kNoBound)))
                       : kNoBound);
  st->BindInt64(2, static_cast<std::int64_t>(query.limit));
  std::vector<StoredLog> logs;
  while (true) {
    auto row = st->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    StoredLog& log = logs.emplace_back();
    log.id = static_cast<std::uint64_t>(st->ColumnInt64(0));
    log.entry.timestamp = FromUnixMs(st->ColumnInt64(1));
    log.entry.endpoint.assign(st->ColumnText(2));
    log.entry.method.assign(st->ColumnText(3));
    log.entry.agent.assign(st->ColumnText(4));
    log.entry.campaign.assign(st->ColumnText(5));
    log.entry.caller_id_allocated.assign(st->ColumnText(6));
    // Fractional milliseconds back to whole microseconds; llround is exact for every value
    // written from a uint32 (2^32 us is far inside a double's integer range).
    const double ms = st->ColumnDouble(7);
    log.entry.response_time_us =
        std::isfinite(ms) ? ClampTo<std::uint32_t>(std::llround(std::clamp(ms, 0.0, 5e6) * 1000.0))
                          : 0;
    log.entry.status_code = ClampTo<std::uint16_t>(st->ColumnInt64(8));
  }
  return logs;
}

namespace {

// Each area code's numbers at their full caps. area_code is derived from caller_id, and the
// number is the key: grouping by it reads the table in key order, area code by area code.
core::Result<std::vector<AreaCodeCapacity>> QueryCapacity(Database& db,
                                                          const CoverageQuery& query) {
  auto st = db.Prepare(
      "SELECT caller_id / 10000000, count(*), sum(COALESCE(is_active, 1) != 0),"
      " sum(CASE WHEN COALESCE(is_active, 1) != 0 THEN COALESCE(NULLIF(hourly_limit, 0), ?1)"
      " ELSE 0 END),"
      " sum(CASE WHEN COALESCE(is_active, 1) != 0 THEN COALESCE(NULLIF(daily_limit, 0), ?2)"
      " ELSE 0 END)"
      " FROM caller_ids GROUP BY 1 ORDER BY 1",
      "coverage: capacity");
  if (!st) return core::Fail(st.error());
  st->BindInt64(1, query.default_hourly_cap);
  st->BindInt64(2, query.default_daily_cap);
  std::vector<AreaCodeCapacity> capacity;
  while (true) {
    auto row = st->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    AreaCodeCapacity& c = capacity.emplace_back();
    c.area_code = ClampTo<std::uint32_t>(st->ColumnInt64(0));
    c.numbers = ClampTo<std::uint64_t>(st->ColumnInt64(1));
    c.active = ClampTo<std::uint64_t>(st->ColumnInt64(2));
    c.hourly_capacity = ClampTo<std::uint64_t>(st->ColumnInt64(3));
    c.daily_capacity = ClampTo<std::uint64_t>(st->ColumnInt64(4));
  }
  return capacity;
}

// The active numbers warming up or rested since query.recent_since, grouped (few groups: numbers
// added on one day share their warm_from). A second scan of the table: grouping the first one by
// these columns too would sort the whole table (measured 0.9 s for 1M numbers, against 0.26 s
// for the first scan and 0.07-0.27 s for this one).
core::Result<std::vector<RecentNumbers>> QueryRecentNumbers(Database& db,
                                                            const CoverageQuery& query) {
  auto st = db.Prepare(
      "SELECT caller_id / 10000000, COALESCE(NULLIF(hourly_limit, 0), ?1),"
      " COALESCE(NULLIF(daily_limit, 0), ?2),"
      " CASE WHEN warm_from >= ?3 THEN warm_from ELSE 0 END,"
      " CASE WHEN rest_until >= ?3 THEN rest_until ELSE 0 END, count(*)"
      " FROM caller_ids WHERE COALESCE(is_active, 1) != 0"
      " AND (warm_from >= ?3 OR rest_until >= ?3) GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
      "coverage: recent numbers");
  if (!st) return core::Fail(st.error());
  st->BindInt64(1, query.default_hourly_cap);
  st->BindInt64(2, query.default_daily_cap);
  st->BindInt64(3, query.recent_since);
  std::vector<RecentNumbers> recent;
  while (true) {
    auto row = st->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    RecentNumbers& r = recent.emplace_back();
    r.area_code = ClampTo<std::uint32_t>(st->ColumnInt64(0));
    r.hourly_cap = ClampTo<std::uint16_t>(st->ColumnInt64(1));
    r.daily_cap = ClampTo<std::uint16_t>(st->ColumnInt64(2));
    r.warm_from = ClampTo<core::CompactTime>(st->ColumnInt64(3));
    r.rest_until = ClampTo<core::CompactTime>(st->ColumnInt64(4));
    r.numbers = ClampTo<std::uint64_t>(st->ColumnInt64(5));
  }
  return recent;
}

// The calls made since query.since, by destination area code and quarter hour.
core::Result<std::vector<AreaCodeCalls>> QueryCalls(Database& db, const CoverageQuery& query) {
  // reserved_until >= reserved_at: the index's range holds every call made since ?1.
  auto st = db.Prepare(
      "SELECT CAST(substr(destination, 1, 3) AS INTEGER), reserved_at / 900000, count(*)"
      " FROM reservations" +
          std::string(kLiveIndex) +
          " WHERE reserved_until >= ?1 AND reserved_at >= ?1 GROUP BY 1, 2 ORDER BY 1, 2",
      "coverage: calls");
  if (!st) return core::Fail(st.error());
  st->BindInt64(1, ToUnixMs(query.since));
  std::vector<AreaCodeCalls> calls;
  while (true) {
    auto row = st->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    AreaCodeCalls& c = calls.emplace_back();
    c.area_code = ClampTo<std::uint32_t>(st->ColumnInt64(0));
    c.quarter = st->ColumnInt64(1);
    c.calls = ClampTo<std::uint64_t>(st->ColumnInt64(2));
  }
  return calls;
}

core::Result<CoverageData> QueryCoverageData(Database& db, const CoverageQuery& query) {
  CoverageData data;
  auto capacity = QueryCapacity(db, query);
  if (!capacity) return core::Fail(capacity.error());
  data.capacity = std::move(*capacity);
  auto recent = QueryRecentNumbers(db, query);
  if (!recent) return core::Fail(recent.error());
  data.recent = std::move(*recent);
  auto calls = QueryCalls(db, query);
  if (!calls) return core::Fail(calls.error());
  data.calls = std::move(*calls);
  return data;
}

}  // namespace

core::Result<CoverageData> QueryCoverage(Database& db, const CoverageQuery& query) {
  // One read transaction: the numbers' two scans see the same snapshot.
  return InReadTransaction(db, "coverage", [&] { return QueryCoverageData(db, query); });
}

core::Result<AnswerStats> QueryAnswerStats(Database& db, const AnswerStatsQuery& query) {
  // One read transaction: both statements see the same snapshot (a commit between them could
  // otherwise count a rest in one and not the other).
  return InReadTransaction(db, "answer stats", [&]() -> core::Result<AnswerStats> {
    auto numbers = QueryNumberAnswers(db, query);
    if (!numbers) return core::Fail(numbers.error());
    auto pools = QueryPoolRests(db, query.now);
    if (!pools) return core::Fail(pools.error());
    return AnswerStats{std::move(*numbers), std::move(*pools)};
  });
}

core::Result<std::vector<ReservationRecord>> QueryReservations(Database& db,
                                                               const ReservationQuery& query,
                                                               core::TimePoint now) {
  auto ok = CheckHistoryLimit(query.limit);
  if (!ok) return core::Fail(ok.error());
  if (query.before_id) {
    auto found = db.QueryInt64(
        "SELECT 1 FROM reservations WHERE id = " + std::to_string(*query.before_id), "find cursor");
    if (!found) return core::Fail(found.error());
    if (!*found) return core::Fail(UnknownCursor(*query.before_id));
  }
  const std::string sql =
      "SELECT " + std::string(kReservationColumns) + " FROM reservations" +
      (query.live_only ? std::string(kLiveIndex) +
                             " WHERE released_at IS NULL AND reserved_until > ?1"
                             " ORDER BY reserved_until DESC, id DESC LIMIT ?2"
                       : std::string(" WHERE id < ?1 ORDER BY id DESC LIMIT ?2"));
  auto st = db.Prepare(sql, "list reservations");
  if (!st) return core::Fail(st.error());
  // One writer gives ids in the order of the allocations: the history's order is the ids'.
  st->BindInt64(1, query.live_only ? ToUnixMs(now)
                                   : static_cast<std::int64_t>(query.before_id.value_or(
                                         std::numeric_limits<std::int64_t>::max())));
  st->BindInt64(2, static_cast<std::int64_t>(query.limit));
  std::vector<ReservationRecord> records;
  while (true) {
    auto row = st->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    ReservationRecord record;
    if (!ReadRecord(*st, now, record)) continue;  // hand-edited row: not ours
    records.push_back(std::move(record));
  }
  return records;
}

core::Result<LookupData> QueryLookup(Database& db, const LookupQuery& query, core::TimePoint now) {
  LookupData data;
  std::int64_t newest = 0;
  {
    // The number's row, and the link it left when deleted (retired_numbers): a deleted number's
    // calls, or a number added back and not used since, are found through that one.
    auto st = db.Prepare(
        "SELECT (SELECT count(*) FROM caller_ids WHERE caller_id = ?1), "
        "COALESCE((SELECT last_reservation_id FROM caller_ids WHERE caller_id = ?1), "
        "(SELECT last_reservation_id FROM retired_numbers WHERE caller_id = ?1))",
        "lookup: number");
    if (!st) return core::Fail(st.error());
    st->BindInt64(1, static_cast<std::int64_t>(query.caller_id.digits()));
    auto row = st->Step();
    if (!row) return core::Fail(row.error());
    const bool in_pool = *row && st->ColumnInt64(0) > 0;
    const bool linked = *row && !st->ColumnIsNull(1);
    data.known = in_pool || linked;
    data.deleted = !in_pool && linked;
    if (!linked) return data;  // not known, or never used (since schema 4 began linking)
    newest = st->ColumnInt64(1);
  }
  // Reads one reservation into `out` (left empty when pruned or not ours).
  auto read_one = [&](std::string_view sql, const char* what, bool search,
                      std::optional<ReservationRecord>& out) -> core::Result<void> {
    auto st =
        db.Prepare("SELECT " + std::string(kReservationColumns) + " " + std::string(sql), what);
    if (!st) return core::Fail(st.error());
    st->BindInt64(1, newest);
    if (search) {
      st->BindText(2, query.from->ToString());
      st->BindInt64(3, static_cast<std::int64_t>(query.max_depth));
      st->BindInt64(4, ToUnixMs(now - query.window));
    }
    auto row = st->Step();
    if (!row) return core::Fail(row.error());
    if (*row && !ReadRecord(*st, now, out.emplace())) out.reset();
    return {};
  };
  auto ok = read_one("FROM reservations WHERE id = ?1", "lookup: last", false, data.last);
  if (!ok) return core::Fail(ok.error());
  if (query.from && query.max_depth > 0) {
    ok = read_one(kLookupCalledSuffix, "lookup: called", true, data.called);
    if (!ok) return core::Fail(ok.error());
  }
  return data;
}

}  // namespace cidrotor::store::sqlite
