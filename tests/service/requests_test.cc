#include "service/requests.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>

namespace cidrotor::service {
namespace {

using Pairs = std::initializer_list<std::pair<const char*, const char*>>;

Params MakeParams(Pairs pairs) {
  Params params;
  for (const auto& [name, value] : pairs) {
    EXPECT_TRUE(params.Add(name, value));
  }
  return params;
}

std::string Describe(Pairs pairs) {
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out += '&';
    out += std::string(name) + "=" + value;
  }
  return out;
}

// A bad input: the parser must fail with kInvalidArgument naming `field`.
struct BadCase {
  Pairs params;
  const char* field;
};

template <class Parse>
void ExpectAllRejected(std::initializer_list<BadCase> cases, Parse parse) {
  for (const auto& c : cases) {
    auto result = parse(MakeParams(c.params));
    ASSERT_FALSE(result.has_value()) << Describe(c.params);
    EXPECT_EQ(result.error().code(), core::ErrorCode::kInvalidArgument) << Describe(c.params);
    EXPECT_EQ(result.error().field(), c.field)
        << Describe(c.params) << " -> " << result.error().ToString();
  }
}

// ---- ParseAllocateRequest ------------------------------------------------------------------

struct AllocateCase {
  Pairs params;
  std::uint64_t destination;
  const char* campaign;
  const char* agent;
  std::optional<std::uint64_t> lead;
};

TEST(ParseAllocateRequestTest, AcceptsSeedAndVicidialForms) {
  const AllocateCase cases[] = {
      {{{"to", "3105559876"}}, 3105559876, "default", "auto", std::nullopt},
      {{{"to", "13105559876"}}, 3105559876, "default", "auto", std::nullopt},
      {{{"to", "+1 (310) 555-9876"}}, 3105559876, "default", "auto", std::nullopt},
      {{{"to", "310.555.9876"}}, 3105559876, "default", "auto", std::nullopt},
      {{{"to", "913105559876"}}, 3105559876, "default", "auto", std::nullopt},  // dial prefix
      {{{"to", "2125559876"}, {"campaign", "sales_campaign"}, {"agent", "agent001"}},
       2125559876,
       "sales_campaign",
       "agent001",
       std::nullopt},
      // The seed's dialplan sends empty variables: they count as absent.
      {{{"to", "2125559876"}, {"campaign", ""}, {"agent", ""}},
       2125559876,
       "default",
       "auto",
       std::nullopt},
      // And so do blank ones (a variable that expanded to spaces): the call still gets a number.
      {{{"to", "2125559876"}, {"campaign", " "}, {"agent", "   "}},
       2125559876,
       "default",
       "auto",
       std::nullopt},
      // Or kept the newline of `${SHELL(...)}`'s output, or a tab: blanks at the ends go.
      {{{"to", "2125559876\n"}, {"campaign", "\t\r\n"}, {"agent", "bob\r\n"}, {"lead", " 7\n"}},
       2125559876,
       "default",
       "bob",
       7},
      {{{"to", "2125559876"}, {"agent", "jane.doe@center:1-x"}},
       2125559876,
       "default",
       "jane.doe@center:1-x",
       std::nullopt},
      // Names as a dialer has them: spaces, any letters, punctuation; spaces at the ends go.
      {{{"to", "2125559876"}, {"campaign", "SALES 01/b"}, {"agent", " Zoë O'Brien #1 "}},
       2125559876,
       "SALES 01/b",
       "Zoë O'Brien #1",
       std::nullopt},
      {{{"to", "2125559876"}, {"lead", "12345"}}, 2125559876, "default", "auto", 12345},
      {{{"to", "2125559876"}, {"lead", "0"}}, 2125559876, "default", "auto", std::nullopt},
      {{{"to", "2125559876"}, {"cidname", "V11251430120000012345"}},
       2125559876,
       "default",
       "auto",
       12345},
      {{{"to", "2125559876"}, {"cidname", "M1251430120000000777"}},
       2125559876,
       "default",
       "auto",
       777},
      // A cidname that is not a call code is a plain name, not an error.
      {{{"to", "2125559876"}, {"cidname", "John Smith"}},
       2125559876,
       "default",
       "auto",
       std::nullopt},
      // An explicit lead wins over the call code.
      {{{"to", "2125559876"}, {"cidname", "V11251430120000012345"}, {"lead", "99"}},
       2125559876,
       "default",
       "auto",
       99},
      // Unknown parameters are ignored.
      {{{"to", "2125559876"}, {"format", "plain"}, {"ttl", "5"}},
       2125559876,
       "default",
       "auto",
       std::nullopt},
  };
  for (const auto& c : cases) {
    auto request = ParseAllocateRequest(MakeParams(c.params));
    ASSERT_TRUE(request.has_value()) << Describe(c.params) << " -> " << request.error().ToString();
    EXPECT_EQ(request->destination.digits(), c.destination) << Describe(c.params);
    EXPECT_EQ(request->campaign, c.campaign) << Describe(c.params);
    EXPECT_EQ(request->agent, c.agent) << Describe(c.params);
    EXPECT_EQ(request->lead_id, c.lead) << Describe(c.params);
    EXPECT_FALSE(request->ttl.has_value()) << "ttl is not a public parameter";
  }
}

TEST(ParseAllocateRequestTest, RejectsTheFirstBadField) {
  const std::string long_name(65, 'a');
  ExpectAllRejected(
      {
          {{}, "to"},
          {{{"to", ""}}, "to"},
          {{{"to", " \n"}}, "to"},  // blank: absent
          {{{"campaign", "x"}}, "to"},
          {{{"to", "555-1234"}}, "to"},
          {{{"to", "1115559876"}}, "to"},  // area code 111
          {{{"to", "2121119876"}}, "to"},  // exchange N11
          {{{"to", "212555987x"}}, "to"},
          // `to` is checked before the other fields.
          {{{"to", "12"}, {"agent", "bad\tagent"}}, "to"},
          {{{"to", "2125559876"}, {"campaign", long_name.c_str()}}, "campaign"},
          {{{"to", "2125559876"}, {"agent", "agent\t1"}}, "agent"},
          {{{"to", "2125559876"}, {"agent", "\xff\xfe"}}, "agent"},
          {{{"to", "2125559876"}, {"agent", "a"}, {"lead", "12a"}}, "lead"},
          {{{"to", "2125559876"}, {"lead", "-5"}}, "lead"},
          {{{"to", "2125559876"}, {"lead", "12345678901234567890"}}, "lead"},  // 20 digits
      },
      ParseAllocateRequest);
}

// ---- ParseReleaseRequest ---------------------------------------------------------------------

TEST(ParseReleaseRequestTest, AcceptsIdOrNumberWithOutcomeAndDuration) {
  auto by_id = ParseReleaseRequest(MakeParams({{"reservation_id", "123"}}));
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->reservation_id, 123u);
  EXPECT_FALSE(by_id->caller_id.has_value());
  EXPECT_EQ(by_id->outcome, core::CallOutcome::kUnknown);
  EXPECT_FALSE(by_id->duration_seconds.has_value());

  auto with_newlines = ParseReleaseRequest(MakeParams(
      {{"reservation_id", "123\n"}, {"caller_id", "2125551234\r\n"}, {"duration", "\t42"}}));
  ASSERT_TRUE(with_newlines.has_value()) << with_newlines.error().ToString();
  EXPECT_EQ(with_newlines->reservation_id, 123u);
  EXPECT_EQ(with_newlines->caller_id->digits(), 2125551234u);
  EXPECT_EQ(with_newlines->duration_seconds, 42u);

  auto by_number = ParseReleaseRequest(
      MakeParams({{"caller_id", "+1 (212) 555-1234"}, {"outcome", "ANSWER"}, {"duration", "42"}}));
  ASSERT_TRUE(by_number.has_value()) << by_number.error().ToString();
  EXPECT_FALSE(by_number->reservation_id.has_value());
  EXPECT_EQ(by_number->caller_id->digits(), 2125551234u);
  EXPECT_EQ(by_number->outcome, core::CallOutcome::kAnswered);
  auto spaced = ParseReleaseRequest(MakeParams({{"reservation_id", "7"}, {"outcome", " BUSY "}}));
  ASSERT_TRUE(spaced.has_value());
  EXPECT_EQ(spaced->outcome, core::CallOutcome::kBusy);
  EXPECT_EQ(by_number->duration_seconds, 42u);

  auto both = ParseReleaseRequest(MakeParams({{"reservation_id", "7"},
                                              {"caller_id", "2125551234"},
                                              {"outcome", "CHANUNAVAIL"},
                                              {"duration", "0"}}));
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(both->reservation_id, 7u);
  EXPECT_EQ(both->outcome, core::CallOutcome::kFailed);
  EXPECT_EQ(both->duration_seconds, 0u);

  // An unknown outcome is stored as `other`, never a reason to keep the number.
  auto unknown = ParseReleaseRequest(MakeParams({{"reservation_id", "7"}, {"outcome", "weird"}}));
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->outcome, core::CallOutcome::kOther);

  auto max_duration =
      ParseReleaseRequest(MakeParams({{"reservation_id", "7"}, {"duration", "86400"}}));
  ASSERT_TRUE(max_duration.has_value());
  EXPECT_EQ(max_duration->duration_seconds, 86400u);

  // Nor is a bad duration: it is ignored, and the release goes on.
  for (const char* bad : {"86401", "1.5", "-3", "${ANSWEREDTIME}"}) {
    auto ignored = ParseReleaseRequest(MakeParams({{"reservation_id", "7"}, {"duration", bad}}));
    ASSERT_TRUE(ignored.has_value()) << bad;
    EXPECT_EQ(ignored->reservation_id, 7u);
    EXPECT_FALSE(ignored->duration_seconds.has_value()) << bad;
  }
}

TEST(ParseReleaseRequestTest, RejectsTheFirstBadField) {
  ExpectAllRejected(
      {
          {{}, "reservation_id"},
          {{{"reservation_id", ""}, {"caller_id", ""}}, "reservation_id"},
          {{{"outcome", "answered"}}, "reservation_id"},
          {{{"reservation_id", "abc"}}, "reservation_id"},
          {{{"reservation_id", "0"}}, "reservation_id"},
          {{{"reservation_id", "-1"}}, "reservation_id"},
          {{{"reservation_id", "18446744073709551616"}}, "reservation_id"},
          {{{"reservation_id", "x"}, {"caller_id", "bad"}}, "reservation_id"},
          {{{"caller_id", "12"}}, "caller_id"},
          {{{"caller_id", "912125551234"}}, "caller_id"},  // pool numbers take no dial prefix
      },
      ParseReleaseRequest);
}

// ---- ParseNumberSpec ---------------------------------------------------------------------

TEST(ParseNumberSpecTest, AcceptsTheSeedFieldsAndDefaults) {
  auto minimal = ParseNumberSpec(MakeParams({{"caller_id", "2125551234"}}));
  ASSERT_TRUE(minimal.has_value()) << minimal.error().ToString();
  EXPECT_EQ(minimal->caller_id.digits(), 2125551234u);
  EXPECT_EQ(minimal->carrier, "");
  EXPECT_EQ(minimal->pool, "default");
  EXPECT_EQ(minimal->state, "");
  EXPECT_EQ(minimal->hourly_cap, 0);  // the configured default applies
  EXPECT_EQ(minimal->daily_cap, 0);
  EXPECT_TRUE(minimal->active);
  auto twice =
      ParseNumberSpec(MakeParams({{"caller_id", "2125551234"}, {"caller_id", "2125551234"}}));
  EXPECT_TRUE(twice.has_value()) << "the same value twice says one thing";

  auto full = ParseNumberSpec(MakeParams({{"caller_id", "1-212-555-1234"},
                                          {"carrier", "  AT&T Télécom €  "},  // trimmed
                                          {"area_code", "212"},
                                          {"hourly_limit", "100"},
                                          {"daily_limit", "65535"},
                                          {"pool", "east.coast-1"},
                                          {"state", "ny"},
                                          {"active", "no"}}));
  ASSERT_TRUE(full.has_value()) << full.error().ToString();
  EXPECT_EQ(full->caller_id.digits(), 2125551234u);
  EXPECT_EQ(full->carrier, "AT&T Télécom €");
  EXPECT_EQ(full->hourly_cap, 100);
  EXPECT_EQ(full->daily_cap, 65535);
  EXPECT_EQ(full->pool, "east.coast-1");
  EXPECT_EQ(full->state, "NY");
  EXPECT_FALSE(full->active);

  // Empty caps (the seed's form sends them) mean "use the default".
  auto empty_caps = ParseNumberSpec(
      MakeParams({{"caller_id", "2125551234"}, {"hourly_limit", ""}, {"daily_limit", ""}}));
  ASSERT_TRUE(empty_caps.has_value());
  EXPECT_EQ(empty_caps->hourly_cap, 0);
  EXPECT_EQ(empty_caps->daily_cap, 0);
}

TEST(ParseNumberSpecTest, RejectsTheFirstBadField) {
  const std::string long_carrier(65, 'c');
  ExpectAllRejected(
      {
          {{}, "caller_id"},
          {{{"carrier", "AT&T"}}, "caller_id"},
          {{{"caller_id", "555-1234"}}, "caller_id"},
          {{{"caller_id", "912125551234"}}, "caller_id"},
          {{{"caller_id", "1115551234"}}, "caller_id"},
          // Two values of one field: which was meant cannot be told (the HTTP review's
          // `-d caller_id=A -d caller_id=B` added B alone).
          {{{"caller_id", "2125551234"}, {"caller_id", "2125551235"}}, "caller_id"},
          {{{"caller_id", "2125551234"}, {"pool", "a"}, {"pool", "b"}}, "pool"},
          {{{"caller_id", "2125551234"}, {"area_code", "310"}}, "area_code"},
          {{{"caller_id", "2125551234"}, {"area_code", "21"}}, "area_code"},
          {{{"caller_id", "2125551234"}, {"area_code", "abc"}}, "area_code"},
          {{{"caller_id", "2125551234"}, {"carrier", long_carrier.c_str()}}, "carrier"},
          {{{"caller_id", "2125551234"}, {"carrier", "bad\ncarrier"}}, "carrier"},
          {{{"caller_id", "2125551234"}, {"carrier", "bad\xc3\x28"}}, "carrier"},  // not UTF-8
          {{{"caller_id", "2125551234"}, {"carrier", "cut\xe2\x82"}}, "carrier"},
          {{{"caller_id", "2125551234"}, {"carrier", "\xed\xa0\x80"}}, "carrier"},  // surrogate
          {{{"caller_id", "2125551234"}, {"hourly_limit", "0"}}, "hourly_limit"},
          {{{"caller_id", "2125551234"}, {"hourly_limit", "65536"}}, "hourly_limit"},
          {{{"caller_id", "2125551234"}, {"hourly_limit", "ten"}}, "hourly_limit"},
          {{{"caller_id", "2125551234"}, {"hourly_limit", "1.5"}}, "hourly_limit"},
          {{{"caller_id", "2125551234"}, {"daily_limit", "-1"}}, "daily_limit"},
          {{{"caller_id", "2125551234"}, {"hourly_limit", "x"}, {"daily_limit", "y"}},
           "hourly_limit"},
          {{{"caller_id", "2125551234"}, {"pool", "east coast"}}, "pool"},
          {{{"caller_id", "2125551234"}, {"pool", "a@b"}}, "pool"},
          {{{"caller_id", "2125551234"}, {"state", "NYC"}}, "state"},
          {{{"caller_id", "2125551234"}, {"state", "N1"}}, "state"},
          {{{"caller_id", "2125551234"}, {"active", "maybe"}}, "active"},
          // A misspelt name is refused (it was ignored: the number ran at the default cap).
          {{{"caller_id", "2125551234"}, {"hourly_limt", "5"}}, "hourly_limt"},
          {{{"caller_id", "2125551234"}, {"rest_until", "2030-01-01T00:00:00Z"}}, "rest_until"},
          {{{"caller_id", "2125551234"}, {"bad name", "1"}}, "body"},
      },
      ParseNumberSpec);
}

TEST(ParseNumberSpecTest, ContradictingAreaCodeSaysSo) {
  auto spec = ParseNumberSpec(MakeParams({{"caller_id", "2125551234"}, {"area_code", "310"}}));
  ASSERT_FALSE(spec.has_value());
  EXPECT_EQ(spec.error().detail(), "area code contradicts the number");
}

// ---- ParseNumberPatch ----------------------------------------------------------------------

// PATCHes are parsed at 2026-11-27T00:00:00Z.
core::Result<core::NumberPatch> Patch(const Params& params) {
  return ParseNumberPatch(params, core::TimePoint(core::Seconds(1'795'737'600)));
}

TEST(ParseNumberPatchTest, SetsOnlyTheGivenFields) {
  auto deactivate = Patch(MakeParams({{"active", "false"}}));
  ASSERT_TRUE(deactivate.has_value());
  EXPECT_EQ(deactivate->active, false);
  EXPECT_FALSE(deactivate->carrier.has_value());
  EXPECT_FALSE(deactivate->pool.has_value());
  EXPECT_FALSE(deactivate->state.has_value());
  EXPECT_FALSE(deactivate->hourly_cap.has_value());
  EXPECT_FALSE(deactivate->daily_cap.has_value());

  auto caps = Patch(MakeParams({{"hourly_limit", "20"}, {"daily_limit", "default"}}));
  ASSERT_TRUE(caps.has_value());
  EXPECT_EQ(caps->hourly_cap, 20);
  EXPECT_EQ(caps->daily_cap, 0);  // back to the configured default

  auto everything = Patch(MakeParams({{"carrier", "Verizon"},
                                      {"pool", "west"},
                                      {"state", "ca"},
                                      {"hourly_limit", "0"},
                                      {"daily_limit", "500"},
                                      {"active", "1"}}));
  ASSERT_TRUE(everything.has_value());
  EXPECT_EQ(everything->carrier, "Verizon");
  EXPECT_EQ(everything->pool, "west");
  EXPECT_EQ(everything->state, "CA");
  EXPECT_EQ(everything->hourly_cap, 0);
  EXPECT_EQ(everything->daily_cap, 500);
  EXPECT_EQ(everything->active, true);
}

// The one way to take a wrong carrier or state off a number: give it empty.
TEST(ParseNumberPatchTest, AnEmptyCarrierOrStateClearsIt) {
  auto cleared = Patch(MakeParams({{"carrier", ""}, {"state", ""}}));
  ASSERT_TRUE(cleared.has_value()) << cleared.error().ToString();
  EXPECT_EQ(cleared->carrier, "");
  EXPECT_EQ(cleared->state, "");
  EXPECT_FALSE(cleared->pool.has_value());  // an empty pool or cap is still absent
  auto carrier_only = Patch(MakeParams({{"carrier", ""}, {"pool", ""}}));
  ASSERT_TRUE(carrier_only.has_value());
  EXPECT_EQ(carrier_only->carrier, "");
  EXPECT_FALSE(carrier_only->state.has_value());
  EXPECT_FALSE(carrier_only->pool.has_value());
}

TEST(ParseNumberPatchTest, RestsUntilAnIsoTimeOrEndsARest) {
  auto rest = Patch(MakeParams({{"rest_until", "2026-11-28T09:00:00Z"}}));
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(rest->rest_until, 1'795'856'400 - 1'577'836'800);
  EXPECT_FALSE(rest->active.has_value());
  auto end = Patch(MakeParams({{"rest_until", "none"}}));
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->rest_until, 0u);
  auto bad = Patch(MakeParams({{"rest_until", "2026-11-28"}}));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field(), "rest_until");
  // A rest until a past time (or now) is refused: it would only start a probation.
  for (const char* past :
       {"2026-11-26T10:00:00Z", "2026-11-27T00:00:00Z", "2025-11-28T09:00:00Z"}) {
    auto refused = Patch(MakeParams({{"rest_until", past}}));
    ASSERT_FALSE(refused.has_value()) << past;
    EXPECT_EQ(refused.error().field(), "rest_until") << past;
    EXPECT_NE(refused.error().detail().find("not in the future"), std::string::npos) << past;
  }
  EXPECT_TRUE(Patch(MakeParams({{"rest_until", "2026-11-27T00:00:01Z"}})).has_value());
}

TEST(ParseNumberPatchTest, RejectsTheFirstBadField) {
  const std::string long_name(65, 'x');
  ExpectAllRejected(
      {
          {{}, "body"},
          {{{"active", ""}}, "body"},
          {{{"caller_id", "2125551234"}}, "caller_id"},  // the number comes from the path
          // A misspelt or unknown name is refused, also beside a valid one (it was ignored).
          {{{"active", "true"}, {"hourly_limt", "5"}}, "hourly_limt"},
          {{{"resting_until", "2026-12-01T00:00:00Z"}}, "resting_until"},
          {{{"active", "true"}, {long_name.c_str(), "1"}}, "body"},  // too long to show
          {{{"bad name", "1"}}, "body"},
          {{{"carrier", "bad\x01"}}, "carrier"},
          {{{"hourly_limit", "65536"}}, "hourly_limit"},
          {{{"daily_limit", "lots"}}, "daily_limit"},
          {{{"pool", "a b"}}, "pool"},
          {{{"state", "California"}}, "state"},
          {{{"active", "sometimes"}}, "active"},
      },
      Patch);
}

// ---- ParseNumberFilter ---------------------------------------------------------------------

TEST(ParseNumberFilterTest, DefaultsAndFilters) {
  auto defaults = ParseNumberFilter(Params());
  ASSERT_TRUE(defaults.has_value());
  EXPECT_FALSE(defaults->area_code.has_value());
  EXPECT_FALSE(defaults->pool.has_value());
  EXPECT_FALSE(defaults->active.has_value());
  EXPECT_FALSE(defaults->resting.has_value());
  EXPECT_EQ(defaults->offset, 0u);
  EXPECT_EQ(defaults->limit, 100u);

  auto all = ParseNumberFilter(MakeParams({{"area_code", "212"},
                                           {"pool", "east"},
                                           {"active", "true"},
                                           {"resting", "yes"},
                                           {"offset", "200"},
                                           {"limit", "1000"}}));
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->area_code, 212u);
  EXPECT_EQ(all->resting, true);
  EXPECT_EQ(all->pool, "east");
  EXPECT_EQ(all->active, true);
  EXPECT_EQ(all->offset, 200u);
  EXPECT_EQ(all->limit, 1000u);
}

TEST(ParseNumberFilterTest, RejectsTheFirstBadField) {
  ExpectAllRejected(
      {
          {{{"area_code", "111"}}, "area_code"},
          {{{"area_code", "2125"}}, "area_code"},
          {{{"pool", "a b"}}, "pool"},
          {{{"active", "2"}}, "active"},
          {{{"resting", "sometimes"}}, "resting"},
          {{{"offset", "-1"}}, "offset"},
          {{{"limit", "0"}}, "limit"},
          {{{"limit", "1001"}}, "limit"},
          {{{"limit", "many"}}, "limit"},
          {{{"area_code", "1"}, {"limit", "0"}}, "area_code"},
      },
      ParseNumberFilter);
}

// ---- ParseReservationQuery / ParseLogQuery -------------------------------------------------

TEST(ParseReservationQueryTest, DefaultsToLiveReservations) {
  auto defaults = ParseReservationQuery(Params());
  ASSERT_TRUE(defaults.has_value());
  EXPECT_TRUE(defaults->live_only);
  EXPECT_EQ(defaults->limit, 100u);

  auto history = ParseReservationQuery(MakeParams({{"live", "false"}, {"limit", "5"}}));
  ASSERT_TRUE(history.has_value());
  EXPECT_FALSE(history->live_only);
  EXPECT_EQ(history->limit, 5u);
  EXPECT_FALSE(history->before_id.has_value());

  auto page = ParseReservationQuery(MakeParams({{"live", "false"}, {"before_id", "77"}}));
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->before_id, 77u);
}

TEST(ParseReservationQueryTest, RejectsTheFirstBadField) {
  ExpectAllRejected(
      {
          {{{"live", "perhaps"}}, "live"},
          {{{"limit", "0"}}, "limit"},
          {{{"limit", "5000"}}, "limit"},
          {{{"live", "x"}, {"limit", "0"}}, "live"},
          {{{"live", "false"}, {"before_id", "0"}}, "before_id"},
          {{{"live", "false"}, {"before_id", "x"}}, "before_id"},
          // The live reservations are not paged: a cursor there would be ignored.
          {{{"before_id", "5"}}, "before_id"},
      },
      ParseReservationQuery);
}

TEST(ParseLogQueryTest, PagesBackwardsFromAnId) {
  auto defaults = ParseLogQuery(Params());
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->limit, 100u);
  EXPECT_FALSE(defaults->before_id.has_value());

  auto page = ParseLogQuery(MakeParams({{"limit", "50"}, {"before_id", "1234"}}));
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->limit, 50u);
  EXPECT_EQ(page->before_id, 1234u);
}

TEST(ParseLogQueryTest, RejectsTheFirstBadField) {
  ExpectAllRejected(
      {
          {{{"limit", "0"}}, "limit"},
          {{{"limit", "x"}, {"before_id", "y"}}, "limit"},
          {{{"before_id", "0"}}, "before_id"},
          {{{"before_id", "abc"}}, "before_id"},
      },
      ParseLogQuery);
}

// ---- ParseLookupQuery --------------------------------------------------------------------------

TEST(ParseLookupQueryTest, ReadsThePoolNumberAndThePartyAsDialed) {
  auto plain = ParseLookupQuery(MakeParams({{"caller_id", "(212) 555-0100"}}));
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->caller_id.digits(), 2'125'550'100u);
  EXPECT_FALSE(plain->from.has_value());
  EXPECT_EQ(plain->max_depth, store::kLookupMaxDepth);

  EXPECT_EQ(plain->window, store::kLookupDefaultWindow);
  auto week = ParseLookupQuery(MakeParams({{"caller_id", "2125550100"}, {"days", "7"}}));
  ASSERT_TRUE(week.has_value());
  EXPECT_EQ(week->window, std::chrono::hours(24 * 7));

  for (const char* from : {"3105559876", "+1 (310) 555-9876", "13105559876", "310.555.9876"}) {
    auto party = ParseLookupQuery(MakeParams({{"caller_id", "2125550100"}, {"from", from}}));
    ASSERT_TRUE(party.has_value()) << from;
    ASSERT_TRUE(party->from.has_value()) << from;
    EXPECT_EQ(party->from->digits(), 3'105'559'876u) << from;
  }
  auto empty_from = ParseLookupQuery(MakeParams({{"caller_id", "2125550100"}, {"from", ""}}));
  ASSERT_TRUE(empty_from.has_value());  // an empty parameter counts as absent
  EXPECT_FALSE(empty_from->from.has_value());
}

TEST(ParseLookupQueryTest, RejectsTheFirstBadField) {
  ExpectAllRejected(
      {
          {{}, "caller_id"},
          {{{"from", "3105559876"}}, "caller_id"},
          {{{"caller_id", "912125550100"}}, "caller_id"},  // pool numbers take no prefix
          {{{"caller_id", "1125550100"}}, "caller_id"},
          {{{"caller_id", "2125550100"}, {"from", "911"}}, "from"},
          {{{"caller_id", "2125550100"}, {"from", "2121115555"}}, "from"},
          // A caller ID, not a dialled string: an international number is not its last 10
          // digits (+44 20 7234 5678 is no call to 207-234-5678), and carries no dial prefix.
          {{{"caller_id", "2125550100"}, {"from", "+442072345678"}}, "from"},
          {{{"caller_id", "2125550100"}, {"from", "+4532123456"}}, "from"},  // Denmark
          {{{"caller_id", "2125550100"}, {"from", "913105559876"}}, "from"},
          {{{"caller_id", "2125550100"}, {"days", "0"}}, "days"},
          {{{"caller_id", "2125550100"}, {"days", "366"}}, "days"},
          {{{"caller_id", "x"}, {"from", "y"}}, "caller_id"},
      },
      ParseLookupQuery);
}

}  // namespace
}  // namespace cidrotor::service
