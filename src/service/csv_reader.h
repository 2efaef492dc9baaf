// An incremental RFC 4180 CSV reader, fed with chunks of any size (a file read in blocks, an HTTP
// body as it arrives), that hands out one record at a time. Shared by `cidrotor import`,
// `POST /api/numbers/import` and the tests, so every path reads CSV the same way.
//
// What it accepts:
// - fields separated by ',', records by LF, CRLF or a lone CR;
// - quoted fields ("..."), in which commas, CR/LF and doubled quotes ("") are data;
// - a UTF-8 byte order mark at the very start of the input (skipped);
// - blank lines, and lines of only commas, spaces and tabs (a spreadsheet's empty rows), are
//   skipped; so are empty fields past max_fields (a spreadsheet's empty columns).
// Lenient where spreadsheets are sloppy: a quote inside an unquoted field, and text after a
// closing quote, are kept as data. Errors are per record, never fatal: a record longer than
// max_record_bytes, a field longer than max_field_bytes, more than max_fields fields or an
// unterminated quote at the end of the input yields a record with `error` set (its fields hold
// what was read up to the limit); reading goes on with the next record. A quote opened and never
// closed (a stray `"`) would otherwise swallow every line after it: a quoted field that runs past
// a line break and then past the limits or the end of the input is taken as such a quote. Its
// record is rejected as "unterminated quoted field" (its fields cut at that line break), and the
// lines after the break are read again as records of their own.
//
// Line numbers are the input's physical lines, 1-based (a header is line 1): a record's `line` is
// where it starts, and a quoted field spanning lines moves the following records down.
//
// Example:
//   CsvReader reader;
//   reader.Feed(chunk, [&](const CsvRecord& r) { ... });  // as often as data arrives
//   reader.Finish([&](const CsvRecord& r) { ... });       // end of input
// Not thread-safe; one reader per input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cidrotor::service {

struct CsvRecord {
  std::uint64_t line = 0;           // physical line the record starts on (1-based)
  std::vector<std::string> fields;  // at least one
  std::string error;                // non-empty: the record is malformed (see above)
};

struct CsvLimits {
  std::size_t max_field_bytes = 1024;        // longest field
  std::size_t max_record_bytes = 16 * 1024;  // longest record (all its fields and separators)
  // Most fields in one record: a wide spreadsheet's columns (unknown ones are ignored, with a
  // warning), while max_record_bytes bounds the memory.
  std::size_t max_fields = 1024;
};

class CsvReader {
 public:
  // Receives each complete record. The record is reused after the call returns: copy what you
  // keep.
  using Sink = std::function<void(const CsvRecord&)>;

  explicit CsvReader(CsvLimits limits = {});

  // Parses `bytes`, calling `sink` for every record completed by them.
  void Feed(std::string_view bytes, const Sink& sink);
  // End of input: emits the last record when it has no line break after it. Feed after Finish
  // starts a new input (BOM and line numbers reset).
  void Finish(const Sink& sink);

  // Physical lines started so far (the line the next byte belongs to).
  std::uint64_t line() const { return line_; }

 private:
  enum class State : std::uint8_t { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };

  void FeedBytes(std::string_view bytes, const Sink& sink);
  void EndField();
  void EndRecord(const Sink& sink);
  void Append(char c);
  void MarkError(std::string message);
  // A line break inside a quoted field: from here on the record's bytes are kept (tail_), should
  // the quote turn out never to close.
  void NoteBreakInQuotes(char c);
  // The record's quote never closed: emits it as rejected, then reads tail_ again.
  void RecoverFromStrayQuote(const Sink& sink);

  CsvLimits limits_;
  State state_ = State::kFieldStart;
  CsvRecord record_;
  std::size_t field_count_ = 0;   // fields completed in record_
  std::string field_;             // the field being read
  std::size_t record_bytes_ = 0;  // bytes of the record so far
  std::uint64_t line_ = 1;
  std::size_t bom_matched_ = 0;  // bytes of the BOM seen at the start; 3 = done checking
  bool at_input_start_ = true;
  bool pending_cr_ = false;   // last byte was a CR ending a record: swallow a following LF
  bool quoted_seen_ = false;  // the record had a quoted field (so it is not blank)
  bool in_record_ = false;    // some byte of the current record was read
  // After the record's first line break inside quotes: the bytes since, the line they start on,
  // where the quoted field was cut, and whether a LF right after that break (a CRLF) is skipped.
  bool keeping_tail_ = false;
  std::string tail_;
  std::uint64_t tail_line_ = 0;
  std::size_t field_at_break_ = 0;
  std::size_t fields_at_break_ = 0;
  bool skip_lf_ = false;
  bool cr_in_quotes_ = false;  // the last byte was a CR inside a quoted field
};

// Writes one CSV field, quoted when it holds a comma, quote, CR, LF or leading/trailing space,
// and with an apostrophe before it when it starts with = + - @ tab or CR: a spreadsheet opening
// the export (or a rejects file) then shows it as text instead of running it as a formula
// (OWASP "CSV injection": a carrier "=HYPERLINK(...)" from a vendor's file). Our readers take
// the apostrophe off again (WithoutTextMarker), so export and import round-trip.
void AppendCsvField(std::string& out, std::string_view field);

// `field` without a spreadsheet's text marker: an apostrophe before = + - @ tab or CR.
std::string_view WithoutTextMarker(std::string_view field);

}  // namespace cidrotor::service
