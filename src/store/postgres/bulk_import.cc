#include "store/postgres/bulk_import.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/warm_up.h"
#include "store/journal_support.h"
#include "store/postgres/queries.h"
#include "store/postgres/schema.h"
#include "store/row_codec.h"

namespace cidrotor::store::postgres {
namespace {

// Lives for the session; ON COMMIT DELETE ROWS empties it after every batch.
// warm_from is the value the row gets if it is new (BuildSorted); the UPDATE of existing rows
// takes warm_from_given instead. last_used, rest_until and warm_from_given NULL: none in the
// input (0 for a new row, the stored value kept by an update). given: ImportItem::given.
constexpr std::string_view kCreateStaging = R"sql(
CREATE TEMP TABLE IF NOT EXISTS import_rows (
  caller_id BIGINT, carrier TEXT, area_code TEXT, hourly_limit INTEGER, daily_limit INTEGER,
  is_active BOOLEAN, pool TEXT, state TEXT, last_used BIGINT, warm_from BIGINT, rest_until BIGINT,
  warm_from_given BIGINT, given INTEGER
) ON COMMIT DELETE ROWS
)sql";

constexpr std::string_view kCopy =
    "COPY import_rows(caller_id, carrier, area_code, hourly_limit, daily_limit, is_active, pool,"
    " state, last_used, warm_from, rest_until, warm_from_given, given) FROM STDIN";

// The rows kUpdateExisting changes, locked first in caller_id order: the journal writers' usage
// UPDATE locks in that order too (batch_writer.cc AddUsages), while the UPDATE … FROM locks in
// its join's order, and a review saw the two deadlock (the writer's batch aborted, the instances
// degraded) when an import updated numbers that were being allocated.
constexpr std::string_view kLockExisting = R"sql(
SELECT 1 FROM caller_ids WHERE caller_id IN (SELECT caller_id FROM import_rows)
ORDER BY caller_id FOR UPDATE
)sql";

// r.given: the fields the row gives (store::ImportField bits); the others keep the stored value.
constexpr std::string_view kUpdateExisting = R"sql(
UPDATE caller_ids c SET
  carrier = CASE WHEN r.given & 1 <> 0 THEN r.carrier ELSE c.carrier END,
  area_code = r.area_code,
  hourly_limit = CASE WHEN r.given & 2 <> 0 THEN r.hourly_limit ELSE c.hourly_limit END,
  daily_limit = CASE WHEN r.given & 4 <> 0 THEN r.daily_limit ELSE c.daily_limit END,
  is_active = CASE WHEN r.given & 32 <> 0 THEN r.is_active ELSE c.is_active END,
  pool = CASE WHEN r.given & 8 <> 0 THEN r.pool ELSE c.pool END,
  state = CASE WHEN r.given & 16 <> 0 THEN r.state ELSE c.state END,
  last_used = COALESCE(r.last_used, c.last_used),
  rest_until = COALESCE(r.rest_until, c.rest_until),
  warm_from = COALESCE(r.warm_from_given, c.warm_from)
FROM import_rows r WHERE c.caller_id = r.caller_id
)sql";
static_assert(kImportCarrier == 1 && kImportHourlyCap == 2 && kImportDailyCap == 4 &&
              kImportPool == 8 && kImportState == 16 && kImportActive == 32);

// The staging table holds the batch in caller_id order already (BuildSorted), so the new rows
// go into the table's indexes in key order. created_at: compact seconds since 2020-01-01, as the
// journal's writer sets it.
constexpr std::string_view kInsertNew = R"sql(
INSERT INTO caller_ids(caller_id, carrier, area_code, hourly_limit, daily_limit, is_active, pool,
                       state, last_used, warm_from, created_at, rest_until)
SELECT caller_id, carrier, area_code, hourly_limit, daily_limit, is_active, pool, state,
       COALESCE(last_used, 0), warm_from,
       GREATEST(EXTRACT(EPOCH FROM now())::bigint - 1577836800, 0), COALESCE(rest_until, 0)
FROM import_rows
ON CONFLICT(caller_id) DO NOTHING
)sql";

// kInsertNew where deleted numbers' usage is kept (deleted_numbers, store/deleted_usage.h): a new
// row of such a number takes it back, with the row's last_used, rest_until and warm-up start over
// it (RevivedUsage). Followed by the time (compact seconds) it must be kept past.
constexpr std::string_view kInsertNewReviving = R"sql(
INSERT INTO caller_ids(caller_id, carrier, area_code, hourly_limit, daily_limit, is_active, pool,
                       state, last_used, hour_start, hourly_used, day_start, daily_used,
                       warm_from, created_at, rest_until)
SELECT i.caller_id, i.carrier, i.area_code, i.hourly_limit, i.daily_limit, i.is_active, i.pool,
       i.state, COALESCE(i.last_used, d.last_used, 0), COALESCE(d.hour_start, 0),
       COALESCE(d.hourly_used, 0), COALESCE(d.day_start, 0), COALESCE(d.daily_used, 0),
       CASE WHEN d.caller_id IS NULL THEN i.warm_from
            ELSE COALESCE(i.warm_from_given, d.warm_from) END,
       GREATEST(EXTRACT(EPOCH FROM now())::bigint - 1577836800, 0),
       COALESCE(i.rest_until, d.rest_until, 0)
FROM import_rows i LEFT JOIN deleted_numbers d ON d.caller_id = i.caller_id AND d.keep_until >
)sql";

constexpr std::string_view kCopyDirect =
    "COPY caller_ids(caller_id, carrier, area_code, hourly_limit, daily_limit, is_active, pool,"
    " state, last_used, warm_from, created_at, rest_until) FROM STDIN";

void AppendNumber(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// The COPY text of `item`'s columns up to (and including the tab before) last_used, which
// differs between the two paths and is appended when the batch is written.
void AppendCopyColumns(std::string& out, const ImportItem& item) {
  const core::NumberSpec& s = item.spec;
  char area_code[3];
  AreaCodeText(s.caller_id, area_code);
  AppendNumber(out, s.caller_id.digits());
  out.push_back('\t');
  Connection::AppendCopyText(out, s.carrier);
  out.push_back('\t');
  out.append(area_code, sizeof area_code);
  out.push_back('\t');
  if (s.hourly_cap == 0) {
    out += "\\N";  // NULL: the configured default applies
  } else {
    AppendNumber(out, s.hourly_cap);
  }
  out.push_back('\t');
  if (s.daily_cap == 0) {
    out += "\\N";
  } else {
    AppendNumber(out, s.daily_cap);
  }
  out += s.active ? "\tt\t" : "\tf\t";
  Connection::AppendCopyText(out, s.pool);
  out.push_back('\t');
  Connection::AppendCopyText(out, s.state);
  out.push_back('\t');
}

// Where a buffered row's text is, so the batch can be written in caller_id order.
struct RowRef {
  std::uint64_t digits = 0;
  std::uint32_t offset = 0;  // into the batch's text
  std::uint32_t length = 0;
  std::int64_t last_used = -1;   // -1: none in the input
  std::int64_t rest_until = -1;  // -1: none in the input
  std::int64_t warm_from = -1;   // -1: none in the input
  std::uint8_t given = kImportAllFields;  // ImportItem::given
};

}  // namespace

struct BulkImporter::Impl {
  BulkImportOptions options;
  Connection conn;
  std::string text;                 // the batch's rows' columns as COPY text, in input order
  std::vector<RowRef> rows;         // where each row is in `text`
  std::string sorted;               // the COPY data sent, in caller_id order
  std::vector<ImportItem> items;    // the batch's rows, only when on_rows_written is set
  bool last_batch_all_new = false;  // the previous batch met no stored number
  std::size_t batches_written = 0;

  // The warm_from of `row` if it is new: its own, else warm_from_today without a last_used
  // (absent or 0), else 0 (core::ArrivingUsage).
  std::uint64_t WarmFrom(const RowRef& row) const {
    if (row.warm_from >= 0) return static_cast<std::uint64_t>(row.warm_from);
    core::NumberUsage arriving;
    arriving.last_used = static_cast<core::CompactTime>(std::max<std::int64_t>(row.last_used, 0));
    return core::ArrivingUsage(arriving, options.warm_from_today).warm_from;
  }

  // A time of the input, or for none (-1) 0 (`direct`) or NULL.
  void AppendOptional(std::int64_t value, bool direct) {
    if (value >= 0) {
      AppendNumber(sorted, static_cast<std::uint64_t>(value));
    } else {
      sorted += direct ? "0" : "\\N";
    }
  }

  // The batch as COPY lines in caller_id order. `direct`: lines for caller_ids itself
  // (last_used 0 when absent, then warm_from (WarmFrom), created_at and rest_until, 0 when
  // absent); otherwise for import_rows (last_used NULL when absent, then warm_from, rest_until and
  // warm_from_given, NULL when absent).
  void BuildSorted(bool direct, std::int64_t created_at) {
    std::sort(rows.begin(), rows.end(),
              [](const RowRef& a, const RowRef& b) { return a.digits < b.digits; });
    sorted.clear();
    sorted.reserve(text.size() + rows.size() * 48);
    for (const RowRef& row : rows) {
      sorted.append(text, row.offset, row.length);
      AppendOptional(row.last_used, direct);
      sorted.push_back('\t');
      AppendNumber(sorted, WarmFrom(row));
      if (direct) {
        sorted.push_back('\t');
        AppendNumber(sorted, static_cast<std::uint64_t>(created_at));
      }
      sorted.push_back('\t');
      AppendOptional(row.rest_until, direct);
      if (!direct) {
        sorted.push_back('\t');
        AppendOptional(row.warm_from, direct);
        sorted.push_back('\t');
        AppendNumber(sorted, row.given);
      }
      sorted.push_back('\n');
    }
  }
};

BulkImporter::BulkImporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BulkImporter::~BulkImporter() = default;

core::Result<std::unique_ptr<BulkImporter>> BulkImporter::Open(BulkImportOptions options) {
  auto impl = std::make_unique<Impl>();
  options.connection.statement_timeout = options.statement_timeout;
  auto conn = Connection::Open(options.connection);
  if (!conn) return core::Fail(conn.error());
  impl->conn = std::move(*conn);
  if (auto migrated = Migrate(impl->conn); !migrated) return core::Fail(migrated.error());
  if (auto ok = impl->conn.Exec(kCreateStaging, "create import_rows"); !ok) {
    return core::Fail(ok.error());
  }
  impl->options = std::move(options);
  return std::unique_ptr<BulkImporter>(new BulkImporter(std::move(impl)));
}

core::Result<bool> BulkImporter::Exists(core::PhoneNumber number) {
  QueryBatch batch;
  batch.Sql("SELECT 1 FROM caller_ids WHERE caller_id = $1");
  batch.Int(static_cast<std::int64_t>(number.digits()));
  bool found = false;
  auto ok = impl_->conn.Run(batch, "find caller_id",
                            [&](std::size_t, Rows rows) { found = rows.size() > 0; });
  if (!ok) return core::Fail(ok.error());
  return found;
}

core::Result<void> BulkImporter::Add(ImportItem item) {
  Impl& m = *impl_;
  const std::size_t offset = m.text.size();
  AppendCopyColumns(m.text, item);
  m.rows.push_back(RowRef{item.spec.caller_id.digits(), static_cast<std::uint32_t>(offset),
                          static_cast<std::uint32_t>(m.text.size() - offset),
                          item.last_used.has_value() ? std::int64_t{*item.last_used} : -1,
                          item.rest_until.has_value() ? std::int64_t{*item.rest_until} : -1,
                          item.warm_from.has_value() ? std::int64_t{*item.warm_from} : -1,
                          item.given});
  if (m.options.on_rows_written) m.items.push_back(std::move(item));
  std::size_t limit = m.options.batch_rows;
  if (m.batches_written == 0 && m.options.first_batch_rows > 0) {
    limit = std::min(limit, m.options.first_batch_rows);
  }
  // Offsets are 32-bit: a batch is also written when its text nears 4 GB.
  if (m.rows.size() < std::max<std::size_t>(1, limit) && m.text.size() < (std::size_t{1} << 31)) {
    return {};
  }
  return WriteBatch();
}

core::Result<void> BulkImporter::Finish() {
  if (impl_->rows.empty()) return {};
  return WriteBatch();
}

core::Result<void> BulkImporter::WriteBatch() {
  Impl& m = *impl_;
  const bool update = m.options.on_duplicate == OnDuplicate::kUpdate;
  // With kSkip only the new rows are handed on: the INSERT says which they are.
  const bool want_new_ids = m.options.on_rows_written && !update;
  const std::int64_t created_at = core::ToCompact(
      std::chrono::time_point_cast<core::Milliseconds>(std::chrono::system_clock::now()));
  const std::string now = std::to_string(created_at);
  bool empty = false;
  bool reviving = false;  // deleted numbers' usage is kept: no direct COPY (kInsertNewReviving)
  std::uint64_t existing = 0;
  std::unordered_set<std::int64_t> inserted;
  auto ok = m.conn.Exec("BEGIN", "begin import batch");
  if (ok) {
    ok = m.conn.Exec(
        "SELECT NOT EXISTS (SELECT 1 FROM caller_ids), EXISTS (SELECT 1 FROM "
        "deleted_numbers WHERE keep_until > " +
            now + ")",
        "look at caller_ids", [&](Rows rows) {
          empty = rows.size() > 0 && rows.Text(0, 0) == "t";
          reviving = rows.size() > 0 && rows.Text(0, 1) == "t";
        });
  }
  // COPY straight into the table, in key order (about twice as fast as through the staging table),
  // when every row is new: surely in the first batch into an empty store, likely after a batch of
  // this import that met no stored number (a large first import in several batches, as cluster
  // mode's). Then a stored number makes the COPY fail: rolled back to a savepoint, the batch takes
  // the staging path. Into an empty store, another writer adding a number meanwhile makes the COPY
  // fail on the duplicate: rerunning then takes the staging path.
  bool direct = ok && empty && !reviving;
  if (ok && !empty && !reviving && m.last_batch_all_new) {
    ok = m.conn.Exec("SAVEPOINT direct_copy", "savepoint before copying numbers");
    direct = ok.has_value();
  }
  if (direct) {
    m.BuildSorted(/*direct=*/true, created_at);
    ok = m.conn.CopyIn(kCopyDirect, m.sorted, "copy numbers");
    if (!ok && !empty && !m.conn.Lost()) {
      ok = m.conn.Exec("ROLLBACK TO SAVEPOINT direct_copy", "roll back the copy of numbers");
      direct = false;
    }
    if (ok && direct && want_new_ids) {
      for (const RowRef& row : m.rows) inserted.insert(static_cast<std::int64_t>(row.digits));
    }
  }
  if (ok && !direct) {
    m.BuildSorted(/*direct=*/false, created_at);
    ok = m.conn.CopyIn(kCopy, m.sorted, "copy import rows");
    // Statistics for the joins below: without them the planner guesses a tiny table.
    if (ok) ok = m.conn.Exec("ANALYZE import_rows", "analyze import rows");
    if (ok) {
      ok = m.conn.Exec("SELECT count(*) FROM import_rows JOIN caller_ids USING (caller_id)",
                       "count existing numbers", [&](Rows rows) {
                         if (rows.size() > 0) {
                           existing = static_cast<std::uint64_t>(rows.Int64(0, 0));
                         }
                       });
    }
    if (ok && update && existing > 0) ok = m.conn.Exec(kLockExisting, "lock existing numbers");
    if (ok && update && existing > 0) ok = m.conn.Exec(kUpdateExisting, "update existing numbers");
    if (ok) {
      const std::string insert =
          reviving ? std::string(kInsertNewReviving) + now + " ON CONFLICT(caller_id) DO NOTHING"
                   : std::string(kInsertNew);
      ok = m.conn.Exec(insert + (want_new_ids ? " RETURNING caller_id" : ""), "insert new numbers",
                       [&](Rows rows) {
                         for (int i = 0; i < rows.size(); ++i) inserted.insert(rows.Int64(i, 0));
                       });
    }
  }
  if (ok) ok = m.conn.Exec("COMMIT", "commit import batch");
  if (!ok && !m.conn.Lost()) (void)m.conn.Exec("ROLLBACK", "roll back import batch");
  const std::size_t rows = m.rows.size();
  std::vector<ImportItem> items;
  items.swap(m.items);
  m.text.clear();
  m.rows.clear();
  m.sorted.clear();
  m.last_batch_all_new = ok && existing == 0;
  if (!ok) return ok;
  ++m.batches_written;

  // No caller_id twice in the input (REQUIRES), so every row was new or already there.
  result_.imported += rows - existing;
  (update ? result_.updated : result_.skipped) += existing;
  if (m.options.on_rows_written) {
    if (want_new_ids) {
      std::erase_if(items, [&](const ImportItem& item) {
        return !inserted.contains(static_cast<std::int64_t>(item.spec.caller_id.digits()));
      });
    }
    m.options.on_rows_written(items);
  }
  if (m.options.on_batch) m.options.on_batch(result_);
  return {};
}

core::Result<std::uint64_t> ScanNumbers(const ConnectionSettings& connection, core::TimePoint now,
                                        LoadSink& sink) {
  auto conn = Connection::Open(connection);
  if (!conn) return core::Fail(conn.error());
  if (auto migrated = Migrate(*conn); !migrated) return core::Fail(migrated.error());
  NumbersOnly numbers(sink);
  auto summary = LoadState(*conn, now, numbers);
  if (!summary) return core::Fail(summary.error());
  return summary->numbers;
}

}  // namespace cidrotor::store::postgres
