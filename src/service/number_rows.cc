#include "service/number_rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cctype>
#include <chrono>
#include <string_view>
#include <utility>

#include "core/phone_number.h"
#include "service/field_parsers.h"

namespace cidrotor::service {

struct NumberRowParser::Seen {
  boost::unordered_flat_map<std::uint64_t, std::uint64_t> line_of;  // digits -> first line
};

namespace {

constexpr const char* kColumnNames[] = {"caller_id",   "carrier",    "area_code", "hourly_limit",
                                        "daily_limit", "pool",       "state",     "active",
                                        "last_used",   "rest_until", "warm_from"};
// Written by export, read back as nothing: usage counters belong to their windows (SPEC).
constexpr std::string_view kIgnoredColumns[] = {"hourly_used", "daily_used"};

// Without the spaces and tabs around it.
std::string_view Trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::string Normalized(std::string_view name) {
  std::string out(Trimmed(name));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool Digits(std::string_view text, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > text.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::string RejectReason(const core::Error& error) {
  return error.field().empty() ? error.detail() : error.field() + ": " + error.detail();
}

NumberRowParser::NumberRowParser(core::CompactTime now)
    : seen_(std::make_unique<Seen>()), now_(now) {
  std::fill(std::begin(index_), std::end(index_), -1);
}

NumberRowParser::~NumberRowParser() = default;

namespace {

// What a header without caller_id was read as, and the likely cause: a spreadsheet's other
// "CSV" (separated by semicolons or tabs, or UTF-16 "Unicode text"). Shown bytes are printable
// ASCII only ('?' for the rest): the text goes to a terminal and into JSON.
std::string HeaderHint(const std::vector<std::string>& fields) {
  std::string read;
  for (const std::string& field : fields) {
    if (!read.empty()) read += ',';
    read += field;
  }
  // UTF-16 text has its NUL bytes at every other position (the high byte of each ASCII letter);
  // NULs as often at both parities are a binary file (a spreadsheet's .xlsx, an executable).
  std::size_t nuls_at[2] = {0, 0};
  for (std::size_t i = 0; i < read.size(); ++i) {
    if (read[i] == '\0') ++nuls_at[i % 2];
  }
  const std::size_t more = std::max(nuls_at[0], nuls_at[1]);
  const std::size_t fewer = std::min(nuls_at[0], nuls_at[1]);
  const bool utf16 = more > 0 && fewer * 4 < more;
  const bool binary = more > 0 && !utf16;
  const bool one_column = fields.size() == 1;
  constexpr std::size_t kShown = 80;
  std::string shown;
  for (char c : read.substr(0, kShown)) {
    if (c == '\0') continue;  // UTF-16's every other byte
    shown += c >= 0x20 && c < 0x7f ? c : '?';
  }
  if (read.size() > kShown) shown += "...";
  std::string hint = " (the first line reads: " + shown + ")";
  if (utf16) return hint + "; the file looks like UTF-16: save it as CSV UTF-8";
  if (binary) return hint + "; the file is not text (a spreadsheet's .xlsx?): save it as CSV UTF-8";
  if (one_column && read.find(';') != std::string::npos) {
    return hint + "; columns are separated by commas, not semicolons";
  }
  if (one_column && read.find('\t') != std::string::npos) {
    return hint + "; columns are separated by commas, not tabs";
  }
  return hint;
}

}  // namespace

core::Result<void> NumberRowParser::SetHeader(const CsvRecord& header) {
  if (!header.error.empty()) {
    return core::Fail(core::Error::InvalidArgument("header", header.error));
  }
  header_ = header.fields;
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    const std::string name = Normalized(header.fields[i]);
    const auto known = std::find_if(std::begin(kColumnNames), std::end(kColumnNames),
                                    [&](const char* n) { return name == n; });
    if (known != std::end(kColumnNames)) {
      int& slot = index_[known - std::begin(kColumnNames)];
      if (slot >= 0) {
        return core::Fail(core::Error::InvalidArgument("header", "column " + name + " twice"));
      }
      slot = static_cast<int>(i);
    } else if (!name.empty() &&  // a spreadsheet's empty cells after the last column
               std::find(std::begin(kIgnoredColumns), std::end(kIgnoredColumns), name) ==
                   std::end(kIgnoredColumns)) {
      warnings_.push_back(fmt::format("unknown column '{}' ignored", header.fields[i]));
    }
  }
  if (index_[kCallerId] < 0) {
    return core::Fail(
        core::Error::InvalidArgument("header", "no caller_id column" + HeaderHint(header.fields)));
  }
  return {};
}

core::Result<NumberRow> NumberRowParser::ParseFields(const CsvRecord& record) const {
  // Spaces and tabs around a value (a hand-made "a, b, c") are not part of it; the carrier is
  // free text, kept as written (export quotes one that starts or ends with a space).
  const auto field = [&](Column column) -> std::string_view {
    const int i = index_[column];
    if (i < 0 || static_cast<std::size_t>(i) >= record.fields.size()) return {};
    // An apostrophe before = + - @ is a spreadsheet's text marker (AppendCsvField), not data.
    const std::string_view value = WithoutTextMarker(record.fields[static_cast<std::size_t>(i)]);
    return column == kCarrier ? value : Trimmed(value);
  };
  // More values than the header has columns: most likely a comma inside an unquoted value
  // ("AT&T, Inc"), which shifts every value after it; read as it stands, the row would quietly
  // keep a wrong carrier or cap. Empty extra fields (a spreadsheet's trailing commas) are no
  // values.
  for (std::size_t i = header_.size(); i < record.fields.size(); ++i) {
    if (!Trimmed(record.fields[i]).empty()) {
      return core::Fail(core::Error::Internal(
          fmt::format("{} values where the header has {} columns (a comma inside an unquoted "
                      "value? quote it)",
                      record.fields.size(), header_.size())));
    }
  }
  NumberRow row;
  row.line = record.line;
  core::NumberSpec& spec = row.spec;

  const std::string_view caller_id = field(kCallerId);
  if (caller_id.empty()) return core::Fail(core::Error::InvalidArgument("caller_id", "is empty"));
  auto number = core::PhoneNumber::ParsePoolNumber(caller_id, "caller_id");
  if (!number) return core::Fail(std::move(number).error());
  spec.caller_id = *number;

  if (const auto text = field(kAreaCode); !text.empty()) {
    auto area_code = ParseAreaCode(text, "area_code");
    if (!area_code) return core::Fail(std::move(area_code).error());
    if (*area_code != spec.caller_id.area_code()) {
      return core::Fail(
          core::Error::InvalidArgument("area_code", "area code contradicts the number"));
    }
  }
  if (const auto text = field(kCarrier); !text.empty()) {
    auto carrier = ParseCarrier(text);
    if (!carrier) return core::Fail(std::move(carrier).error());
    spec.carrier = std::move(*carrier);
    row.given |= store::kImportCarrier;
  }
  // A cap column gives its cap in every row: empty is the default (SPEC), not "keep".
  const std::pair<Column, std::uint16_t core::NumberSpec::*> caps[] = {
      {kHourlyLimit, &core::NumberSpec::hourly_cap}, {kDailyLimit, &core::NumberSpec::daily_cap}};
  for (const auto& [column, cap_of] : caps) {
    if (index_[column] < 0) continue;
    row.given |= column == kHourlyLimit ? store::kImportHourlyCap : store::kImportDailyCap;
    if (const auto text = field(column); !text.empty()) {
      auto cap = ParseCap(text, kColumnNames[column]);
      if (!cap) return core::Fail(std::move(cap).error());
      spec.*cap_of = *cap;
    }
  }
  if (const auto text = field(kPool); !text.empty()) {
    auto pool = ParsePoolName(text);
    if (!pool) return core::Fail(std::move(pool).error());
    spec.pool = std::move(*pool);
    row.given |= store::kImportPool;
  }
  if (const auto text = field(kState); !text.empty()) {
    auto state = ParseStateCode(text);
    if (!state) return core::Fail(std::move(state).error());
    spec.state = std::move(*state);
    row.given |= store::kImportState;
  }
  if (const auto text = field(kActive); !text.empty()) {
    auto active = ParseBool(text, "active");
    if (!active) return core::Fail(std::move(active).error());
    spec.active = *active;
    row.given |= store::kImportActive;
  }
  // The times, ISO-8601 UTC.
  const std::pair<Column, std::optional<core::CompactTime>*> times[] = {
      {kLastUsed, &row.last_used}, {kRestUntil, &row.rest_until}, {kWarmFrom, &row.warm_from}};
  for (const auto& [column, target] : times) {
    if (const auto text = field(column); !text.empty()) {
      if (column == kWarmFrom && text == kEstablished) {  // no warm-up (export writes it)
        *target = 0;
        continue;
      }
      auto time = ParseIsoUtc(text, kColumnNames[column]);
      if (!time) return core::Fail(std::move(time).error());
      if (column == kLastUsed && now_ != 0 &&
          std::uint64_t{*time} > std::uint64_t{now_} + kLastUsedAhead.count()) {
        return core::Fail(core::Error::InvalidArgument(
            kColumnNames[column], "is in the future (" + std::string(text) +
                                      "): a number used then would be handed out last"));
      }
      *target = *time;
    }
  }
  return row;
}

std::variant<NumberRow, RowReject> NumberRowParser::Parse(const CsvRecord& record) {
  auto row = record.error.empty()
                 ? ParseFields(record)
                 : core::Result<NumberRow>(core::Fail(core::Error::Internal(record.error)));
  if (row) {
    const auto [it, inserted] =
        seen_->line_of.try_emplace(row->spec.caller_id.digits(), record.line);
    if (inserted) return std::move(*row);
    return RowReject{record.line, fmt::format("duplicate of line {}", it->second), record.fields};
  }
  return RowReject{record.line, RejectReason(row.error()), record.fields};
}

store::ImportItem ToImportItem(NumberRow row) {
  store::ImportItem item;
  item.spec = std::move(row.spec);
  item.last_used = row.last_used;
  item.rest_until = row.rest_until;
  item.warm_from = row.warm_from;
  item.given = row.given;
  return item;
}

core::Result<store::OnDuplicate> ParseOnDuplicate(std::string_view text, std::string_view field) {
  if (text == "update") return store::OnDuplicate::kUpdate;
  if (text == "skip") return store::OnDuplicate::kSkip;
  if (text == "fail") return store::OnDuplicate::kFail;
  return core::Fail(
      core::Error::InvalidArgument(std::string(field), "must be update, skip or fail"));
}

void CsvImportReader::OnRecord(const CsvRecord& record) {
  if (error_) return;
  if (!header_done_) {
    header_done_ = true;
    if (auto ok = parser_.SetHeader(record); !ok) error_ = ok.error();
    return;
  }
  ++import_.rows;
  auto parsed = parser_.Parse(record);
  if (auto* row = std::get_if<NumberRow>(&parsed)) {
    import_.items.push_back(ToImportItem(std::move(*row)));
    import_.lines.push_back(row->line);
  } else {
    import_.rejects.push_back(std::move(std::get<RowReject>(parsed)));
  }
}

void CsvImportReader::Feed(std::string_view bytes) {
  reader_.Feed(bytes, [this](const CsvRecord& record) { OnRecord(record); });
}

CsvImport CsvImportReader::TakeRead() {
  CsvImport taken;
  taken.items = std::move(import_.items);
  taken.lines = std::move(import_.lines);
  taken.rejects = std::move(import_.rejects);
  taken.rows = import_.rows;
  import_.items.clear();
  import_.lines.clear();
  import_.rejects.clear();
  return taken;
}

core::Result<CsvImport> CsvImportReader::Finish() {
  reader_.Finish([this](const CsvRecord& record) { OnRecord(record); });
  if (!header_done_) error_ = core::Error::InvalidArgument("header", "no header line");
  if (error_) return core::Fail(std::move(*error_));
  import_.warnings = parser_.warnings();
  return std::move(import_);
}

std::string FormatIsoUtc(core::CompactTime t) {
  if (t == 0) return {};
  using namespace std::chrono;
  const auto tp = sys_seconds(seconds(core::kCompactEpochUnixSeconds + t));
  const auto day = floor<days>(tp);
  const year_month_day ymd(day);
  const hh_mm_ss hms(tp - day);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

core::Result<core::CompactTime> ParseIsoUtc(std::string_view text, std::string_view field) {
  using namespace std::chrono;
  const auto bad = [&] {
    return core::Fail(core::Error::InvalidArgument(
        std::string(field),
        "must be an ISO-8601 time like 2026-11-25T15:16:00Z (or with an offset, "
        "2026-11-25T10:16:00-05:00)"));
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (text.size() < 19 || !Digits(text, 0, 4, y) || text[4] != '-' || !Digits(text, 5, 2, mo) ||
      text[7] != '-' || !Digits(text, 8, 2, d) || (text[10] != 'T' && text[10] != ' ') ||
      !Digits(text, 11, 2, h) || text[13] != ':' || !Digits(text, 14, 2, mi) || text[16] != ':' ||
      !Digits(text, 17, 2, s) || h > 23 || mi > 59 || s > 59) {
    return bad();
  }
  std::string_view rest = text.substr(19);
  // A fraction of a second (JavaScript's toISOString writes .000): whole seconds are kept.
  if (rest.starts_with('.')) {
    std::size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 1) return bad();
    rest.remove_prefix(digits);
  }
  // The zone: none or Z is UTC; an offset ±HH:MM, ±HHMM or ±HH is taken off.
  seconds offset{0};
  if (rest == "Z" || rest == "z") {
    rest = {};
  } else if (!rest.empty()) {
    const int sign = rest[0] == '+' ? 1 : rest[0] == '-' ? -1 : 0;
    int oh = 0, om = 0;
    const bool parsed =
        sign != 0 && Digits(rest, 1, 2, oh) &&
        (rest.size() == 3 || (rest.size() == 6 && rest[3] == ':' && Digits(rest, 4, 2, om)) ||
         (rest.size() == 5 && Digits(rest, 3, 2, om)));
    if (!parsed || oh > 23 || om > 59) return bad();
    offset = sign * (hours(oh) + minutes(om));
  }
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)),
                           day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return bad();
  const auto unix_seconds =
      (sys_days(ymd).time_since_epoch() + hours(h) + minutes(mi) + seconds(s) - offset).count();
  const auto compact = unix_seconds - core::kCompactEpochUnixSeconds;
  // The store counts seconds from 2020 in 32 bits, 0 meaning none: an earlier time (a number
  // idle since 2019) is as long ago as it keeps, its first second.
  if (compact <= 0) return core::CompactTime{1};
  if (compact > 0xFFFF'FFFFLL) {
    return core::Fail(core::Error::InvalidArgument(std::string(field),
                                                   "must be before " + FormatIsoUtc(0xFFFF'FFFFU)));
  }
  return static_cast<core::CompactTime>(compact);
}

}  // namespace cidrotor::service
