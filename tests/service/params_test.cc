#include "service/params.h"

#include <gtest/gtest.h>

#include <string>

#include "service/field_parsers.h"

namespace cidrotor::service {
namespace {

TEST(ParamsTest, EmptyValueCountsAsAbsent) {
  Params params;
  ASSERT_TRUE(params.Add("campaign", ""));
  ASSERT_TRUE(params.Add("agent", "agent001"));
  EXPECT_FALSE(params.Get("campaign").has_value());
  EXPECT_FALSE(params.Has("campaign"));
  EXPECT_EQ(params.Get("agent"), "agent001");
  EXPECT_FALSE(params.Get("missing").has_value());
}

TEST(ParamsTest, LastNonEmptyValueWins) {
  Params params;
  ASSERT_TRUE(params.Add("to", "2125550001"));  // query string
  ASSERT_TRUE(params.Add("to", "2125550002"));  // body: added later, wins
  ASSERT_TRUE(params.Add("to", ""));            // empty: does not erase the earlier value
  EXPECT_EQ(params.Get("to"), "2125550002");
}

TEST(ParamsTest, NamesAreCaseSensitive) {
  Params params;
  ASSERT_TRUE(params.Add("To", "2125550001"));
  EXPECT_FALSE(params.Get("to").has_value());
}

TEST(ParamsTest, RefusesValueOverTheLimitNamingTheParameter) {
  Params params;
  EXPECT_TRUE(params.Add("carrier", std::string(Params::kMaxValueBytes, 'x')));
  auto added = params.Add("carrier", std::string(Params::kMaxValueBytes + 1, 'x'));
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(added.error().field(), "carrier");
  EXPECT_EQ(added.error().detail(), "is too long");
  EXPECT_EQ(params.size(), 1u);
}

TEST(ParamsTest, RefusesNameOverTheLimit) {
  Params params;
  auto added = params.Add(std::string(Params::kMaxValueBytes + 1, 'n'), "1");
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_LE(added.error().field().size(), 64u);
}

TEST(ParamsTest, RefusesMoreThanSixtyFourParameters) {
  Params params;
  for (std::size_t i = 0; i < Params::kMaxParams; ++i) {
    std::string name = "p";  // not "p" + to_string(i): g++ 12 -Wrestrict false positive
    name += std::to_string(i);
    ASSERT_TRUE(params.Add(std::move(name), "v"));
  }
  auto added = params.Add("one_more", "v");
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(added.error().field(), "one_more");
  EXPECT_EQ(params.size(), Params::kMaxParams);
}

struct CallCodeCase {
  const char* cidname;
  std::optional<std::uint64_t> lead;
};

TEST(LeadIdFromCallCodeTest, ReadsTheLeadIdAfterTheDateOfVicidialCallCodes) {
  const CallCodeCase cases[] = {
      {"V11251430120000012345", 12345},         // VMMDDhhmmssLLLLLLLLLL (auto dial)
      {"M11251430120000012345", 12345},         // manual dial
      {"Y11251430120000012345", 12345},         // inbound / transfer
      {"V11251430129876543210", 9876543210},    // 10-digit lead id
      {"V1125143012000001234", 1234},           // lead padded to 9 (VICIdial < 2.4, OSDial)
      {"V1125143012987654321", 987654321},      // not 9876543210: the 10th digit is the date's
      {"V11251430120000000000", std::nullopt},  // lead 0: no lead
      {"John Smith", std::nullopt},             // a plain name
      {"v11251430120000012345", std::nullopt},  // lower-case letter: not VICIdial's
      {"X11251430120000012345", std::nullopt},
      {"V0000012345", std::nullopt},        // 10 digits: no date part
      {"V1251430000000123", std::nullopt},  // 16 digits: neither layout, no guess
      {"V112514301200000123a5", std::nullopt},
      {"V112514301200000123456", std::nullopt},  // 21 digits
      {"", std::nullopt},
      {"V", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(LeadIdFromCallCode(c.cidname), c.lead) << c.cidname;
  }
}

TEST(FieldParsersTest, WholeNumberRejectsSignsFractionsAndOverflow) {
  for (const char* bad : {"", "-1", "+1", "1.5", "1e3", " 1", "0x10", "18446744073709551616",
                          "99999999999999999999999"}) {
    auto parsed = ParseWholeNumber(bad, "limit", 0, UINT64_MAX);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().field(), "limit");
  }
  EXPECT_EQ(ParseWholeNumber("18446744073709551615", "x", 0, UINT64_MAX).value(), UINT64_MAX);
  EXPECT_EQ(ParseWholeNumber("007", "x", 0, 10).value(), 7u);
}

TEST(FieldParsersTest, BoolAcceptsCommonSpellings) {
  for (const char* yes : {"1", "true", "TRUE", "yes", "Yes", "on", "Y", "y"}) {
    EXPECT_TRUE(ParseBool(yes, "active").value()) << yes;
  }
  for (const char* no : {"0", "false", "False", "no", "off", "N", "n"}) {
    EXPECT_FALSE(ParseBool(no, "active").value()) << no;
  }
  for (const char* bad : {"", "2", "yy", "truthy"}) {
    auto parsed = ParseBool(bad, "active");
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().field(), "active");
  }
}

}  // namespace
}  // namespace cidrotor::service
