#include "store/postgres/queries.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "core/counted_usage.h"
#include "store/postgres/batch_writer.h"
#include "store/row_codec.h"

namespace cidrotor::store::postgres {
namespace {

// Rows per FETCH of the start-up scan: about 1 MB of text per page.
constexpr int kPageRows = 20'000;

// The start-up scan's columns; the number's newest reservation (kNewestColumn) only for sinks
// that want it (LoadSink::WantsNewest), so only they pay for it (1M numbers: 1.08 s against
// 1.01 s here).
constexpr std::string_view kNumberColumns =
    "SELECT caller_id, carrier, pool, state, hourly_limit, daily_limit, is_active,"
    " last_used, hour_start, hourly_used, day_start, daily_used, warm_from, rest_until";
constexpr int kNewestColumn = 14;

// Each number's allocations in the sink's CountedWindows (LoadSink: a Redis reload), counted in
// one pass over the day's history through the index on reserved_at and joined to the scan by
// caller_id. {0}: the hour's start, {1}: the day's (Unix ms).
constexpr std::string_view kCountedJoin =
    " LEFT JOIN (SELECT caller_id, count(*) FILTER (WHERE reserved_at >= {0}) AS this_hour,"
    " count(*) AS today, max(reserved_at) AS newest FROM reservations WHERE reserved_at >= {1}"
    " GROUP BY caller_id) AS counted USING (caller_id)";
constexpr std::string_view kCountedColumns = ", counted.this_hour, counted.today, counted.newest";

// The counted columns of row `i`, from column `first` (NULL: no allocation in the windows).
core::CountedUse ReadCounted(const Rows& rows, int i, int first) {
  core::CountedUse counted;
  if (rows.IsNull(i, first)) return counted;
  counted.this_hour = ClampTo<std::uint32_t>(rows.Int64(i, first));
  counted.today = ClampTo<std::uint32_t>(rows.Int64(i, first + 1));
  counted.newest = core::ToCompact(FromUnixMs(rows.Int64(i, first + 2)));
  return counted;
}

// Fills `r` from row `i`. False when the row's numbers are not valid NANP numbers.
bool ReadReservation(const Rows& rows, int i, core::Reservation& r) {
  const auto caller_id = PhoneFromStored(rows.Int64(i, kCallerId));
  const auto destination = PhoneFromStoredText(rows.Text(i, kDestination));
  if (!caller_id || !destination) return false;
  r.id = static_cast<std::uint64_t>(rows.Int64(i, kId));
  r.caller_id = *caller_id;
  r.destination = *destination;
  r.reserved_at = FromUnixMs(rows.Int64(i, kReservedAt));
  r.reserved_until = FromUnixMs(rows.Int64(i, kReservedUntil));
  r.agent.assign(rows.Text(i, kAgent));
  r.campaign.assign(rows.Text(i, kCampaign));
  r.pool.assign(rows.Text(i, kPool));
  r.lead_id.reset();
  if (!rows.IsNull(i, kLeadId)) r.lead_id = static_cast<std::uint64_t>(rows.Int64(i, kLeadId));
  r.match = ParseMatchTier(rows.Text(i, kMatch));
  return true;
}

// Fills `record` from row `i` (kReservationColumns first), live as of `now`. False for a row that
// is not ours (hand-edited: not a valid NANP number).
bool ReadRecord(const Rows& rows, int i, core::TimePoint now, ReservationRecord& record) {
  if (!ReadReservation(rows, i, record.reservation)) return false;
  if (!rows.IsNull(i, kReleasedAt)) record.released_at = FromUnixMs(rows.Int64(i, kReleasedAt));
  record.outcome = core::ParseCallOutcome(rows.Text(i, kOutcome));
  if (!rows.IsNull(i, kDuration)) {
    record.duration_seconds = ClampTo<std::uint32_t>(rows.Int64(i, kDuration));
  }
  record.live = !record.released_at.has_value() && record.reservation.reserved_until > now;
  return true;
}

// Store::Lookup in one statement. The walk starts at the number's newest reservation and follows
// previous_id, one primary-key read per step, through at most $3 reservations made at or after
// $4 (the newest whatever its age), and stops after the first to destination $2 (with $2 NULL:
// after the newest); whole rows travel along, so
// nothing is joined afterwards. QueryLookup's SELECT answers the newest and that first match
// (one row when they are the same), or a row of NULL reservation columns when the walk found
// neither, each with its depth (1: the newest) and whether the number exists.
// A link to a pruned reservation ends the walk; a cycle (none is written, see batch_writer.h)
// would end at $3.
constexpr std::string_view kLookupWalk = R"sql(
WITH RECURSIVE chain AS (
  SELECT r.*, 1 AS depth
  FROM reservations r
  WHERE r.id = COALESCE((SELECT last_reservation_id FROM caller_ids WHERE caller_id = $1),
                        (SELECT last_reservation_id FROM retired_numbers WHERE caller_id = $1))
  UNION ALL
  SELECT r.*, chain.depth + 1
  FROM chain JOIN reservations r ON r.id = chain.previous_id
  WHERE chain.destination <> $2 AND chain.depth < $3 AND chain.reserved_at >= $4
    AND r.reserved_at >= $4
)
)sql";

// Automatic resting's per-number counts (store.h AnswerStatsQuery), as the SQLite journal's: the
// calls since $1 through the index on reserved_until (reserved_until >= reserved_at), each
// joined to its number by the primary key for its rest end, pool and active flag. The outcomes
// judged are core::CallOutcomeName's answered, no_answer, busy and voicemail; a number's calls
// count from the second after the end of its rest (core::FirstJudgedSecondAfterRest; $2: the
// compact epoch, Unix seconds), if that is later than $1.
// $3: the pool of a row whose pool is NULL. Grouped by the key of caller_ids, so its columns may
// be selected.
constexpr std::string_view kSelectAnswers = R"sql(
SELECT c.caller_id, COALESCE(c.pool, $3), COALESCE(c.is_active, TRUE), c.rest_until, count(*),
       count(*) FILTER (WHERE r.outcome = 'answered')
FROM reservations r JOIN caller_ids c ON c.caller_id = r.caller_id
WHERE r.reserved_until >= $1 AND r.reserved_at >= $1
  AND r.outcome IN ('answered', 'no_answer', 'busy', 'voicemail')
  AND r.reserved_at >= (c.rest_until + 1 + $2) * 1000
GROUP BY c.caller_id ORDER BY c.caller_id
)sql";

// Every pool's active numbers and, of those, the ones resting at $2 (compact seconds); $1: the
// pool of a row whose pool is NULL. Names in byte order (COLLATE "C"), as SQLite and std::string
// sort them, whatever the database's collation.
constexpr std::string_view kSelectPoolRests = R"sql(
SELECT COALESCE(pool, $1), count(*) FILTER (WHERE COALESCE(is_active, TRUE)),
       count(*) FILTER (WHERE COALESCE(is_active, TRUE) AND rest_until > $2)
FROM caller_ids GROUP BY 1 ORDER BY COALESCE(pool, $1) COLLATE "C"
)sql";

// Fills `counts` from row `i` of kSelectAnswers. False when the row is not a valid NANP number.
bool ReadNumberAnswers(const Rows& rows, int i, NumberAnswers& counts) {
  const auto caller_id = PhoneFromStored(rows.Int64(i, 0));
  if (!caller_id) return false;
  counts.caller_id = *caller_id;
  counts.pool.assign(rows.Text(i, 1));
  counts.active = rows.Text(i, 2) == "t";
  counts.rest_until = ClampTo<core::CompactTime>(rows.Int64(i, 3));
  counts.calls = ClampTo<std::uint32_t>(rows.Int64(i, 4));
  counts.answered = ClampTo<std::uint32_t>(rows.Int64(i, 5));
  return true;
}

// Runs `select` through a cursor inside the open transaction, page by page; `on_row(rows, i)`.
template <class OnRow>
core::Result<void> ForEachRow(Connection& conn, std::string_view cursor, std::string_view select,
                              std::string_view what, OnRow on_row) {
  auto ok = conn.Exec(
      "DECLARE " + std::string(cursor) + " NO SCROLL CURSOR FOR " + std::string(select), what);
  if (!ok) return ok;
  const std::string fetch = "FETCH " + std::to_string(kPageRows) + " FROM " + std::string(cursor);
  for (int got = kPageRows; got == kPageRows;) {
    got = 0;
    ok = conn.Exec(fetch, what, [&](Rows rows) {
      got = rows.size();
      for (int i = 0; i < got; ++i) on_row(rows, i);
    });
    if (!ok) return ok;
  }
  return conn.Exec("CLOSE " + std::string(cursor), what);
}

core::Result<LoadSummary> LoadInSnapshot(Connection& conn, core::TimePoint now, LoadSink& sink) {
  LoadSummary summary;
  std::uint64_t skipped = 0;
  core::NumberSpec spec;  // reused: assign() keeps the strings' capacity between rows
  core::NumberUsage usage;
  const bool newest = sink.WantsNewest();
  const std::optional<core::Windows> windows = sink.CountedWindows();
  const int counted_column = newest ? kNewestColumn + 1 : kNewestColumn;
  std::string numbers = std::string(kNumberColumns) + (newest ? ", last_reservation_id" : "");
  if (windows) {
    numbers += kCountedColumns;
    numbers += " FROM caller_ids";
    numbers +=
        fmt::format(kCountedJoin, ToUnixMs(windows->hour_start), ToUnixMs(windows->day_start));
  } else {
    numbers += " FROM caller_ids";
  }
  numbers += " ORDER BY caller_id";
  auto ok = ForEachRow(conn, "numbers", numbers, "load caller_ids", [&](Rows& rows, int i) {
    const auto caller_id = PhoneFromStored(rows.Int64(i, 0));
    if (!caller_id) {
      if (skipped++ == 0) {
        spdlog::warn("postgres journal: skipping caller_ids row {}: not a valid NANP number",
                     rows.Text(i, 0));
      }
      return;
    }
    spec.caller_id = *caller_id;
    spec.carrier.assign(rows.Text(i, 1));
    if (rows.IsNull(i, 2)) {
      spec.pool.assign(core::kDefaultPool);
    } else {
      spec.pool.assign(rows.Text(i, 2));
    }
    spec.state.assign(rows.Text(i, 3));
    spec.hourly_cap = ClampTo<std::uint16_t>(rows.Int64(i, 4));  // NULL reads 0: the default
    spec.daily_cap = ClampTo<std::uint16_t>(rows.Int64(i, 5));
    spec.active = rows.IsNull(i, 6) || rows.Text(i, 6) == "t";
    usage.last_used = ClampTo<core::CompactTime>(rows.Int64(i, 7));
    usage.hour_start = ClampTo<core::CompactTime>(rows.Int64(i, 8));
    usage.hourly_used = ClampTo<std::uint16_t>(rows.Int64(i, 9));
    usage.day_start = ClampTo<core::CompactTime>(rows.Int64(i, 10));
    usage.daily_used = ClampTo<std::uint16_t>(rows.Int64(i, 11));
    usage.warm_from = ClampTo<core::CompactTime>(rows.Int64(i, 12));
    usage.rest_until = ClampTo<core::CompactTime>(rows.Int64(i, 13));
    if (windows) {
      usage = core::RaiseToCounted(usage, *windows, ReadCounted(rows, i, counted_column));
    }
    sink.OnNumber(spec, usage);
    if (newest && !rows.IsNull(i, kNewestColumn)) {
      sink.OnNumberNewest(spec.caller_id, static_cast<std::uint64_t>(rows.Int64(i, kNewestColumn)));
    }
    ++summary.numbers;
  });
  if (!ok) return core::Fail(ok.error());
  if (skipped > 0) spdlog::warn("postgres journal: skipped {} invalid caller_ids rows", skipped);

  // Reservations of deleted numbers are not live: nothing could release them after a restart.
  // Nor are those released early (schema.cc) and not swept yet.
  const std::string live = "SELECT " + std::string(kReservationColumns) +
                           " FROM reservations r WHERE released_at IS NULL AND reserved_until > " +
                           std::to_string(ToUnixMs(now)) +
                           " AND EXISTS (SELECT 1 FROM caller_ids c WHERE c.caller_id ="
                           " r.caller_id) AND NOT EXISTS (SELECT 1 FROM early_releases e"
                           " WHERE e.id = r.id) ORDER BY reserved_at DESC, id DESC";  // LoadSink
  core::Reservation reservation;
  ok = ForEachRow(conn, "live", live, "load live reservations", [&](Rows& rows, int i) {
    if (!ReadReservation(rows, i, reservation)) {
      spdlog::warn("postgres journal: skipping reservation {}: invalid caller_id or destination",
                   rows.Text(i, kId));
      return;
    }
    sink.OnLiveReservation(reservation);
    ++summary.live_reservations;
  });
  if (!ok) return core::Fail(ok.error());

  if (const core::Seconds window = sink.LeadWindow(); window.count() > 0) {
    // The sticky tier's memory, through the partial index reservations_lead (migration 3).
    const std::string leads =
        "SELECT pool, lead_id, caller_id, reserved_at FROM reservations"
        " WHERE lead_id IS NOT NULL AND reserved_at >= " +
        std::to_string(ToUnixMs(now - window)) + " ORDER BY reserved_at";
    LeadAllocation lead;
    ok = ForEachRow(conn, "leads", leads, "load lead allocations", [&](Rows& rows, int i) {
      const auto caller_id = PhoneFromStored(rows.Int64(i, 2));
      if (!caller_id) return;
      lead.pool.assign(rows.Text(i, 0));
      lead.lead_id = static_cast<std::uint64_t>(rows.Int64(i, 1));
      lead.caller_id = *caller_id;
      lead.at = FromUnixMs(rows.Int64(i, 3));
      sink.OnLeadAllocation(lead);
    });
    if (!ok) return core::Fail(ok.error());
  }

  if (const core::Seconds window = sink.AgentWindow(); window.count() > 0) {
    // The agent rate limit's memory, through the index on reserved_until (as SQLite's).
    const std::string since = std::to_string(ToUnixMs(now - window));
    const std::string agents =
        "SELECT agent, reserved_at, pool, id FROM reservations WHERE reserved_until >= " + since +
        " AND reserved_at >= " + since + " AND agent <> '' ORDER BY reserved_at";
    ok = ForEachRow(conn, "agents", agents, "load agent allocations", [&](Rows& rows, int i) {
      sink.OnAgentAllocation({rows.Text(i, 0), FromUnixMs(rows.Int64(i, 1)), rows.Text(i, 2),
                              static_cast<std::uint64_t>(rows.Int64(i, 3))});
    });
    if (!ok) return core::Fail(ok.error());
  }

  // Deleted numbers' usage still kept, of numbers not in caller_ids (LoadSink::OnDeletedNumber).
  const std::string deleted =
      "SELECT caller_id, last_used, hour_start, hourly_used, day_start, daily_used, warm_from,"
      " rest_until, keep_until FROM deleted_numbers d WHERE keep_until > " +
      std::to_string(core::ToCompact(now)) +
      " AND NOT EXISTS (SELECT 1 FROM caller_ids c WHERE c.caller_id = d.caller_id)";
  DeletedUsage kept;
  ok = ForEachRow(conn, "deleted", deleted, "load deleted_numbers", [&](Rows& rows, int i) {
    const auto caller_id = PhoneFromStored(rows.Int64(i, 0));
    if (!caller_id) return;
    kept.usage.last_used = ClampTo<core::CompactTime>(rows.Int64(i, 1));
    kept.usage.hour_start = ClampTo<core::CompactTime>(rows.Int64(i, 2));
    kept.usage.hourly_used = ClampTo<std::uint16_t>(rows.Int64(i, 3));
    kept.usage.day_start = ClampTo<core::CompactTime>(rows.Int64(i, 4));
    kept.usage.daily_used = ClampTo<std::uint16_t>(rows.Int64(i, 5));
    kept.usage.warm_from = ClampTo<core::CompactTime>(rows.Int64(i, 6));
    kept.usage.rest_until = ClampTo<core::CompactTime>(rows.Int64(i, 7));
    kept.keep_until = ClampTo<core::CompactTime>(rows.Int64(i, 8));
    sink.OnDeletedNumber(*caller_id, kept);
  });
  if (!ok) return core::Fail(ok.error());

  CampaignPool mapping;
  ok = ForEachRow(conn, "campaigns", "SELECT campaign, pool FROM campaign_pools ORDER BY campaign",
                  "load campaign_pools", [&](Rows& rows, int i) {
                    mapping.campaign.assign(rows.Text(i, 0));
                    mapping.pool.assign(rows.Text(i, 1));
                    sink.OnCampaignPool(mapping);
                    ++summary.campaign_pools;
                  });
  if (!ok) return core::Fail(ok.error());

  PoolSettings settings;
  ok = ForEachRow(conn, "pool_settings", "SELECT pool, fallback FROM pool_settings ORDER BY pool",
                  "load pool_settings", [&](Rows& rows, int i) {
                    settings.pool.assign(rows.Text(i, 0));
                    settings.fallback_any = FallbackIsAny(rows.Text(i, 1));
                    sink.OnPoolSettings(settings);
                  });
  if (!ok) return core::Fail(ok.error());

  ok = conn.Exec("SELECT COALESCE(MAX(id), 0) FROM reservations", "read max reservation id",
                 [&](Rows rows) {
                   if (rows.size() > 0) {
                     summary.max_reservation_id =
                         static_cast<std::uint64_t>(std::max<std::int64_t>(rows.Int64(0, 0), 0));
                   }
                 });
  if (!ok) return core::Fail(ok.error());
  return summary;
}

}  // namespace

core::Result<LoadSummary> LoadState(Connection& conn, core::TimePoint now, LoadSink& sink) {
  // One snapshot: a reservation committed between the two scans cannot refer to a number the
  // first scan did not see.
  auto ok = conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin load");
  if (!ok) return core::Fail(ok.error());
  auto summary = LoadInSnapshot(conn, now, sink);
  (void)conn.Exec(summary ? "COMMIT" : "ROLLBACK", "end load");
  return summary;
}

core::Result<PruneResult> PruneChunk(Connection& conn, const PruneCutoffs& cutoffs,
                                     std::size_t limit) {
  // As the SQLite journal's: api_logs from the lowest ids (the primary key bounds the read where
  // a WHERE on timestamp alone would scan the table), reservations by reserved_until (indexed),
  // never the highest id of either table.
  QueryBatch batch;
  std::uint64_t* counts[2] = {nullptr, nullptr};
  PruneResult pruned;
  std::size_t statements = 0;
  // Deletes the first `limit` rows of `table` that `inner` picks, in its order, those that pass
  // `outer` too; counts them.
  const auto add = [&](const char* table, const char* inner, const char* outer,
                       core::TimePoint before, std::uint64_t* count) {
    batch.Sql(
        fmt::format("WITH d AS (DELETE FROM {0} WHERE id IN (SELECT id FROM {0} {1} LIMIT $2){2}"
                    " RETURNING 1) SELECT count(*) FROM d",
                    table, inner, outer));
    batch.Int(ToUnixMs(before));
    batch.Int(static_cast<std::int64_t>(limit));
    counts[statements++] = count;
  };
  if (cutoffs.api_logs_before) {
    add("api_logs", "ORDER BY id", " AND timestamp < $1 AND id < (SELECT MAX(id) FROM api_logs)",
        *cutoffs.api_logs_before, &pruned.api_logs);
  }
  if (cutoffs.reservations_before) {
    // The highest id left out before the LIMIT: a full chunk still means "maybe more".
    add("reservations",
        "WHERE reserved_until < $1 AND id < (SELECT MAX(id) FROM reservations)"
        " ORDER BY reserved_until",
        "", *cutoffs.reservations_before, &pruned.reservations);
  }
  if (cutoffs.tombstones_before) {
    // Deleted numbers' versions (schema.cc number_versions), not counted. SKIP LOCKED: a writer
    // changing one of those numbers now waits for this statement at most, never the other way
    // round (no deadlock with a batch that holds one and wants another).
    batch.Sql(
        "DELETE FROM number_versions WHERE caller_id IN (SELECT caller_id FROM number_versions"
        " WHERE deleted AND version < $1 LIMIT 10000 FOR UPDATE SKIP LOCKED)");
    batch.Int(ToUnixMs(*cutoffs.tombstones_before) * 1000);  // microseconds, as Redis's TIME
  }
  if (statements == 0 && !cutoffs.tombstones_before) return pruned;
  if (cutoffs.reservations_before) {
    // Early releases (schema.cc) whose reservation never came, with the history they would have
    // been part of. Few rows: not counted, not chunked.
    batch.Sql("DELETE FROM early_releases WHERE released_at < $1");
    batch.Int(ToUnixMs(*cutoffs.reservations_before));
  }
  auto ok = conn.Run(batch, "prune history", [&](std::size_t i, Rows rows) {
    if (i < statements && rows.size() > 0) {
      *counts[i] = static_cast<std::uint64_t>(rows.Int64(0, 0));
    }
  });
  if (!ok) return core::Fail(ok.error());
  return pruned;
}

core::Result<CoverageData> QueryCoverage(Connection& conn, const CoverageQuery& query) {
  QueryBatch batch;
  batch.Sql(
      "SELECT caller_id / 10000000, count(*), count(*) FILTER (WHERE COALESCE(is_active, TRUE)),"
      " COALESCE(sum(COALESCE(NULLIF(hourly_limit, 0), $1))"
      "   FILTER (WHERE COALESCE(is_active, TRUE)), 0),"
      " COALESCE(sum(COALESCE(NULLIF(daily_limit, 0), $2))"
      "   FILTER (WHERE COALESCE(is_active, TRUE)), 0)"
      " FROM caller_ids GROUP BY 1 ORDER BY 1");
  batch.Int(query.default_hourly_cap);
  batch.Int(query.default_daily_cap);
  // The active numbers warming up or rested since recent_since, grouped (numbers added on one day
  // share their warm_from).
  batch.Sql(
      "SELECT caller_id / 10000000, COALESCE(NULLIF(hourly_limit, 0), $1),"
      " COALESCE(NULLIF(daily_limit, 0), $2),"
      " CASE WHEN warm_from >= $3 THEN warm_from ELSE 0 END,"
      " CASE WHEN rest_until >= $3 THEN rest_until ELSE 0 END, count(*)"
      " FROM caller_ids WHERE COALESCE(is_active, TRUE) AND (warm_from >= $3 OR rest_until >= $3)"
      " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5");
  batch.Int(query.default_hourly_cap);
  batch.Int(query.default_daily_cap);
  batch.Int(query.recent_since);
  // Destinations are stored as the 10 digits; any other text (a hand-edited row) is left out.
  batch.Sql(
      "SELECT substr(destination, 1, 3)::int, reserved_at / 900000, count(*)"
      " FROM reservations WHERE reserved_until >= $1 AND reserved_at >= $1"
      " AND destination ~ '^[0-9]{10}$' GROUP BY 1, 2 ORDER BY 1, 2");
  batch.Int(ToUnixMs(query.since));
  CoverageData data;
  auto ok = conn.Run(batch, "coverage", [&](std::size_t statement, Rows rows) {
    for (int i = 0; i < rows.size(); ++i) {
      if (statement == 0) {
        AreaCodeCapacity& c = data.capacity.emplace_back();
        c.area_code = ClampTo<std::uint32_t>(rows.Int64(i, 0));
        c.numbers = ClampTo<std::uint64_t>(rows.Int64(i, 1));
        c.active = ClampTo<std::uint64_t>(rows.Int64(i, 2));
        c.hourly_capacity = ClampTo<std::uint64_t>(rows.Int64(i, 3));
        c.daily_capacity = ClampTo<std::uint64_t>(rows.Int64(i, 4));
      } else if (statement == 1) {
        RecentNumbers& r = data.recent.emplace_back();
        r.area_code = ClampTo<std::uint32_t>(rows.Int64(i, 0));
        r.hourly_cap = ClampTo<std::uint16_t>(rows.Int64(i, 1));
        r.daily_cap = ClampTo<std::uint16_t>(rows.Int64(i, 2));
        r.warm_from = ClampTo<core::CompactTime>(rows.Int64(i, 3));
        r.rest_until = ClampTo<core::CompactTime>(rows.Int64(i, 4));
        r.numbers = ClampTo<std::uint64_t>(rows.Int64(i, 5));
      } else {
        AreaCodeCalls& c = data.calls.emplace_back();
        c.area_code = ClampTo<std::uint32_t>(rows.Int64(i, 0));
        c.quarter = rows.Int64(i, 1);
        c.calls = ClampTo<std::uint64_t>(rows.Int64(i, 2));
      }
    }
  });
  if (!ok) return core::Fail(ok.error());
  return data;
}

core::Result<AnswerStats> QueryAnswerStats(Connection& conn, const AnswerStatsQuery& query) {
  QueryBatch batch;
  batch.Sql(std::string(kSelectAnswers));
  batch.Int(ToUnixMs(query.since));
  batch.Int(core::kCompactEpochUnixSeconds);
  batch.Text(core::kDefaultPool);
  batch.Sql(std::string(kSelectPoolRests));
  batch.Text(core::kDefaultPool);
  batch.Int(core::ToCompact(query.now));
  AnswerStats stats;
  auto ok = conn.Run(batch, "answer stats", [&](std::size_t statement, Rows rows) {
    for (int i = 0; i < rows.size(); ++i) {
      if (statement == 0) {
        NumberAnswers counts;
        if (ReadNumberAnswers(rows, i, counts)) stats.numbers.push_back(std::move(counts));
      } else {
        PoolRestCounts& counts = stats.pools.emplace_back();
        counts.pool.assign(rows.Text(i, 0));
        counts.active = ClampTo<std::uint32_t>(rows.Int64(i, 1));
        counts.resting = ClampTo<std::uint32_t>(rows.Int64(i, 2));
      }
    }
  });
  if (!ok) return core::Fail(ok.error());
  return stats;
}

core::Result<std::vector<StoredLog>> QueryLogs(Connection& conn, const LogQuery& query) {
  auto ok = CheckHistoryLimit(query.limit);
  if (!ok) return core::Fail(ok.error());
  constexpr auto kNoBound = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  QueryBatch batch;
  batch.Sql(
      "SELECT id, timestamp, endpoint, method, agent, campaign, caller_id_allocated,"
      " response_time_ms, status_code FROM api_logs WHERE id < $1 ORDER BY id DESC LIMIT $2");
  batch.Int(static_cast<std::int64_t>(std::min(query.before_id.value_or(kNoBound), kNoBound)));
  batch.Int(static_cast<std::int64_t>(query.limit));
  std::vector<StoredLog> logs;
  ok = conn.Run(batch, "list api_logs", [&](std::size_t, Rows rows) {
    for (int i = 0; i < rows.size(); ++i) {
      StoredLog& log = logs.emplace_back();
      log.id = static_cast<std::uint64_t>(rows.Int64(i, 0));
      log.entry.timestamp = FromUnixMs(rows.Int64(i, 1));
      log.entry.endpoint.assign(rows.Text(i, 2));
      log.entry.method.assign(rows.Text(i, 3));
      log.entry.agent.assign(rows.Text(i, 4));
      log.entry.campaign.assign(rows.Text(i, 5));
      log.entry.caller_id_allocated.assign(rows.Text(i, 6));
      // Fractional milliseconds back to whole microseconds, as the SQLite reader does.
      const double ms = rows.Double(i, 7);
      log.entry.response_time_us =
          std::isfinite(ms)
              ? ClampTo<std::uint32_t>(std::llround(std::clamp(ms, 0.0, 5e6) * 1000.0))
              : 0;
      log.entry.status_code = ClampTo<std::uint16_t>(rows.Int64(i, 8));
    }
  });
  if (!ok) return core::Fail(ok.error());
  return logs;
}

core::Result<std::vector<ReservationRecord>> QueryReservations(Connection& conn,
                                                               const ReservationQuery& query,
                                                               core::TimePoint now) {
  auto ok = CheckHistoryLimit(query.limit);
  if (!ok) return core::Fail(ok.error());
  if (query.before_id) {
    bool found = false;
    ok = conn.Exec("SELECT 1 FROM reservations WHERE id = " + std::to_string(*query.before_id),
                   "find cursor", [&](Rows rows) { found = rows.size() > 0; });
    if (!ok) return core::Fail(ok.error());
    if (!found) return core::Fail(UnknownCursor(*query.before_id));
  }
  QueryBatch batch;
  // The history's page after reservation $2 (before_id): rows below it in (reserved_at, id),
  // spelt so that the reserved_at index bounds the scan (a row comparison would not).
  constexpr std::string_view kAfterCursor =
      " WHERE reserved_at <= (SELECT reserved_at FROM reservations WHERE id = $2)"
      " AND (reserved_at < (SELECT reserved_at FROM reservations WHERE id = $2) OR id < $2)";
  batch.Sql("SELECT " + std::string(kReservationColumns) + " FROM reservations" +
            (query.live_only ? " WHERE released_at IS NULL AND reserved_until > $2"
                               " ORDER BY reserved_until DESC, id DESC LIMIT $1"
                             : std::string(query.before_id ? kAfterCursor : "") +
                                   " ORDER BY reserved_at DESC, id DESC LIMIT $1"));
  batch.Int(static_cast<std::int64_t>(query.limit));
  if (query.live_only) batch.Int(ToUnixMs(now));
  if (!query.live_only && query.before_id) batch.Int(static_cast<std::int64_t>(*query.before_id));
  std::vector<ReservationRecord> records;
  ok = conn.Run(batch, "list reservations", [&](std::size_t, Rows rows) {
    for (int i = 0; i < rows.size(); ++i) {
      ReservationRecord record;
      if (!ReadRecord(rows, i, now, record)) continue;  // hand-edited row: not ours
      records.push_back(std::move(record));
    }
  });
  if (!ok) return core::Fail(ok.error());
  return records;
}

core::Result<LookupData> QueryLookup(Connection& conn, const LookupQuery& query,
                                     core::TimePoint now) {
  constexpr int kDepth = kDuration + 1;  // after kReservationColumns: the walk's depth,
  constexpr int kKnown = kDepth + 1;     // then whether the number exists,
  constexpr int kRetired = kKnown + 1;   // and whether it left a link when deleted
  QueryBatch batch;
  batch.Sql(std::string(kLookupWalk) +
            "SELECT found.*, number.known, number.retired FROM (SELECT"
            " (SELECT count(*) FROM caller_ids WHERE caller_id = $1) AS known,"
            " (SELECT count(*) FROM retired_numbers WHERE caller_id = $1) AS retired)"
            " AS number LEFT JOIN (SELECT " +
            std::string(kReservationColumns) +
            ", depth FROM chain WHERE depth = 1 OR destination = $2) AS found ON TRUE" +
            " ORDER BY found.depth");
  batch.Int(static_cast<std::int64_t>(query.caller_id.digits()));
  if (query.from) {
    batch.Text(query.from->ToString());
  } else {
    batch.Null();
  }
  batch.Int(static_cast<std::int64_t>(
      std::min<std::size_t>(query.max_depth, std::numeric_limits<std::int32_t>::max())));
  const core::TimePoint since = now - query.window;  // `called` is searched back to here
  batch.Int(ToUnixMs(since));
  LookupData data;
  auto ok = conn.Run(batch, "look a number up", [&](std::size_t, Rows rows) {
    for (int i = 0; i < rows.size(); ++i) {
      const bool in_pool = rows.Int64(i, kKnown) > 0;
      data.known = in_pool || rows.Int64(i, kRetired) > 0;
      data.deleted = !in_pool && data.known;
      if (rows.IsNull(i, kId)) continue;  // never used, or its newest was pruned
      ReservationRecord record;
      if (!ReadRecord(rows, i, now, record)) continue;  // hand-edited row: not ours
      const std::int64_t depth = rows.Int64(i, kDepth);
      if (query.from && record.reservation.destination == *query.from &&
          static_cast<std::uint64_t>(depth) <= query.max_depth &&
          record.reservation.reserved_at >= since && !data.called) {
        data.called = record;
      }
      if (depth == 1) data.last = std::move(record);
    }
  });
  if (!ok) return core::Fail(ok.error());
  return data;
}

core::Result<StoredReservations> LookUpReservations(
    Connection& conn, const std::vector<const core::Reservation*>& reservations) {
  ArrayLiteral ids, numbers, times;
  for (const core::Reservation* r : reservations) {
    ids.Int(static_cast<std::int64_t>(r->id));
    numbers.Int(static_cast<std::int64_t>(r->caller_id.digits()));
    times.Int(ToUnixMs(r->reserved_at));
  }
  QueryBatch batch;
  batch.Sql(
      "SELECT count(*), count(*) FILTER (WHERE r.caller_id = b.caller_id AND "
      "r.reserved_at = b.reserved_at) FROM reservations r "
      "JOIN unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS b(id, caller_id, reserved_at) "
      "ON r.id = b.id");
  batch.Text(ids.Close());
  batch.Text(numbers.Close());
  batch.Text(times.Close());
  std::int64_t rows_found = 0;
  std::int64_t matching = 0;
  auto ok = conn.Run(batch, "look reservations up", [&](std::size_t, Rows rows) {
    if (rows.size() == 0) return;
    rows_found = rows.Int64(0, 0);
    matching = rows.Int64(0, 1);
  });
  if (!ok) return core::Fail(ok.error());
  if (rows_found == 0) return StoredReservations::kNone;
  if (matching < rows_found) return StoredReservations::kOtherRows;
  return matching == static_cast<std::int64_t>(reservations.size()) ? StoredReservations::kStored
                                                                     : StoredReservations::kSome;
}

}  // namespace cidrotor::store::postgres
