#include "cli/vicidial_dids.h"

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "service/field_parsers.h"

namespace cidrotor::cli {
namespace {

constexpr std::size_t kRowsPerStatement = 1000;
constexpr std::size_t kDescriptionLimit = 50;  // vicidial_inbound_dids.did_description

// The session's sql_mode must not hold NO_BACKSLASH_ESCAPES: strings escape backslashes. The
// file is UTF-8 whatever the client's default character set: VICIdial's databases are often
// latin1, where a carrier's "é" sent without SET NAMES is stored as two characters (the server
// converts what it is told is UTF-8; MySQL 5.5.3+ and MariaDB 5.5+ know utf8mb4).
constexpr std::string_view kHeader =
    "-- cidrotor export --format vicidial-dids: the pool as VICIdial inbound DIDs.\n"
    "-- Load into VICIdial's database: mysql asterisk < FILE. DIDs already there are kept.\n"
    "SET NAMES utf8mb4;\n"
    "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '');\n";

constexpr std::string_view kInsert =
    "INSERT IGNORE INTO vicidial_inbound_dids (did_pattern, did_description, did_active, "
    "did_route, extension, exten_context, group_id) VALUES\n";

// `text` cut to at most `limit` bytes, never inside a UTF-8 sequence.
std::string_view Truncated(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

// A MySQL string literal: quotes doubled (valid in every sql_mode), backslashes and control
// characters escaped (kHeader turns NO_BACKSLASH_ESCAPES off).
void AppendSqlString(std::string& out, std::string_view text) {
  out += '\'';
  for (const char c : text) {
    switch (c) {
      case '\'':
        out += "''";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        out += c;
    }
  }
  out += '\'';
}

bool IsGroupIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

}  // namespace

core::Result<void> CheckVicidialDidOptions(const VicidialDidOptions& options) {
  const std::string& group = options.in_group;
  if (!group.empty() && (group.size() < 2 || group.size() > 20 ||
                         !std::all_of(group.begin(), group.end(), IsGroupIdChar))) {
    return core::Fail(core::Error::InvalidArgument(
        "--in-group", "must be a VICIdial in-group id: 2 to 20 of A-Z a-z 0-9 _ -"));
  }
  // Digits, after an optional '+' (carriers that deliver E.164: "+1").
  const std::string_view prefix = options.did_prefix;
  const std::string_view digits = prefix.starts_with('+') ? prefix.substr(1) : prefix;
  if (digits.size() > 4 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return core::Fail(
        core::Error::InvalidArgument("--did-prefix", "must be 0 to 4 digits, after an optional +"));
  }
  if (options.pool) {
    if (auto pool = service::ParsePoolName(*options.pool, "--pool"); !pool) {
      return core::Fail(pool.error());
    }
  }
  return {};
}

VicidialDidSink::VicidialDidSink(std::ostream& out, VicidialDidOptions options)
    : out_(out), options_(std::move(options)), text_(kHeader) {}

VicidialDidSink::~VicidialDidSink() {
  if (rows_in_statement_ > 0) text_ += ";\n";
  Flush();
}

void VicidialDidSink::OnNumber(const core::NumberSpec& spec, const core::NumberUsage& /*usage*/) {
  std::string_view pool = spec.pool;
  if (pool.empty()) pool = core::kDefaultPool;
  if (options_.pool && *options_.pool != pool) return;
  text_ += rows_in_statement_ == 0 ? kInsert : std::string_view(",\n");
  std::string description = "cidrotor ";
  description += pool;
  if (!spec.carrier.empty()) {
    description += ' ';
    description += spec.carrier;
  }
  text_ += '(';
  AppendSqlString(text_, options_.did_prefix + spec.caller_id.ToString());
  text_ += ',';
  AppendSqlString(text_, Truncated(description, kDescriptionLimit));
  // Active in VICIdial whatever it is here: a number taken out of rotation still belongs to the
  // center, and people still call it back.
  text_ += ",'Y',";
  text_ += options_.in_group.empty() ? "'EXTEN'" : "'IN_GROUP'";
  text_ += ",'9998811112','default',";
  AppendSqlString(text_, options_.in_group);
  text_ += ')';
  ++written_;
  if (++rows_in_statement_ == kRowsPerStatement) {
    text_ += ";\n";
    rows_in_statement_ = 0;
  }
  if (text_.size() > (1 << 20)) Flush();
}

void VicidialDidSink::Flush() {
  out_.write(text_.data(), static_cast<std::streamsize>(text_.size()));
  text_.clear();
}

}  // namespace cidrotor::cli
