// The read side of the PostgreSQL journal: the start-up scan (also the Redis rebuild's source)
// and the history queries. Each function runs on the connection it is given and maps rows back
// into core/store values with store/row_codec.h, exactly as the SQLite journal's reader does.
//
// Thread-safety: as the Connection given (pg_connection.h).
#pragma once

#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/journal.h"
#include "store/postgres/pg_connection.h"
#include "store/store.h"

namespace cidrotor::store::postgres {

// In one REPEATABLE READ snapshot: streams every valid caller_ids row in caller_id order into
// sink.OnNumber (each followed by sink.OnNumberNewest with its last_reservation_id, when that is
// set and the sink WantsNewest: the column is read only then; with the usage raised to the
// number's reservations in the sink's CountedWindows, when it has them), then every live
// reservation (not released, reserved_until > now, of a number that still exists) in id order into
// sink.OnLiveReservation, every campaign_pools row into sink.OnCampaignPool, and reads the
// largest reservation id. Rows are fetched through a cursor in
// pages, so a million numbers never sit in memory at once. Rows that do not hold a valid NANP
// number are skipped with a warning. Errors: kUnavailable.
[[nodiscard]] core::Result<LoadSummary> LoadState(Connection& conn, core::TimePoint now,
                                                  LoadSink& sink);

// One chunk of Journal::PruneHistory, in one transaction: deletes up to `limit` api_logs rows and
// up to `limit` reservations older than `cutoffs`; fewer than `limit` of both: nothing older is
// left. Errors: kUnavailable.
[[nodiscard]] core::Result<PruneResult> PruneChunk(Connection& conn, const PruneCutoffs& cutoffs,
                                                   std::size_t limit);

// Store::GetCoverage, as sqlite::QueryCoverage.
[[nodiscard]] core::Result<CoverageData> QueryCoverage(Connection& conn,
                                                       const CoverageQuery& query);

// Store::GetActivity (activity_query.cc), as sqlite::QueryActivity, in one round trip.
[[nodiscard]] core::Result<ActivityData> QueryActivity(Connection& conn,
                                                       const ActivityQuery& query);

// Store::GetAnswerStats, as sqlite::QueryAnswerStats, in one round trip (two statements of one
// QueryBatch). Errors: kUnavailable.
[[nodiscard]] core::Result<AnswerStats> QueryAnswerStats(Connection& conn,
                                                         const AnswerStatsQuery& query);

// api_logs newest first (by id), ids below query.before_id when set.
// Errors: kInvalidArgument (field "limit") unless 1 <= limit <= 1000; kUnavailable.
[[nodiscard]] core::Result<std::vector<StoredLog>> QueryLogs(Connection& conn,
                                                             const LogQuery& query);

// Reservations newest first: by id, or, with live_only (those not released with reserved_until
// after `now`), by reserved_until then id (ReservationQuery).
// Errors: kInvalidArgument (field "limit") unless 1 <= limit <= 1000; kUnavailable.
[[nodiscard]] core::Result<std::vector<ReservationRecord>> QueryReservations(
    Connection& conn, const ReservationQuery& query, core::TimePoint now);

// Store::Lookup (as sqlite::QueryLookup): `known` when the number's caller_ids row exists; `last`
// its newest reservation (caller_ids.last_reservation_id; none when it has none or it was
// pruned); `called`, when query.from is set, the first of the reservations reached from `last`
// through previous_id, newest first, at most query.max_depth of them, whose destination is
// query.from. Records are filled as QueryReservations fills them (live as of `now`). One round
// trip. Errors: kUnavailable.
[[nodiscard]] core::Result<LookupData> QueryLookup(Connection& conn, const LookupQuery& query,
                                                   core::TimePoint now);

// What the reservations table holds of `reservations` (those of one transaction, ids distinct).
enum class StoredReservations : std::uint8_t {
  kStored,     // all of them, id, number and time alike: the transaction was committed
  kOtherRows,  // another reservation's row under one of their ids: the transaction could never
               // commit (it would repeat that id)
  kNone,       // no row under any of their ids
  kSome,       // some of them and no other row: no transaction leaves that (none deletes)
};
// Looks `reservations` up by id. REQUIRES: not empty. Errors: kUnavailable.
[[nodiscard]] core::Result<StoredReservations> LookUpReservations(
    Connection& conn, const std::vector<const core::Reservation*>& reservations);

}  // namespace cidrotor::store::postgres
