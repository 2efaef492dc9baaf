#include "store/postgres/batch_writer.h"

#include <charconv>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "store/row_codec.h"

namespace cidrotor::store::postgres {
namespace {

// created_at is set once, by the database clock, when the row is first inserted (compact seconds
// since 2020-01-01 like the other caller_ids times); an upsert of an existing number keeps it,
// and meta.
constexpr std::string_view kUpsertNumber = R"sql(
INSERT INTO caller_ids(caller_id, carrier, area_code, hourly_limit, daily_limit, is_active, pool,
                       state, last_used, hour_start, hourly_used, day_start, daily_used, created_at)
VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
       GREATEST(EXTRACT(EPOCH FROM now())::bigint - 1577836800, 0))
ON CONFLICT(caller_id) DO UPDATE SET
  carrier = excluded.carrier, area_code = excluded.area_code,
  hourly_limit = excluded.hourly_limit, daily_limit = excluded.daily_limit,
  is_active = excluded.is_active, pool = excluded.pool, state = excluded.state,
  last_used = excluded.last_used, hour_start = excluded.hour_start,
  hourly_used = excluded.hourly_used, day_start = excluded.day_start,
  daily_used = excluded.daily_used
)sql";

constexpr std::string_view kDeleteNumber = "DELETE FROM caller_ids WHERE caller_id = $1";

constexpr std::string_view kInsertReservation = R"sql(
INSERT INTO reservations(id, caller_id, reserved_at, reserved_until, agent, campaign, destination,
                         pool, lead_id, match)
VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
)sql";
constexpr std::string_view kReplayReservationSuffix = "ON CONFLICT(id) DO NOTHING";

constexpr std::string_view kUpdateUsage = R"sql(
UPDATE caller_ids SET last_used = $2, hour_start = $3, hourly_used = $4, day_start = $5,
                      daily_used = $6
WHERE caller_id = $1
)sql";

constexpr std::string_view kReleaseReservation = R"sql(
UPDATE reservations SET released_at = $2, outcome = $3, duration = $4
WHERE id = $1 AND released_at IS NULL
)sql";

constexpr std::string_view kInsertLogs = R"sql(
INSERT INTO api_logs(timestamp, endpoint, method, agent, campaign, caller_id_allocated,
                     response_time_ms, status_code)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::float8[], $8::integer[])
)sql";

// Prepared statement names (per connection).
constexpr const char* kUpsertNumberName = "cidrotor_upsert_number";
constexpr const char* kDeleteNumberName = "cidrotor_delete_number";
constexpr const char* kInsertReservationName = "cidrotor_insert_reservation";
constexpr const char* kReplayReservationName = "cidrotor_replay_reservation";
constexpr const char* kUpdateUsageName = "cidrotor_update_usage";
constexpr const char* kReleaseReservationName = "cidrotor_release_reservation";
constexpr const char* kInsertLogsName = "cidrotor_insert_logs";

std::optional<std::int64_t> CapColumn(std::uint16_t cap) {
  if (cap == 0) return std::nullopt;  // no cap of its own: NULL, the configured default applies
  return cap;
}

std::int64_t Digits(core::PhoneNumber number) { return static_cast<std::int64_t>(number.digits()); }

// Array literal elements ({"a","b"} / {1,2}); the caller adds the braces.
void AppendArrayText(std::string& out, std::string_view value) {
  out.push_back('"');
  for (char c : value) {
    if (c == '\0') continue;  // PostgreSQL text cannot hold NUL
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

template <class Number>
void AppendArrayNumber(std::string& out, Number value) {
  char digits[40];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

}  // namespace

core::Result<void> BatchWriter::PrepareStatements(Connection& conn) {
  const std::pair<const char*, std::string_view> statements[] = {
      {kUpsertNumberName, kUpsertNumber},
      {kDeleteNumberName, kDeleteNumber},
      {kInsertReservationName, kInsertReservation},
      {kUpdateUsageName, kUpdateUsage},
      {kReleaseReservationName, kReleaseReservation},
      {kInsertLogsName, kInsertLogs},
  };
  for (const auto& [name, sql] : statements) {
    if (auto ok = conn.Prepare(name, sql); !ok) return ok;
  }
  return conn.Prepare(kReplayReservationName,
                      std::string(kInsertReservation) + std::string(kReplayReservationSuffix));
}

core::Result<void> BatchWriter::WriteBatch(Connection& conn,
                                           std::span<const JournalEntry* const> entries,
                                           std::span<const ApiLogEntry> logs, Replay replay) {
  batch_.Clear();
  for (const JournalEntry* entry : entries) {
    std::visit(
        [this, replay](const auto& e) {
          if constexpr (std::is_same_v<std::decay_t<decltype(e)>, ReservationMade>) {
            Add(e, replay);
          } else {
            Add(e);
          }
        },
        *entry);
  }
  AddLogs(logs);
  return conn.Run(batch_, "commit batch");
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
  batch_.Int(e.usage.last_used);
  batch_.Int(e.usage.hour_start);
  batch_.Int(e.usage.hourly_used);
  batch_.Int(e.usage.day_start);
  batch_.Int(e.usage.daily_used);
}

void BatchWriter::Add(const NumberDeleted& e) {
  batch_.Prepared(kDeleteNumberName);
  batch_.Int(Digits(e.caller_id));
}

void BatchWriter::Add(const ReservationMade& e, Replay replay) {
  const core::Reservation& r = e.reservation;
  batch_.Prepared(replay == Replay::kYes ? kReplayReservationName : kInsertReservationName);
  batch_.Int(static_cast<std::int64_t>(r.id));
  batch_.Int(Digits(r.caller_id));
  batch_.Int(ToUnixMs(r.reserved_at));
  batch_.Int(ToUnixMs(r.reserved_until));
  batch_.Text(r.agent);
  batch_.Text(r.campaign);
  batch_.Text(r.destination.ToString());
  batch_.Text(r.pool);
  batch_.OptionalInt(r.lead_id.has_value()
                         ? std::optional<std::int64_t>(static_cast<std::int64_t>(*r.lead_id))
                         : std::nullopt);
  batch_.Text(core::MatchTierName(r.match));

  batch_.Prepared(kUpdateUsageName);
  batch_.Int(Digits(r.caller_id));
  batch_.Int(e.usage.last_used);
  batch_.Int(e.usage.hour_start);
  batch_.Int(e.usage.hourly_used);
  batch_.Int(e.usage.day_start);
  batch_.Int(e.usage.daily_used);
}

void BatchWriter::Add(const ReservationReleased& e) {
  batch_.Prepared(kReleaseReservationName);
  batch_.Int(static_cast<std::int64_t>(e.reservation_id));
  batch_.Int(ToUnixMs(e.released_at));
  batch_.TextOrNull(core::CallOutcomeName(e.outcome));  // kUnknown's name is empty: NULL
  batch_.OptionalInt(e.duration_seconds.has_value()
                         ? std::optional<std::int64_t>(*e.duration_seconds)
                         : std::nullopt);
}

void BatchWriter::Add(const ApiLogEntry& e) { AddLogs(std::span<const ApiLogEntry>(&e, 1)); }

void BatchWriter::AddLogs(std::span<const ApiLogEntry> logs) {
  if (logs.empty()) return;
  for (std::string& column : arrays_) {
    column.clear();
    column.push_back('{');
  }
  for (std::size_t i = 0; i < logs.size(); ++i) {
    const ApiLogEntry& e = logs[i];
    if (i > 0) {
      for (std::string& column : arrays_) column.push_back(',');
    }
    AppendArrayNumber(arrays_[0], ToUnixMs(e.timestamp));
    AppendArrayText(arrays_[1], e.endpoint);
    AppendArrayText(arrays_[2], e.method);
    AppendArrayText(arrays_[3], e.agent);
    AppendArrayText(arrays_[4], e.campaign);
    AppendArrayText(arrays_[5], e.caller_id_allocated);
    AppendArrayNumber(arrays_[6], static_cast<double>(e.response_time_us) / 1000.0);
    AppendArrayNumber(arrays_[7], e.status_code);
  }
  batch_.Prepared(kInsertLogsName);
  for (std::string& column : arrays_) {
    column.push_back('}');
    batch_.Text(column);
  }
}

}  // namespace cidrotor::store::postgres
