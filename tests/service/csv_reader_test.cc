// CsvReader: RFC 4180 quoting, line ends, BOM, blank lines, limits, and the same records whatever
// the chunking (every split point of a hostile fixture, and byte by byte).
#include "service/csv_reader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cidrotor::service {
namespace {

struct Row {
  std::uint64_t line;
  std::vector<std::string> fields;
  std::string error;
  friend bool operator==(const Row&, const Row&) = default;
};

std::vector<Row> ReadChunks(const std::vector<std::string_view>& chunks, CsvLimits limits = {}) {
  std::vector<Row> rows;
  CsvReader reader(limits);
  const auto sink = [&](const CsvRecord& r) { rows.push_back({r.line, r.fields, r.error}); };
  for (auto chunk : chunks) reader.Feed(chunk, sink);
  reader.Finish(sink);
  return rows;
}

std::vector<Row> Read(std::string_view text, CsvLimits limits = {}) {
  return ReadChunks({text}, limits);
}

std::string Fixture(const char* name) {
  std::ifstream in(std::string(CIDROTOR_FIXTURES_DIR) + "/" + name, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(CsvReaderTest, SplitsFieldsAndRecords) {
  EXPECT_EQ(Read("a,b\n1,2\n"), (std::vector<Row>{{1, {"a", "b"}, ""}, {2, {"1", "2"}, ""}}));
}

TEST(CsvReaderTest, QuotedFieldsHoldCommasQuotesAndNewlines) {
  const auto rows = Read("\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\nnext\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].fields, (std::vector<std::string>{"x,y", "say \"hi\"", "two\nlines"}));
  EXPECT_EQ(rows[1].line, 3u);  // the quoted newline moved it down a physical line
}

TEST(CsvReaderTest, AcceptsCrlfLoneCrAndNoFinalNewline) {
  EXPECT_EQ(Read("a\r\nb\rc"), (std::vector<Row>{{1, {"a"}, ""}, {2, {"b"}, ""}, {3, {"c"}, ""}}));
  // Inside quotes too: a line break of any kind is one line, so the rows after keep their lines.
  for (const std::string end : {"\n", "\r\n", "\r"}) {
    EXPECT_EQ(Read("\"x" + end + "y\"" + end + "z" + end),
              (std::vector<Row>{{1, {"x" + end + "y"}, ""}, {3, {"z"}, ""}}))
        << "line end "
        << (end == "\n"   ? "LF"
            : end == "\r" ? "CR"
                          : "CRLF");
  }
}

// Feed after Finish starts a new input: nothing of the last one's line ends carries over.
TEST(CsvReaderTest, ANewInputStartsAfresh) {
  CsvReader reader;
  std::vector<Row> rows;
  const auto sink = [&](const CsvRecord& r) { rows.push_back({r.line, r.fields, r.error}); };
  reader.Feed("\"a\r", sink);  // ends inside quotes, after a CR
  reader.Finish(sink);
  rows.clear();
  reader.Feed("\"\nx\"\nz\n", sink);  // a line break first inside the quotes
  reader.Finish(sink);
  EXPECT_EQ(rows, (std::vector<Row>{{1, {"\nx"}, ""}, {3, {"z"}, ""}}));
}

TEST(CsvReaderTest, SkipsBomAndBlankLinesButCountsThem) {
  EXPECT_EQ(Read("\xEF\xBB\xBF"
                 "h\r\n\r\n,,\r\nx\r\n"),
            (std::vector<Row>{{1, {"h"}, ""}, {4, {"x"}, ""}}));
  EXPECT_EQ(Read("h\n   \n \t, ,\nx\n"), (std::vector<Row>{{1, {"h"}, ""}, {4, {"x"}, ""}}));
}

TEST(CsvReaderTest, PartialBomIsData) {
  EXPECT_EQ(Read("\xEF\xBBx\n"), (std::vector<Row>{{1, {"\xEF\xBBx"}, ""}}));
}

TEST(CsvReaderTest, EmptyQuotedFieldIsNotBlank) {
  EXPECT_EQ(Read("\"\"\n"), (std::vector<Row>{{1, {""}, ""}}));
}

TEST(CsvReaderTest, OversizedFieldIsAnErrorRecordAndReadingGoesOn) {
  CsvLimits limits;
  limits.max_field_bytes = 4;
  const auto rows = Read("12345,a\nok\n", limits);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].error, "field longer than 4 bytes");
  EXPECT_EQ(rows[1], (Row{2, {"ok"}, ""}));
}

TEST(CsvReaderTest, OversizedRecordAndTooManyFieldsAreErrors) {
  CsvLimits limits;
  limits.max_record_bytes = 8;
  limits.max_fields = 3;
  const auto rows = Read("aaaa,bbbb,cc\na,b,c,d\nok\n", limits);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].error, "record longer than 8 bytes");
  EXPECT_EQ(rows[1].error, "more than 3 fields");
  EXPECT_TRUE(rows[2].error.empty());
  // Empty fields past the limit (a spreadsheet's empty columns) are dropped, not an error.
  EXPECT_EQ(Read("a,b,c,,,,\n", limits), (std::vector<Row>{{1, {"a", "b", "c"}, ""}}));
}

constexpr const char* kStrayQuote = "unterminated quoted field (its quote never closes)";

// A quote that never closes does not swallow the lines after it: its record is rejected, cut at
// the line break, and the lines after are read again.
TEST(CsvReaderTest, UnterminatedQuoteAtEndRejectsItsRecordOnly) {
  EXPECT_EQ(Read("a\n\"open,\nstill"),
            (std::vector<Row>{{1, {"a"}, ""}, {2, {"open,"}, kStrayQuote}, {3, {"still"}, ""}}));
  EXPECT_EQ(Read("a\n\"open, no line break"),
            (std::vector<Row>{{1, {"a"}, ""},
                              {2, {"open, no line break"}, "unterminated quoted field"}}));
}

TEST(CsvReaderTest, AStrayQuoteMidFileCostsOneRecord) {
  std::string text =
      "caller_id,carrier,area_code\n2125550001,AT&T,212\n2125550002,\"Verizon 5G,212\r\n";
  for (int i = 3; i <= 2000; ++i) text += "21255" + std::to_string(50000 + i) + ",X,212\r\n";
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, text.size()}) {
    std::vector<std::string_view> chunks;
    for (std::size_t at = 0; at < text.size(); at += chunk) {
      chunks.push_back(std::string_view(text).substr(at, chunk));
    }
    const auto rows = ReadChunks(chunks);
    ASSERT_EQ(rows.size(), 2001u) << "chunk " << chunk;
    EXPECT_EQ(rows[2], (Row{3, {"2125550002", "Verizon 5G,212"}, kStrayQuote}));
    for (std::size_t r = 3; r < rows.size(); ++r) {
      ASSERT_EQ(rows[r].line, r + 1) << "chunk " << chunk;
      ASSERT_TRUE(rows[r].error.empty()) << rows[r].error;
      ASSERT_EQ(rows[r].fields.size(), 3u);
    }
    EXPECT_EQ(rows.back().fields[0], "2125552000");
  }
  // A quote that a later one closes is a quoted field over two lines (RFC 4180): one record.
  EXPECT_EQ(Read("\"a\n\"\nc\n"), (std::vector<Row>{{1, {"a\n"}, ""}, {3, {"c"}, ""}}));
  EXPECT_EQ(Read("\"a\nb\",x\nc\n"), (std::vector<Row>{{1, {"a\nb", "x"}, ""}, {3, {"c"}, ""}}));
}

// A stray quote that a quote of a later row "closes" (text follows it: RFC 4180 says a closing
// quote ends its field) is rejected, and the lines between are read again: they used to vanish
// into one field, and an import reported every row as imported.
TEST(CsvReaderTest, AStrayQuoteClosedByALaterRowsQuoteSwallowsNothing) {
  const std::string text = "id,notes\n1,ok\n2,\"customer said hi\n3,ok\n4,ok\n5,\"z\"\n6,ok\n";
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{5}, text.size()}) {
    std::vector<std::string_view> chunks;
    for (std::size_t at = 0; at < text.size(); at += chunk) {
      chunks.push_back(std::string_view(text).substr(at, chunk));
    }
    EXPECT_EQ(ReadChunks(chunks), (std::vector<Row>{{1, {"id", "notes"}, ""},
                                                    {2, {"1", "ok"}, ""},
                                                    {3, {"2", "customer said hi"}, kStrayQuote},
                                                    {4, {"3", "ok"}, ""},
                                                    {5, {"4", "ok"}, ""},
                                                    {6, {"5", "z"}, ""},
                                                    {7, {"6", "ok"}, ""}}))
        << "chunk " << chunk;
  }
  EXPECT_EQ(Read("\"a\n\"b\nc\n"),
            (std::vector<Row>{{1, {"a"}, kStrayQuote}, {2, {"b"}, kStrayQuote}, {3, {"c"}, ""}}));
}

// A CRLF file whose quoted field is over the size limit at its first CR: the LF of that line end
// is not a line of its own, so later rows keep their line numbers.
TEST(CsvReaderTest, AnOversizedQuotedFieldEndingAtCrlfKeepsTheLineNumbers) {
  const std::string text = "id\r\n2125550001,\"" + std::string(2000, 'a') + "\r\nok\r\nbad\r\n";
  const auto rows = Read(text);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].line, 2u);
  EXPECT_FALSE(rows[1].error.empty());
  EXPECT_EQ(rows[2], (Row{3, {"ok"}, ""}));
  EXPECT_EQ(rows[3], (Row{4, {"bad"}, ""}));
}

TEST(CsvReaderTest, LenientAboutStrayQuotes) {
  EXPECT_EQ(Read("ab\"c,\"d\"e\n"), (std::vector<Row>{{1, {"ab\"c", "de"}, ""}}));
}

TEST(CsvReaderTest, SameRecordsAtEveryChunkBoundary) {
  const std::string text = Fixture("hostile_pool.csv");
  ASSERT_FALSE(text.empty());
  const auto whole = Read(text);
  ASSERT_GT(whole.size(), 10u);
  const std::string_view view(text);
  for (std::size_t split = 0; split <= text.size(); ++split) {
    ASSERT_EQ(ReadChunks({view.substr(0, split), view.substr(split)}), whole) << "split " << split;
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < text.size(); ++i) bytes.push_back(view.substr(i, 1));
  EXPECT_EQ(ReadChunks(bytes), whole);
}

TEST(CsvWriterTest, QuotesOnlyWhatNeedsIt) {
  std::string out;
  AppendCsvField(out, "plain");
  out += ',';
  AppendCsvField(out, "a,\"b\"");
  out += ',';
  AppendCsvField(out, "");
  EXPECT_EQ(out, "plain,\"a,\"\"b\"\"\",");
  EXPECT_EQ(Read(out + "\n")[0].fields, (std::vector<std::string>{"plain", "a,\"b\"", ""}));
}

// A vendor's carrier "=HYPERLINK(...)" must not run when an admin opens the export in a
// spreadsheet: an apostrophe marks it as text (inside the quotes when there are some), and our
// readers take it off again.
TEST(CsvWriterTest, AFieldThatStartsAFormulaIsMarkedAsTextAndReadBack) {
  const std::vector<std::string> fields = {"=HYPERLINK(\"http://x\";\"y\")",
                                           "+1",
                                           "-5",
                                           "@SUM(1)",
                                           "\tx",
                                           "=a,b",
                                           "AT&T",
                                           "'quoted",
                                           "'=kept once",
                                           "x=1"};
  std::string out;
  for (const auto& field : fields) {
    if (!out.empty()) out += ',';
    AppendCsvField(out, field);
  }
  EXPECT_EQ(out,
            "\"'=HYPERLINK(\"\"http://x\"\";\"\"y\"\")\",'+1,'-5,'@SUM(1),'\tx,\"'=a,b\",AT&T,"
            "'quoted,'=kept once,x=1");
  const auto read = Read(out + "\n")[0].fields;
  ASSERT_EQ(read.size(), fields.size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string expected = i == 8 ? "=kept once" : fields[i];  // a marker typed by hand
    EXPECT_EQ(WithoutTextMarker(read[i]), expected) << i;
  }
}

}  // namespace
}  // namespace cidrotor::service
