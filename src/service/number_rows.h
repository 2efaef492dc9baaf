// The pool CSV format (SPEC "CSV format") read into numbers: the one validation shared by
// `cidrotor import`, `POST /api/numbers/import` and both storage modes.
//
// Header: columns matched by name, case-insensitively, surrounding spaces ignored. `caller_id` is
// required; `carrier`, `area_code`, `hourly_limit`, `daily_limit`, `pool`, `state`, `active`,
// `last_used`, `rest_until`, `warm_from` are optional; `hourly_used`/`daily_used` (written by
// export) are known and ignored; any other column is ignored with a warning. Rows: every field goes
// through the single-field parsers of service/field_parsers.h. An empty field counts as absent:
// empty caps are 0 (the configured DEFAULT_* apply), empty pool is "default", empty active is true.
// `last_used` is ISO-8601 (ParseIsoUtc: "2026-11-25T15:16:00Z", a fraction, an offset) or
// empty (never used / keep the stored value); `rest_until` and `warm_from` likewise (empty: not
// resting / keep the stored rest; a new number's warm-up follows core::ArrivingUsage / the stored
// one is kept); `warm_from` may also be `none`: established, no warm-up (what export writes for
// such a number: empty would make a never-used one warm up anew). A bad row becomes a RowReject
// {line, reason, original fields}; reasons are
// "<column>: <detail>" (e.g. "area_code: area code contradicts the number") or
// "duplicate of line N" for a number already seen earlier in the same input.
//
// Not thread-safe; one parser per input. Remembers every number seen (about 16 bytes each) to
// find duplicates.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "core/number.h"
#include "core/result.h"
#include "service/csv_reader.h"
#include "store/store.h"

namespace cidrotor::service {

// One good row.
struct NumberRow {
  std::uint64_t line = 0;
  core::NumberSpec spec;
  std::optional<core::CompactTime> last_used;   // set when the row had a last_used value
  std::optional<core::CompactTime> rest_until;  // set when the row had a rest_until value
  std::optional<core::CompactTime> warm_from;   // set when the row had a warm_from value
  // The spec fields the row gives (store::ImportField): its file has the column, and the row a
  // value there (the caps: any row of a file with the column; empty is the default, SPEC).
  std::uint8_t given = 0;
};

// The row as the store imports it.
store::ImportItem ToImportItem(NumberRow row);

// A rejected row's reason as the rejects list and file show it: "field: detail" (the detail alone
// when no field is at fault). For the rows the store refuses too (a duplicate, a carrier past
// the index's limit), so every path words them alike.
std::string RejectReason(const core::Error& error);

// One bad row, with what it said, for the rejects file.
struct RowReject {
  std::uint64_t line = 0;
  std::string reason;
  std::vector<std::string> fields;  // the row's original fields
};

// warm_from of an established number (no warm-up), as export writes it and import reads it.
inline constexpr std::string_view kEstablished = "none";

// The columns SPEC's export writes, in order (also the header `cidrotor export` writes).
inline constexpr const char* kExportColumns[] = {
    "caller_id", "carrier",   "area_code",   "hourly_limit", "daily_limit", "pool",     "state",
    "active",    "last_used", "hourly_used", "daily_used",   "rest_until",  "warm_from"};

class NumberRowParser {
 public:
  // `now`: a last_used more than kLastUsedAhead after it is refused ("is in the future"): the
  // number would sort as the most recently used until then, handed out after every other one
  // (a typo of the year did it for decades). 0 checks nothing.
  explicit NumberRowParser(core::CompactTime now = 0);
  ~NumberRowParser();
  NumberRowParser(const NumberRowParser&) = delete;
  NumberRowParser& operator=(const NumberRowParser&) = delete;

  // Reads the header record. Errors: kInvalidArgument (field "header") when the record is
  // malformed, has no caller_id column or names a column twice. Warnings (unknown columns) are
  // kept in warnings().
  [[nodiscard]] core::Result<void> SetHeader(const CsvRecord& header);
  const std::vector<std::string>& header() const { return header_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Validates one data record. REQUIRES: SetHeader succeeded.
  std::variant<NumberRow, RowReject> Parse(const CsvRecord& record);

 private:
  struct Seen;
  enum Column : std::uint8_t {
    kCallerId,
    kCarrier,
    kAreaCode,
    kHourlyLimit,
    kDailyLimit,
    kPool,
    kState,
    kActive,
    kLastUsed,
    kRestUntil,
    kWarmFrom,
    kColumnCount
  };

  core::Result<NumberRow> ParseFields(const CsvRecord& record) const;

  std::vector<std::string> header_;
  std::vector<std::string> warnings_;
  int index_[kColumnCount];  // field index of each known column, -1 when absent
  std::unique_ptr<Seen> seen_;
  core::CompactTime now_ = 0;
};

// How far a last_used may be ahead of the importer's clock: another box's clock (an export taken
// there) may run somewhat ahead.
inline constexpr core::Seconds kLastUsedAhead{24 * 3600};

// `update`, `skip` or `fail` (the --on-duplicate / on_duplicate values). Errors: kInvalidArgument
// naming `field`.
[[nodiscard]] core::Result<store::OnDuplicate> ParseOnDuplicate(std::string_view text,
                                                                std::string_view field);

// A whole CSV text read and validated at once (the HTTP import's body).
struct CsvImport {
  std::vector<store::ImportItem> items;  // good rows, in input order
  std::vector<std::uint64_t> lines;      // line of each item
  std::vector<RowReject> rejects;        // in input order
  std::vector<std::string> warnings;     // unknown columns
  std::uint64_t rows = 0;                // data rows read (good + rejected)
};

// Incrementally reads and validates CSV fed in chunks. Errors (from Finish(), and header_error()
// as soon as the header was read): kInvalidArgument field "header" for a bad or missing header;
// nothing after a bad header is read.
// A caller that imports while reading (POST /api/numbers/import) hands rows on in batches with
// TakeRead(), so memory stays bounded by the batch, not the input.
class CsvImportReader {
 public:
  // `now`: as NumberRowParser's.
  explicit CsvImportReader(core::CompactTime now = 0) : parser_(now) {}
  void Feed(std::string_view bytes);
  // What is left since the last TakeRead() (everything, without one), with `rows` and
  // `warnings` for the whole input.
  [[nodiscard]] core::Result<CsvImport> Finish();

  // Hands over the good rows and rejects read since the last call (`rows`: the input's rows so
  // far; `warnings` stay for Finish()).
  CsvImport TakeRead();
  std::size_t pending_items() const { return import_.items.size(); }
  std::size_t pending_rejects() const { return import_.rejects.size(); }
  const std::optional<core::Error>& header_error() const { return error_; }

 private:
  void OnRecord(const CsvRecord& record);
  CsvReader reader_;
  NumberRowParser parser_;
  CsvImport import_;
  bool header_done_ = false;
  std::optional<core::Error> error_;
};

// "2026-11-25T15:16:00Z" for a compact time; empty for 0 (never used).
std::string FormatIsoUtc(core::CompactTime t);
// The inverse, to whole seconds: "2026-11-25T15:16:00Z"; the 'T' may be a space; a fraction of
// a second is dropped; the zone is Z, none (UTC) or an offset (+02:00, -0500, +01). A time before
// 2020 is the store's first second (as long ago as it keeps). Errors: kInvalidArgument naming
// `field` (not such a time, or after 2156-02-07T06:28:15Z).
[[nodiscard]] core::Result<core::CompactTime> ParseIsoUtc(std::string_view text,
                                                          std::string_view field);

}  // namespace cidrotor::service
