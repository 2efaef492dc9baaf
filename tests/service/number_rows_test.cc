// NumberRowParser on the hostile fixture (every rejection reason, quoting, BOM, CRLF, in-file
// duplicates), header rules and the ISO-8601 last_used codec.
#include "service/number_rows.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace cidrotor::service {
namespace {

struct Outcome {
  std::vector<NumberRow> rows;
  std::map<std::uint64_t, std::string> rejects;  // line -> reason
  std::vector<std::string> warnings;
};

Outcome ParseAll(std::string_view text, core::CompactTime now = 0) {
  Outcome out;
  CsvReader reader;
  NumberRowParser parser(now);
  bool header = true;
  const auto sink = [&](const CsvRecord& record) {
    if (header) {
      header = false;
      EXPECT_TRUE(parser.SetHeader(record).has_value());
      return;
    }
    auto parsed = parser.Parse(record);
    if (auto* row = std::get_if<NumberRow>(&parsed)) {
      out.rows.push_back(*row);
    } else {
      const auto& reject = std::get<RowReject>(parsed);
      EXPECT_EQ(reject.fields, record.fields);
      out.rejects[reject.line] = reject.reason;
    }
  };
  reader.Feed(text, sink);
  reader.Finish(sink);
  out.warnings = parser.warnings();
  return out;
}

std::string Fixture(const char* name) {
  std::ifstream in(std::string(CIDROTOR_FIXTURES_DIR) + "/" + name, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(NumberRowsTest, HostileFixtureRejectsEveryBadRowWithLineAndReason) {
  const Outcome out = ParseAll(Fixture("hostile_pool.csv"));
  const std::map<std::uint64_t, std::string> expected = {
      {5, "duplicate of line 2"},
      {6, "caller_id: not a 10-digit NANP number"},
      {7, "area_code: area code contradicts the number"},
      {8, "hourly_limit: must be a whole number from 1 to 65535"},
      {9, "daily_limit: must be a whole number from 1 to 65535"},
      {10, "hourly_limit: must be a whole number from 1 to 65535"},
      {13, "pool: "},
      {14, "active: must be true or false"},
      {15,
       "last_used: must be an ISO-8601 time like 2026-11-25T15:16:00Z (or with an offset, "
       "2026-11-25T10:16:00-05:00)"},
      {17, "caller_id: is empty"},
      {19, "duplicate of line 2"},
      {20, "hourly_limit: must be a whole number from 1 to 65535"},
  };
  ASSERT_EQ(out.rejects.size(), expected.size());
  for (const auto& [line, reason] : expected) {
    ASSERT_TRUE(out.rejects.count(line)) << "line " << line;
    // Messages of the shared field parsers may be reworded: the column and the gist are fixed.
    EXPECT_EQ(out.rejects.at(line).substr(0, reason.find(':') + 1),
              reason.substr(0, reason.find(':') + 1))
        << "line " << line << ": " << out.rejects.at(line);
  }
  ASSERT_EQ(out.rows.size(), 5u);
  EXPECT_EQ(out.rows[0].line, 2u);
  EXPECT_EQ(out.rows[0].spec.caller_id.digits(), 2125550100u);
  EXPECT_EQ(out.rows[0].spec.carrier, "AT&T");
  EXPECT_EQ(out.rows[0].spec.hourly_cap, 10);
  EXPECT_EQ(out.rows[0].spec.daily_cap, 50);
  EXPECT_EQ(out.rows[0].spec.pool, "sales");
  EXPECT_EQ(out.rows[0].spec.state, "NY");
  EXPECT_EQ(out.rows[0].last_used, ParseIsoUtc("2026-11-25T15:16:00Z", "t").value());
  EXPECT_EQ(out.rows[1].spec.caller_id.digits(), 3105550101u);
  EXPECT_EQ(out.rows[1].spec.carrier, "Verizon, Inc.");
  EXPECT_EQ(out.rows[1].spec.hourly_cap, 0);  // empty: the configured default
  EXPECT_EQ(out.rows[1].spec.pool, "default");
  EXPECT_FALSE(out.rows[1].last_used.has_value());
  EXPECT_EQ(out.rows[2].line, 11u);
  EXPECT_EQ(out.rows[2].spec.carrier, "Carrier \"Q\"");
  EXPECT_EQ(out.rows[3].line, 18u);
  EXPECT_EQ(out.rows[3].spec.caller_id.digits(), 3125550110u);
  EXPECT_EQ(out.rows[3].spec.hourly_cap, 65535);
  EXPECT_EQ(out.rows[3].spec.daily_cap, 1);
  EXPECT_FALSE(out.rows[3].spec.active);
  EXPECT_EQ(out.rows[4].line, 21u);
  EXPECT_EQ(out.warnings, (std::vector<std::string>{"unknown column 'color' ignored"}));
}

TEST(NumberRowsTest, HeaderNeedsCallerIdAndNoColumnTwice) {
  NumberRowParser parser;
  EXPECT_FALSE(parser.SetHeader({1, {"carrier", "area_code"}, ""}).has_value());
  NumberRowParser twice;
  EXPECT_FALSE(twice.SetHeader({1, {"caller_id", "Caller_ID "}, ""}).has_value());
  NumberRowParser ok;
  EXPECT_TRUE(ok.SetHeader({1, {" caller_id ", "hourly_used", "daily_used"}, ""}).has_value());
  EXPECT_TRUE(ok.warnings().empty());
}

// A header without caller_id says what was read, and the spreadsheet's other "CSV" it looks
// like: semicolons, tabs or UTF-16 ("Unicode text"). Shown as printable ASCII only.
TEST(NumberRowsTest, AHeaderWithoutCallerIdSaysWhatWasReadAndWhy) {
  const auto detail = [](std::vector<std::string> fields) {
    NumberRowParser parser;
    auto set = parser.SetHeader({1, std::move(fields), ""});
    EXPECT_FALSE(set.has_value());
    return set ? std::string() : set.error().detail();
  };
  EXPECT_EQ(detail({"number", "carrier"}),
            "no caller_id column (the first line reads: number,carrier)");
  EXPECT_EQ(detail({"caller_id;carrier;area_code"}),
            "no caller_id column (the first line reads: caller_id;carrier;area_code); columns "
            "are separated by commas, not semicolons");
  EXPECT_NE(detail({"caller_id\tcarrier"}).find("not tabs"), std::string::npos);
  EXPECT_EQ(detail({std::string("\xff\xfe"
                                "c\0i\0d\0",
                                8)}),
            "no caller_id column (the first line reads: ??cid); the file looks like UTF-16: save "
            "it as CSV UTF-8");
  // A binary file (an .xlsx is a ZIP, an executable alike) is not UTF-16.
  EXPECT_EQ(detail({std::string("PK\x03\x04\x14\0\x06\0\x08\0\0\0!\0", 16)}),
            "no caller_id column (the first line reads: PK????"
            "?!); the file is not text (a spreadsheet's .xlsx?): save it as CSV UTF-8");
  EXPECT_NE(detail({std::string(200, 'x')}).find(std::string(80, 'x') + "...)"), std::string::npos);
}

// A spreadsheet's empty cells after the last column are no unknown columns to warn about.
TEST(NumberRowsTest, EmptyHeaderCellsAreIgnoredWithoutAWarning) {
  NumberRowParser parser;
  ASSERT_TRUE(parser.SetHeader({1, {"caller_id", "carrier", "", "", ""}, ""}).has_value());
  EXPECT_TRUE(parser.warnings().empty());
}

// More values than the header has columns: a comma inside an unquoted value shifted the row, so
// it is rejected rather than imported with a cut carrier; a spreadsheet's trailing empty fields
// are not values.
TEST(NumberRowsTest, ARowWithMoreValuesThanTheHeaderIsRejected) {
  const Outcome out = ParseAll(
      "caller_id,carrier\n"
      "2125550100,AT&T, Inc\n"
      "2125550101,Lumen,,\n"
      "2125550102,\"AT&T, Inc\"\n");
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.rows[0].spec.carrier, "Lumen");
  EXPECT_EQ(out.rows[1].spec.carrier, "AT&T, Inc");
  ASSERT_EQ(out.rejects.size(), 1u);
  EXPECT_EQ(out.rejects.at(2),
            "3 values where the header has 2 columns (a comma inside an unquoted value? quote it)");
}

// A spreadsheet's export with many columns of its own: the unknown ones are ignored, with a
// warning, however many there are (a review found 70 refused the whole file).
TEST(NumberRowsTest, ManyUnknownColumnsAreIgnored) {
  std::string header = "caller_id,carrier";
  std::string row = "2125550100,Lumen";
  for (int i = 0; i < 200; ++i) {
    header += ",extra" + std::to_string(i);
    row += ",x";
  }
  const Outcome out = ParseAll(header + "\n" + row + "\n");
  ASSERT_EQ(out.rows.size(), 1u);
  EXPECT_EQ(out.rows[0].spec.carrier, "Lumen");
  EXPECT_TRUE(out.rejects.empty());
  EXPECT_EQ(out.warnings.size(), 200u);
}

TEST(NumberRowsTest, SeedHeaderWithShortRows) {
  const Outcome out =
      ParseAll("caller_id,carrier,area_code,hourly_limit,daily_limit\n2125550100\n");
  ASSERT_EQ(out.rows.size(), 1u);
  EXPECT_TRUE(out.rejects.empty());
}

// "a, b, c" as people type it: the spaces around a value are not part of it (the carrier, free
// text, is kept as written).
TEST(NumberRowsTest, SpacesAroundValuesAreIgnored) {
  const Outcome out = ParseAll(
      "caller_id, carrier, area_code, hourly_limit, daily_limit, pool, state, active\n"
      " 7185551001 , AT&T, 718 , 100,\t500 , east , NY , false \n");
  ASSERT_EQ(out.rows.size(), 1u) << (out.rejects.empty() ? "" : out.rejects.begin()->second);
  const core::NumberSpec& spec = out.rows[0].spec;
  EXPECT_EQ(spec.caller_id.digits(), 7185551001u);
  EXPECT_EQ(spec.carrier, "AT&T");  // free text, but its spaces at either end go too
  EXPECT_EQ(spec.hourly_cap, 100);
  EXPECT_EQ(spec.daily_cap, 500);
  EXPECT_EQ(spec.pool, "east");
  EXPECT_EQ(spec.state, "NY");
  EXPECT_FALSE(spec.active);
  EXPECT_EQ(ParseAll("caller_id,pool\n7185551001,  \n").rows.at(0).given, 0);  // blank: none
}

// The fields a row gives: those of the file's columns with a value, and the caps of a file with
// the cap columns, empty or not (empty is the default). An existing number keeps the others.
TEST(NumberRowsTest, RowsSayWhichFieldsTheyGive) {
  using store::kImportActive, store::kImportCarrier, store::kImportDailyCap,
      store::kImportHourlyCap, store::kImportPool, store::kImportState;
  const Outcome seed =
      ParseAll("caller_id,carrier,area_code,hourly_limit,daily_limit\n2125550100,AT&T,212,,\n");
  ASSERT_EQ(seed.rows.size(), 1u);
  EXPECT_EQ(seed.rows[0].given, kImportCarrier | kImportHourlyCap | kImportDailyCap);
  const Outcome full = ParseAll(
      "caller_id,carrier,hourly_limit,daily_limit,pool,state,active\n"
      "2125550100,AT&T,5,50,east,NY,false\n"
      "2125550101,,,,,,\n");
  ASSERT_EQ(full.rows.size(), 2u);
  EXPECT_EQ(full.rows[0].given, store::kImportAllFields);
  EXPECT_EQ(full.rows[1].given, kImportHourlyCap | kImportDailyCap);
  const Outcome bare = ParseAll("caller_id,active\n2125550100,true\n");
  ASSERT_EQ(bare.rows.size(), 1u);
  EXPECT_EQ(bare.rows[0].given, kImportActive);
  const store::ImportItem item = ToImportItem(bare.rows[0]);
  EXPECT_EQ(item.given, kImportActive);
  core::NumberSpec existing;
  existing.carrier = "Verizon";
  existing.pool = "east";
  existing.state = "NY";
  existing.hourly_cap = 7;
  existing.daily_cap = 70;
  existing.active = false;
  const core::NumberSpec merged = store::MergedSpec(existing, item);
  EXPECT_EQ(merged.carrier, "Verizon");
  EXPECT_EQ(merged.pool, "east");
  EXPECT_EQ(merged.state, "NY");
  EXPECT_EQ(merged.hourly_cap, 7);
  EXPECT_EQ(merged.daily_cap, 70);
  EXPECT_TRUE(merged.active);
  EXPECT_EQ(store::MergedSpec(existing, ToImportItem(full.rows[1])).hourly_cap, 0);  // default
}

// Written by export: a number's last rest and its warm-up start, read back (an empty field: none,
// or keep the stored one); a bad time rejects the row naming the column.
// A last_used years ahead (a typo of the year) made the number the most recently used until
// then: handed out after every other one. Refused past a day ahead of the importer's clock
// (another box's clock may run ahead); a rest may end far ahead, and without a clock nothing is
// checked.
TEST(NumberRowsTest, ALastUsedFarInTheFutureIsRejected) {
  const core::CompactTime now = ParseIsoUtc("2026-11-27T07:00:00Z", "t").value();
  const std::string csv =
      "caller_id,last_used,rest_until\n"
      "2125550100,2062-11-27T07:00:00Z,\n"
      "2125550101,2026-11-28T06:59:00Z,\n"
      "2125550102,2026-11-26T07:00:00Z,2030-01-01T00:00:00Z\n";
  const Outcome out = ParseAll(csv, now);
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.rejects.at(2),
            "last_used: is in the future (2062-11-27T07:00:00Z): a number used then would be "
            "handed out last");
  EXPECT_EQ(ParseAll(csv).rows.size(), 3u);
}

TEST(NumberRowsTest, RestUntilAndWarmFromAreReadBackAndCheckedLikeLastUsed) {
  const Outcome out = ParseAll(
      "caller_id,rest_until,warm_from\n2125550100,2026-12-01T10:00:00Z,2026-11-29T05:00:00Z\n"
      "2125550101,,\n2125550102,soon,\n2125550103,,yesterday\n");
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.rows[0].rest_until, ParseIsoUtc("2026-12-01T10:00:00Z", "t").value());
  EXPECT_EQ(out.rows[0].warm_from, ParseIsoUtc("2026-11-29T05:00:00Z", "t").value());
  EXPECT_FALSE(out.rows[1].rest_until.has_value());
  EXPECT_FALSE(out.rows[1].warm_from.has_value());
  EXPECT_EQ(out.rejects.at(4),
            "rest_until: must be an ISO-8601 time like 2026-11-25T15:16:00Z (or with an offset, "
            "2026-11-25T10:16:00-05:00)");
  EXPECT_EQ(out.rejects.at(5),
            "warm_from: must be an ISO-8601 time like 2026-11-25T15:16:00Z (or with an offset, "
            "2026-11-25T10:16:00-05:00)");
  EXPECT_TRUE(out.warnings.empty());
}

TEST(NumberRowsTest, MalformedRecordIsRejectedWithItsError) {
  const Outcome out = ParseAll("caller_id\n\"2125550100");
  EXPECT_EQ(out.rejects.at(2), "unterminated quoted field");
}

TEST(IsoUtcTest, RoundTripsAndRejectsNonsense) {
  const auto t = ParseIsoUtc("2026-11-25T15:16:07Z", "last_used");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatIsoUtc(*t), "2026-11-25T15:16:07Z");
  EXPECT_EQ(ParseIsoUtc("2026-11-25 15:16:07", "x").value(), *t);
  EXPECT_EQ(FormatIsoUtc(0), "");
  EXPECT_FALSE(ParseIsoUtc("2026-02-30T00:00:00Z", "x").has_value());
  EXPECT_FALSE(ParseIsoUtc("2026-11-25T24:00:00Z", "x").has_value());
  for (const char* nonsense : {"2026-11-25T15:16:07.Z", "2026-11-25T15:16:07+5", "2026-11-25",
                               "2026-11-25T15:16:07 +01:00", "2026-11-25T15:16:07+24:00",
                               "2026-11-25T15:16:07ZZ", "2026-11-25T15:16:07+01:00:00"}) {
    const auto parsed = ParseIsoUtc(nonsense, "last_used");
    ASSERT_FALSE(parsed.has_value()) << nonsense;
    EXPECT_EQ(parsed.error().field(), "last_used");
  }
  const auto far = ParseIsoUtc("2156-12-31T00:00:00Z", "rest_until");
  ASSERT_FALSE(far.has_value());
  EXPECT_NE(far.error().detail().find("before 2156-02-07T06:28:15Z"), std::string::npos)
      << far.error().detail();
  EXPECT_EQ(ParseIsoUtc("2156-02-07T06:28:15Z", "x").value(), 0xFFFF'FFFFU);
}

// What other tools write: JavaScript's toISOString (milliseconds), Python's isoformat (an offset,
// microseconds), a local time with its offset; and a number idle since before 2020.
TEST(IsoUtcTest, FractionsAndOffsetsAreUtcWholeSeconds) {
  const core::CompactTime t = ParseIsoUtc("2026-11-25T15:16:07Z", "x").value();
  EXPECT_EQ(ParseIsoUtc("2026-11-25T15:16:07.999Z", "x").value(), t);
  EXPECT_EQ(ParseIsoUtc("2026-11-25T15:16:07.123456+00:00", "x").value(), t);
  EXPECT_EQ(ParseIsoUtc("2026-11-25T10:16:07-05:00", "x").value(), t);
  EXPECT_EQ(ParseIsoUtc("2026-11-25T17:16:07+0200", "x").value(), t);
  EXPECT_EQ(ParseIsoUtc("2026-11-25T16:16:07+01", "x").value(), t);
  EXPECT_EQ(ParseIsoUtc("2026-11-26T01:46:07+10:30", "x").value(), t);  // the next day there
  EXPECT_EQ(ParseIsoUtc("2019-06-01T10:00:00Z", "x").value(), 1U);
  EXPECT_EQ(ParseIsoUtc("2020-01-01T00:00:00Z", "x").value(), 1U);
  EXPECT_EQ(FormatIsoUtc(1), "2020-01-01T00:00:01Z");
}

}  // namespace
}  // namespace cidrotor::service
