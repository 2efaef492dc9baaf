#include "core/phone_number.h"

#include <gtest/gtest.h>

#include "support/matchers.h"

namespace cidrotor::core {
namespace {

using testing::HasFieldError;
using ::testing::TestWithParam;
using ::testing::Values;

struct FormCase {
  const char* text;
  const char* expected;  // nullptr: must be rejected
};

class DestinationFormTest : public TestWithParam<FormCase> {};

TEST_P(DestinationFormTest, NormalisesOrRejects) {
  const FormCase& c = GetParam();
  auto parsed = PhoneNumber::ParseDestination(c.text);
  if (c.expected == nullptr) {
    EXPECT_THAT(parsed, HasFieldError(ErrorCode::kInvalidArgument, "to")) << c.text;
  } else {
    ASSERT_TRUE(parsed.has_value()) << c.text << ": " << parsed.error().ToString();
    EXPECT_EQ(parsed->ToString(), c.expected);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Forms, DestinationFormTest,
    Values(FormCase{"3105559876", "3105559876"}, FormCase{"13105559876", "3105559876"},
           FormCase{"+1 (310) 555-9876", "3105559876"}, FormCase{"310.555.9876", "3105559876"},
           FormCase{"310-555-9876", "3105559876"}, FormCase{"+13105559876", "3105559876"},
           FormCase{"913105559876", "3105559876"},    // VICIdial dial prefix 9 + 1
           FormCase{"99913105559876", "3105559876"},  // longer carrier prefix
           FormCase{"8005551234", "8005551234"},      // toll-free: valid, not geographic
           FormCase{"2125550000", "2125550000"},      // the 555 exchange is valid
           FormCase{"", nullptr}, FormCase{"310555987", nullptr},  // 9 digits
           FormCase{"1105559876", nullptr},                        // area code starts with 1
           FormCase{"0105559876", nullptr},                        // area code starts with 0
           FormCase{"4115559876", nullptr},                        // N11 area code
           FormCase{"3101559876", nullptr},                        // exchange starts with 1
           FormCase{"3100559876", nullptr},                        // exchange starts with 0
           FormCase{"3109119876", nullptr},                        // N11 exchange
           FormCase{"310555987x", nullptr}, FormCase{"310+5559876", nullptr},
           FormCase{"123456789012345678901", nullptr},  // more than 20 digits
           // '+' is E.164: another country's number, not a prefix before a NANP one (London's
           // last 10 digits would be Maine's 207-946-0958)
           FormCase{"+44 20 7946 0958", nullptr}, FormCase{"+913105559876", nullptr},
           FormCase{"+3105559876", nullptr}, FormCase{"310 555 9876; DROP TABLE", nullptr},
           // one '+', first: "++1" and "1+1" are not a number someone typed
           FormCase{"++13105559876", nullptr}, FormCase{"+1+3105559876", nullptr},
           FormCase{" +1 310 555 9876", "3105559876"},
           // a '+' left unencoded in a URL arrives as a space (form decoding): `to=+44...` is
           // still London, not a dial prefix before Maine's number; `to=+1...` still NANP
           FormCase{" 442079460958", nullptr}, FormCase{" 913105559876", nullptr},
           FormCase{" 13105559876", "3105559876"}, FormCase{" 1 310 555 9876", "3105559876"},
           // 011, NANP's international access code, also after a dial prefix: London again,
           // not Maine's 207-946-0958 (nor "area code 123" for 011 44 1234 567890)
           FormCase{"011442079460958", nullptr}, FormCase{"9011442079460958", nullptr},
           FormCase{"011441234567890", nullptr}, FormCase{"01133142685300", nullptr},
           // ...unless what follows is 1 and a NANP number: a prefix ending in 01 (801 1 ...)
           FormCase{"80112125551234", "2125551234"}, FormCase{"01112125551234", "2125551234"},
           // a NANP number with 011 in it is still one
           FormCase{"2122011234", "2122011234"}, FormCase{"912122011234", "2122011234"}));

struct PoolCase {
  const char* text;
  const char* expected;
};

class PoolFormTest : public TestWithParam<PoolCase> {};

TEST_P(PoolFormTest, AllowsNoDialPrefix) {
  const PoolCase& c = GetParam();
  auto parsed = PhoneNumber::ParsePoolNumber(c.text);
  if (c.expected == nullptr) {
    EXPECT_THAT(parsed, HasFieldError(ErrorCode::kInvalidArgument, "caller_id")) << c.text;
  } else {
    ASSERT_TRUE(parsed.has_value()) << c.text << ": " << parsed.error().ToString();
    EXPECT_EQ(parsed->ToString(), c.expected);
  }
}

INSTANTIATE_TEST_SUITE_P(Forms, PoolFormTest,
                         Values(PoolCase{"2125551234", "2125551234"},
                                PoolCase{"12125551234", "2125551234"},
                                PoolCase{"+1 212.555.1234", "2125551234"},
                                PoolCase{"912125551234", nullptr},  // prefix not allowed
                                PoolCase{"22125551234", nullptr},   // 11 digits not starting 1
                                PoolCase{"9115551234", nullptr}));

// An inbound caller ID: a pool number's forms, but a `+` must carry country code 1.
TEST(PhoneNumberTest, CallerIdsWithAnotherCountryCodeAreNotNanp) {
  for (const char* nanp : {"3105559876", "13105559876", "+13105559876", " +1 (310) 555-9876"}) {
    auto parsed = PhoneNumber::ParseCallerId(nanp);
    ASSERT_TRUE(parsed.has_value()) << nanp << ": " << parsed.error().ToString();
    EXPECT_EQ(parsed->ToString(), "3105559876") << nanp;
  }
  // Denmark and Norway have 10 digits with their country code: never a US number.
  for (const char* foreign : {"+4532123456", "+4722123456", "+442072345678", "+3105559876"}) {
    EXPECT_THAT(PhoneNumber::ParseCallerId(foreign),
                HasFieldError(ErrorCode::kInvalidArgument, "from"))
        << foreign;
  }
  EXPECT_THAT(PhoneNumber::ParseCallerId("913105559876"),
              HasFieldError(ErrorCode::kInvalidArgument, "from"));  // no dial prefix
  // Nor is one a pool number (POST /api/numbers, a CSV row).
  EXPECT_THAT(PhoneNumber::ParsePoolNumber("+4532123456"),
              HasFieldError(ErrorCode::kInvalidArgument, "caller_id"));
  EXPECT_TRUE(PhoneNumber::ParsePoolNumber("+1 310 555 9876").has_value());
}

TEST(PhoneNumberTest, ErrorsNameAreaCodesAndExchangesWithTheirThreeDigits) {
  auto parsed = PhoneNumber::ParseDestination("2120795555");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_NE(parsed.error().detail().find("exchange 079 "), std::string::npos)
      << parsed.error().ToString();
}

TEST(PhoneNumberTest, SplitsAreaCodeAndExchange) {
  auto n = PhoneNumber::ParseDestination("310-555-9876");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->area_code(), 310u);
  EXPECT_EQ(n->exchange(), 310555u);
  EXPECT_TRUE(n->IsGeographic());
}

TEST(PhoneNumberTest, NonGeographicAreaCodes) {
  for (std::uint32_t npa : {800u, 833u, 844u, 855u, 866u, 877u, 888u, 900u, 500u, 533u, 544u}) {
    EXPECT_FALSE(PhoneNumber::IsGeographicAreaCode(npa)) << npa;
  }
  for (std::uint32_t npa : {212u, 310u, 818u, 832u, 505u, 617u, 345u}) {
    EXPECT_TRUE(PhoneNumber::IsGeographicAreaCode(npa)) << npa;
  }
}

TEST(PhoneNumberTest, ErrorNamesTheField) {
  auto n = PhoneNumber::ParseDestination("12", "agi_extension");
  EXPECT_THAT(n, HasFieldError(ErrorCode::kInvalidArgument, "agi_extension"));
}

}  // namespace
}  // namespace cidrotor::core
