// The read side of the SQLite journal: the start-up scan and the history queries. Each function
// runs on the connection it is given (a read-only one in SqliteJournal) and maps rows back into
// core/store values with store/row_codec.h.
//
// Thread-safety: as the Database given (sqlite_db.h).
#pragma once

#include <functional>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/journal.h"
#include "store/sqlite/sqlite_db.h"
#include "store/store.h"

namespace cidrotor::store::sqlite {

// Streams every valid caller_ids row in caller_id order into sink.OnNumber, then every live
// reservation (not released, reserved_until > now, of a number that still exists) in id order
// into sink.OnLiveReservation, then the campaign_pools rows into sink.OnCampaignPool and the
// pool_settings rows into sink.OnPoolSettings. Rows that
// do not hold a valid NANP number are skipped with a warning (never trusted). One prepared
// statement per table; the NumberSpec strings are reused between rows, so a million numbers cost
// no per-row allocation.
// Errors: kUnavailable on SQLite failures.
[[nodiscard]] core::Result<LoadSummary> LoadState(Database& db, core::TimePoint now,
                                                  LoadSink& sink);

// Every deleted number's usage kept past `now`, of numbers not in caller_ids (deleted_numbers,
// store/deleted_usage.h), into `on_kept`. LoadState's LoadSink::OnDeletedNumber; the bulk import
// reads it too. Errors: kUnavailable.
[[nodiscard]] core::Result<void> ReadKeptDeleted(
    Database& db, core::TimePoint now,
    const std::function<void(core::PhoneNumber, const DeletedUsage&)>& on_kept);

// api_logs newest first (by id), ids below query.before_id when set.
// Errors: kInvalidArgument (field "limit") unless 1 <= limit <= 1000; kUnavailable.
[[nodiscard]] core::Result<std::vector<StoredLog>> QueryLogs(Database& db, const LogQuery& query);

// Store::GetCoverage: the numbers' capacity by area code (a scan of caller_ids) and the calls by
// destination area code and quarter hour since query.since (through the index on
// reserved_until).
[[nodiscard]] core::Result<CoverageData> QueryCoverage(Database& db, const CoverageQuery& query);

// Store::GetActivity (activity_query.cc): the allocations per minute and per campaign and agent,
// through the index on reserved_until, in one read transaction. Errors: kUnavailable.
[[nodiscard]] core::Result<ActivityData> QueryActivity(Database& db, const ActivityQuery& query);

// Store::GetAnswerStats: each number's judged calls (answered, no_answer, busy, voicemail) made
// at or after query.since and after its rest ended (caller_ids.rest_until), through the index on
// reserved_until and one primary-key read of caller_ids per call; then every pool's active and
// resting (at query.now) numbers, from a scan of caller_ids. Numbers by caller_id, pools by name.
// Errors: kUnavailable.
[[nodiscard]] core::Result<AnswerStats> QueryAnswerStats(Database& db,
                                                         const AnswerStatsQuery& query);

// Reservations newest first: by id, or, with live_only (those not released with reserved_until
// after `now`), by reserved_until then id (ReservationQuery).
// Errors: kInvalidArgument (field "limit") unless 1 <= limit <= 1000; kUnavailable.
[[nodiscard]] core::Result<std::vector<ReservationRecord>> QueryReservations(
    Database& db, const ReservationQuery& query, core::TimePoint now);

// Store::Lookup: the number's newest reservation, and its newest to query.from, walking the
// reservations' previous_id links (at most query.max_depth, made at or after now - window).
// known false: no such number.
// Errors: kUnavailable.
[[nodiscard]] core::Result<LookupData> QueryLookup(Database& db, const LookupQuery& query,
                                                   core::TimePoint now);

}  // namespace cidrotor::store::sqlite
