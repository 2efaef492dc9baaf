#include "service/csv_reader.h"

#include <algorithm>
#include <utility>

namespace cidrotor::service {
namespace {

constexpr char kBom[] = {'\xEF', '\xBB', '\xBF'};
constexpr std::size_t kBomSize = sizeof kBom;

}  // namespace

CsvReader::CsvReader(CsvLimits limits) : limits_(limits) {}

void CsvReader::MarkError(std::string message) {
  if (record_.error.empty()) record_.error = std::move(message);
}

void CsvReader::Append(char c) {
  if (!in_record_) {
    in_record_ = true;
    record_.line = line_;
  }
  if (++record_bytes_ > limits_.max_record_bytes) {
    MarkError("record longer than " + std::to_string(limits_.max_record_bytes) + " bytes");
    return;
  }
  if (field_.size() >= limits_.max_field_bytes) {
    MarkError("field longer than " + std::to_string(limits_.max_field_bytes) + " bytes");
    return;
  }
  field_.push_back(c);
}

void CsvReader::EndField() {
  if (!in_record_) {
    in_record_ = true;
    record_.line = line_;
  }
  ++record_bytes_;  // the separator
  if (field_count_ >= limits_.max_fields) {
    // A spreadsheet's trailing empty columns are nothing to reject a row for.
    if (!field_.empty()) MarkError("more than " + std::to_string(limits_.max_fields) + " fields");
    field_.clear();
    return;
  }
  if (record_.fields.size() <= field_count_) record_.fields.emplace_back();
  record_.fields[field_count_].swap(field_);
  ++field_count_;
  field_.clear();
}

void CsvReader::NoteBreakInQuotes(char c) {
  if (keeping_tail_) return;
  keeping_tail_ = true;
  tail_.clear();
  tail_line_ = line_ + 1;
  field_at_break_ = field_.size();
  fields_at_break_ = field_count_;
  skip_lf_ = c == '\r';
}

void CsvReader::RecoverFromStrayQuote(const Sink& sink) {
  std::string tail = std::move(tail_);
  const std::uint64_t tail_line = tail_line_;
  // The break was a CR whose LF has not come yet: it belongs to the same line end.
  const bool lf_of_the_break = skip_lf_ && tail.empty();
  keeping_tail_ = false;
  tail_.clear();
  // The record as its first line had it: the fields before the quote, the quoted one up to the
  // break.
  field_count_ = fields_at_break_;
  field_.resize(std::min(field_.size(), field_at_break_));
  record_.error = "unterminated quoted field (its quote never closes)";
  quoted_seen_ = true;
  EndRecord(sink);
  line_ = tail_line;
  pending_cr_ = lf_of_the_break;
  FeedBytes(tail, sink);
}

void CsvReader::EndRecord(const Sink& sink) {
  keeping_tail_ = false;
  tail_.clear();
  if (!in_record_ && field_.empty() && !quoted_seen_) {  // blank line
    state_ = State::kFieldStart;
    return;
  }
  EndField();
  record_.fields.resize(field_count_);
  // Blank: nothing but separators, spaces and tabs.
  bool blank = !quoted_seen_ && record_.error.empty();
  for (std::size_t i = 0; blank && i < field_count_; ++i) {
    blank = record_.fields[i].find_first_not_of(" \t") == std::string::npos;
  }
  if (!blank) sink(record_);
  record_.error.clear();
  field_count_ = 0;
  record_bytes_ = 0;
  quoted_seen_ = false;
  in_record_ = false;
  state_ = State::kFieldStart;
}

void CsvReader::Feed(std::string_view bytes, const Sink& sink) {
  std::size_t i = 0;
  // The BOM may arrive split across chunks: match it byte by byte, and replay a partial match
  // that turned out to be data.
  while (at_input_start_ && i < bytes.size()) {
    if (bytes[i] == kBom[bom_matched_]) {
      ++i;
      if (++bom_matched_ == kBomSize) at_input_start_ = false;
      continue;
    }
    at_input_start_ = false;
    const std::size_t partial = bom_matched_;
    bom_matched_ = 0;
    if (partial > 0) FeedBytes(std::string_view(kBom, partial), sink);
  }
  FeedBytes(bytes.substr(i), sink);
}

void CsvReader::FeedBytes(std::string_view bytes, const Sink& sink) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') continue;  // the LF of a CRLF already counted
    }
    if (keeping_tail_) {
      if (skip_lf_ && c == '\n' && tail_.empty()) {
        skip_lf_ = false;
      } else {
        skip_lf_ = false;
        tail_.push_back(c);
      }
    }
    switch (state_) {
      case State::kFieldStart:
        if (c == '"') {
          if (!in_record_) {
            in_record_ = true;
            record_.line = line_;
          }
          ++record_bytes_;
          quoted_seen_ = true;
          state_ = State::kQuoted;
          break;
        }
        state_ = State::kUnquoted;
        [[fallthrough]];
      case State::kUnquoted:
        if (c == ',') {
          EndField();
          state_ = State::kFieldStart;
        } else if (c == '\n' || c == '\r') {
          EndRecord(sink);
          ++line_;
          pending_cr_ = c == '\r';
        } else {
          Append(c);
        }
        break;
      case State::kQuoted:
        if (c == '"') {
          cr_in_quotes_ = false;
          state_ = State::kQuoteInQuoted;
          ++record_bytes_;
        } else {
          if (c == '\n' || c == '\r') NoteBreakInQuotes(c);
          // A line ends at CR, LF or CRLF (one line), in quotes as outside them.
          if (c == '\r' || (c == '\n' && !cr_in_quotes_)) ++line_;
          cr_in_quotes_ = c == '\r';
          Append(c);
          // Past the limits after a line break: the quote is taken as one that never closes.
          if (keeping_tail_ && !record_.error.empty()) RecoverFromStrayQuote(sink);
        }
        break;
      case State::kQuoteInQuoted:
        if (c == '"') {  // "" is one quote
          Append('"');
          state_ = State::kQuoted;
        } else if (c == ',') {
          EndField();
          state_ = State::kFieldStart;
        } else if (c == '\n' || c == '\r') {
          EndRecord(sink);
          ++line_;
          pending_cr_ = c == '\r';
        } else if (keeping_tail_) {
          // Text after a quote that closed on a later line: that quote was a stray one, and the
          // "closing" one opened a field of a later row (RFC 4180: a closing quote ends its
          // field). Reading on would swallow every line between into one field, unreported: the
          // record is rejected and those lines read again.
          RecoverFromStrayQuote(sink);
        } else {  // text after the closing quote on the same line: kept as data
          Append(c);
          state_ = State::kUnquoted;
        }
        break;
    }
  }
}

void CsvReader::Finish(const Sink& sink) {
  // Lines after a stray quote are read again, and may hold another.
  while (state_ == State::kQuoted && keeping_tail_) RecoverFromStrayQuote(sink);
  if (state_ == State::kQuoted) MarkError("unterminated quoted field");
  if (in_record_ || !field_.empty() || quoted_seen_) EndRecord(sink);
  state_ = State::kFieldStart;
  record_ = CsvRecord{};
  field_.clear();
  field_count_ = 0;
  record_bytes_ = 0;
  line_ = 1;
  bom_matched_ = 0;
  at_input_start_ = true;
  pending_cr_ = false;
  quoted_seen_ = false;
  in_record_ = false;
  skip_lf_ = false;
  cr_in_quotes_ = false;
}

namespace {

// What a spreadsheet takes for the start of a formula (OWASP "CSV injection").
bool StartsAFormula(std::string_view field) {
  return !field.empty() && (field.front() == '=' || field.front() == '+' || field.front() == '-' ||
                            field.front() == '@' || field.front() == '\t' || field.front() == '\r');
}

}  // namespace

std::string_view WithoutTextMarker(std::string_view field) {
  if (field.size() > 1 && field.front() == '\'' && StartsAFormula(field.substr(1))) {
    return field.substr(1);
  }
  return field;
}

void AppendCsvField(std::string& out, std::string_view field) {
  // A spreadsheet's text marker first, inside the quotes when there are some.
  const std::string_view marker = StartsAFormula(field) ? "'" : "";
  bool quote = !field.empty() && (field.front() == ' ' || field.back() == ' ');
  for (const char c : field) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out.append(marker);
    out.append(field);
    return;
  }
  out.push_back('"');
  out.append(marker);
  for (const char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace cidrotor::service
