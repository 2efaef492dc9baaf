#include "cli/vicidial_dids.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>

namespace cidrotor::cli {
namespace {

core::NumberSpec Number(std::uint64_t digits, std::string carrier = "AT&T",
                        std::string pool = "default", bool active = true) {
  core::NumberSpec spec;
  spec.caller_id = core::PhoneNumber::FromValidDigits(digits);
  spec.carrier = std::move(carrier);
  spec.pool = std::move(pool);
  spec.active = active;
  return spec;
}

std::string Write(const VicidialDidOptions& options, const std::vector<core::NumberSpec>& numbers,
                  std::uint64_t* written = nullptr) {
  std::ostringstream out;
  {
    VicidialDidSink sink(out, options);
    for (const auto& spec : numbers) sink.OnNumber(spec, {});
    if (written != nullptr) *written = sink.written();
  }
  return out.str();
}

// The rows of the output, one per line, without the statement's punctuation.
std::vector<std::string> Rows(const std::string& sql) {
  std::vector<std::string> rows;
  std::istringstream lines(sql);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '(') continue;
    line.erase(line.find_last_of(')') + 1);
    rows.push_back(line);
  }
  return rows;
}

TEST(VicidialDidsTest, ANumberIsARowRoutedToTheDefaultExtensionOrAnInGroup) {
  EXPECT_EQ(Rows(Write({}, {Number(2'125'551'001)})),
            std::vector<std::string>{
                "('2125551001','cidrotor default AT&T','Y','EXTEN','9998811112','default','')"});
  VicidialDidOptions in_group;
  in_group.in_group = "CALLBACKS";
  in_group.did_prefix = "1";
  // Active in VICIdial also when out of rotation here: it is still called back.
  EXPECT_EQ(Rows(Write(in_group, {Number(2'125'551'001, "", "east", false)})),
            std::vector<std::string>{
                "('12125551001','cidrotor east','Y','IN_GROUP','9998811112','default',"
                "'CALLBACKS')"});
}

TEST(VicidialDidsTest, TextIsEscapedAndTheDescriptionFitsVicidialsColumn) {
  const auto rows = Rows(Write({}, {Number(2'125'551'001, "O'Brien \\ Sons\nLtd")}));
  ASSERT_EQ(rows.size(), 1u);
  // A quote doubled (right in every sql_mode); the backslash escaped, which the file's first
  // statement makes right too (it turns NO_BACKSLASH_ESCAPES off).
  EXPECT_NE(rows[0].find(R"('cidrotor default O''Brien \\ Sons\nLtd')"), std::string::npos)
      << rows[0];
  // 50 bytes at most, never cutting a UTF-8 character: "cidrotor default " is 17 bytes, 32 x
  // make 49, and the next "é" (two bytes) would end at byte 51: it is left out whole.
  const std::string carrier = std::string(32, 'x') + "éé";
  const auto cut = Rows(Write({}, {Number(2'125'551'001, carrier)}));
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_NE(cut[0].find("'cidrotor default " + std::string(32, 'x') + "','Y'"), std::string::npos)
      << cut[0];
}

TEST(VicidialDidsTest, StatementsHoldAThousandRowsAndEachEnds) {
  std::vector<core::NumberSpec> numbers;
  for (std::uint64_t i = 0; i < 1001; ++i) numbers.push_back(Number(2'125'550'000 + i));
  std::uint64_t written = 0;
  const std::string sql = Write({}, numbers, &written);
  EXPECT_EQ(written, 1001u);
  EXPECT_EQ(Rows(sql).size(), 1001u);
  std::size_t inserts = 0;
  for (std::size_t at = sql.find("INSERT IGNORE"); at != std::string::npos;
       at = sql.find("INSERT IGNORE", at + 1)) {
    ++inserts;
  }
  EXPECT_EQ(inserts, 2u);
  // SET NAMES (the file is UTF-8), SET sql_mode, then two INSERTs.
  EXPECT_EQ(std::count(sql.begin(), sql.end(), ';'), 4);
  EXPECT_NE(sql.find("\nSET NAMES utf8mb4;\n"), std::string::npos);
  EXPECT_EQ(sql.substr(sql.size() - 3), ");\n");
}

TEST(VicidialDidsTest, OnlyThePoolAskedForAndNoStatementWhenNothingMatches) {
  VicidialDidOptions west;
  west.pool = "west";
  std::uint64_t written = 0;
  const std::string sql =
      Write(west, {Number(2'125'551'001), Number(3'105'551'001, "AT&T", "west")}, &written);
  EXPECT_EQ(written, 1u);
  EXPECT_EQ(Rows(sql).size(), 1u);
  EXPECT_NE(sql.find("3105551001"), std::string::npos);
  VicidialDidOptions none;
  none.pool = "nosuchpool";
  const std::string empty = Write(none, {Number(2'125'551'001)});
  EXPECT_EQ(empty.find("INSERT"), std::string::npos) << empty;  // no statement left open
}

TEST(VicidialDidsTest, OptionsAreChecked) {
  VicidialDidOptions options;
  EXPECT_TRUE(CheckVicidialDidOptions(options).has_value());
  options.in_group = "has space";
  EXPECT_EQ(CheckVicidialDidOptions(options).error().field(), "--in-group");
  options.in_group = std::string(21, 'A');
  EXPECT_EQ(CheckVicidialDidOptions(options).error().field(), "--in-group");
  options.in_group = "SALES_CB-2";
  EXPECT_TRUE(CheckVicidialDidOptions(options).has_value());
  options.did_prefix = "+1";  // E.164
  EXPECT_TRUE(CheckVicidialDidOptions(options).has_value());
  options.did_prefix = "1+";
  EXPECT_EQ(CheckVicidialDidOptions(options).error().field(), "--did-prefix");
  options.did_prefix = "12345";
  EXPECT_EQ(CheckVicidialDidOptions(options).error().field(), "--did-prefix");
  options.did_prefix = "1";
  options.pool = "bad pool";
  EXPECT_EQ(CheckVicidialDidOptions(options).error().field(), "--pool");
}

}  // namespace
}  // namespace cidrotor::cli
