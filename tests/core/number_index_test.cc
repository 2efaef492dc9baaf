#include "core/number_index.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "support/matchers.h"

namespace cidrotor::core {
namespace {

using std::chrono::hours;
using testing::HasError;
using testing::IsOk;

// 2026-11-25T14:00:00Z, the start of a UTC hour.
const TimePoint kStart = TimePoint(Seconds(1'795'615'200));

class NumberIndexTest : public ::testing::Test {
 protected:
  NumberIndexTest() : index_(calendar_, IndexOptions{100, 500, Seconds(300)}) {}

  void Add(const std::string& number, std::uint16_t hourly = 0, std::uint16_t daily = 0,
           const std::string& pool = "default", NumberUsage usage = {}) {
    NumberSpec spec;
    spec.caller_id = *PhoneNumber::ParsePoolNumber(number);
    spec.hourly_cap = hourly;
    spec.daily_cap = daily;
    spec.pool = pool;
    ASSERT_THAT(index_.Add(spec, usage, now_), IsOk());
  }

  Result<Allocation> Allocate(const std::string& to, const std::string& pool = "") {
    AllocationRequest request;
    request.destination = *PhoneNumber::ParseDestination(to);
    request.pool = pool;
    return index_.Allocate(request, now_, next_id_++);
  }

  // The caller-ID allocated for `to`, or "" when allocation failed.
  std::string Next(const std::string& to) {
    auto allocation = Allocate(to);
    return allocation ? allocation->reservation.caller_id.ToString() : "";
  }

  Result<ReleaseResult> ReleaseId(std::uint64_t id) {
    ReleaseRequest request;
    request.reservation_id = id;
    return index_.Release(request, now_);
  }

  FixedOffsetCalendar calendar_;
  NumberIndex index_;
  TimePoint now_ = kStart;
  std::uint64_t next_id_ = 1;
};

TEST_F(NumberIndexTest, NeverUsedFirstThenLeastRecentlyUsedTiesByNumber) {
  Add("2125550003");
  Add("2125550001", 0, 0, "default", NumberUsage{ToCompact(kStart) - 50, 0, 0, 0, 0, 0, 0});
  Add("2125550002");
  EXPECT_EQ(Next("2125559999"), "2125550002");  // never used, lowest number
  EXPECT_EQ(Next("2125559999"), "2125550003");
  EXPECT_EQ(Next("2125559999"), "2125550001");  // used before, comes last
}

// A burst of calls that end at once (a carrier's CONGESTION) on a small area code: each number is
// released within the second it was taken. By whole seconds they would all tie, and the lowest
// number would take every call until the second ends; to the millisecond they rotate.
TEST_F(NumberIndexTest, NumbersUsedWithinOneSecondRotateInTheOrderTheyWereUsed) {
  Add("2125550001");  // one exchange...
  Add("2125550002");
  Add("2127770001");  // ...and another: the area code's order compares the exchanges' heads
  std::vector<std::string> picked;
  for (int call = 0; call < 9; ++call) {
    now_ += Milliseconds(40);                  // 9 calls in 360 ms, all within one second
    auto allocation = Allocate("2129999999");  // an exchange of none of them: area_code tier
    ASSERT_THAT(allocation, IsOk());
    picked.push_back(allocation->reservation.caller_id.ToString());
    ASSERT_THAT(ReleaseId(allocation->reservation.id), IsOk());
  }
  EXPECT_EQ(picked, (std::vector<std::string>{"2125550001", "2125550002", "2127770001",
                                              "2125550001", "2125550002", "2127770001",
                                              "2125550001", "2125550002", "2127770001"}));
  EXPECT_EQ(index_.Find(*PhoneNumber::ParsePoolNumber("2127770001"), now_)->usage.last_used_ms,
            360);
}

TEST_F(NumberIndexTest, WithinOneMillisecondTiesAreByNumber) {
  Add("2125550002");
  Add("2125550001");
  now_ += Milliseconds(250);
  auto first = Allocate("2125559999");
  auto second = Allocate("2125559999");
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  ASSERT_THAT(ReleaseId(second->reservation.id), IsOk());
  ASSERT_THAT(ReleaseId(first->reservation.id), IsOk());
  // Both used at 14:00:00.250, released in the other order: the lower number first.
  EXPECT_EQ(Next("2125559999"), "2125550001");
  EXPECT_EQ(Next("2125559999"), "2125550002");
}

TEST_F(NumberIndexTest, AFullIndexRefusesANewNumberAndKeepsTheOthers) {
  IndexOptions options{100, 500, Seconds(300)};
  options.max_numbers = 2;
  NumberIndex small(calendar_, options);
  NumberSpec spec;
  for (const char* number : {"2125550001", "2125550002"}) {
    spec.caller_id = *PhoneNumber::ParsePoolNumber(number);
    ASSERT_THAT(small.Add(spec, {}, now_), IsOk());
  }
  spec.caller_id = *PhoneNumber::ParsePoolNumber("2125550003");
  auto refused = small.Add(spec, {}, now_);
  ASSERT_THAT(refused, HasError(ErrorCode::kConflict));
  EXPECT_EQ(refused.error().field(), "caller_id");
  EXPECT_EQ(small.size(), 2U);
  EXPECT_FALSE(small.Find(spec.caller_id, now_).has_value());
  // A freed slot takes a new number again.
  ASSERT_THAT(small.Remove(*PhoneNumber::ParsePoolNumber("2125550001"), now_), IsOk());
  EXPECT_THAT(small.Add(spec, {}, now_), IsOk());
}

// The start-up path: room made first, then numbers known to be new loaded without a lookup;
// they are found, allocated and replaced as any others.
TEST_F(NumberIndexTest, NumbersLoadedAsNewAfterAReserveAreFoundAndAllocated) {
  NumberIndex loaded(calendar_, IndexOptions{100, 500, Seconds(300)});
  loaded.Reserve(3);
  NumberSpec spec;
  NumberUsage usage;
  usage.last_used = ToCompact(now_) - 60;
  for (const char* number : {"2125550001", "2125550002", "3105550001"}) {
    spec.caller_id = *PhoneNumber::ParsePoolNumber(number);
    ASSERT_THAT(loaded.LoadNew(spec, number[9] == '1' ? usage : NumberUsage{}, now_), IsOk());
  }
  EXPECT_EQ(loaded.size(), 3U);
  const auto found = loaded.Find(*PhoneNumber::ParsePoolNumber("2125550001"), now_);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->usage.last_used, usage.last_used);
  AllocationRequest request;
  request.destination = *PhoneNumber::ParseDestination("2125559999");
  auto allocation = loaded.Allocate(request, now_, 1);
  ASSERT_THAT(allocation, IsOk());
  EXPECT_EQ(allocation->reservation.caller_id.ToString(), "2125550002") << "never used first";
  spec.caller_id = *PhoneNumber::ParsePoolNumber("2125550002");
  spec.carrier = "Verizon";
  ASSERT_THAT(loaded.Load(spec, {}, now_), IsOk()) << "an import's Load replaces it";
  EXPECT_EQ(loaded.size(), 3U);
  EXPECT_EQ(loaded.Find(spec.caller_id, now_)->spec.carrier, "Verizon");
}

TEST_F(NumberIndexTest, ReleasedNumberGoesToTheBackOfTheOrder) {
  Add("2125550001");
  Add("2125550002");
  auto first = Allocate("2125559999");
  ASSERT_THAT(first, IsOk());
  now_ += Seconds(1);
  ASSERT_THAT(ReleaseId(first->reservation.id), IsOk());
  EXPECT_EQ(Next("2125559999"), "2125550002");  // never used beats just released
  now_ += Seconds(1);
  EXPECT_EQ(Next("2125559999"), "2125550001");
}

TEST_F(NumberIndexTest, PrefersSameExchangeThenAreaCodeThenAny) {
  Add("3105550001");  // same area code, other exchange
  Add("3102220001");  // same exchange as the destination
  Add("2125550001");  // other area code
  auto exchange = Allocate("3102229876");
  ASSERT_THAT(exchange, IsOk());
  EXPECT_EQ(exchange->reservation.caller_id.ToString(), "3102220001");
  EXPECT_EQ(exchange->reservation.match, MatchTier::kExchange);
  auto area = Allocate("3102229876");
  ASSERT_THAT(area, IsOk());
  EXPECT_EQ(area->reservation.caller_id.ToString(), "3105550001");
  EXPECT_EQ(area->reservation.match, MatchTier::kAreaCode);
  auto any = Allocate("3102229876");
  ASSERT_THAT(any, IsOk());
  EXPECT_EQ(any->reservation.caller_id.ToString(), "2125550001");
  EXPECT_EQ(any->reservation.match, MatchTier::kAny);
  EXPECT_THAT(Allocate("3102229876"), HasError(ErrorCode::kNoCallerIdAvailable));
}

TEST_F(NumberIndexTest, PrefersSameAreaCodeThenSameStateThenAny) {
  Add("2125550001");  // New York: another state than the destination's
  Add("4155550001", 0, 0, "default",
      NumberUsage{ToCompact(kStart) - 5, 0, 0, 0, 0, 0, 0});  // California
  Add("2135550001", 0, 0, "default",
      NumberUsage{ToCompact(kStart) - 9, 0, 0, 0, 0, 0, 0});  // California
  Add("3105550001");
  auto area = Allocate("3104449876");
  ASSERT_THAT(area, IsOk());
  EXPECT_EQ(area->reservation.caller_id.ToString(), "3105550001");
  EXPECT_EQ(area->reservation.match, MatchTier::kAreaCode);
  // Los Angeles' 310 has no number left: California's others, least recently used first.
  auto state = Allocate("3104449876");
  ASSERT_THAT(state, IsOk());
  EXPECT_EQ(state->reservation.caller_id.ToString(), "2135550001");
  EXPECT_EQ(state->reservation.match, MatchTier::kState);
  EXPECT_EQ(Next("3104449876"), "4155550001");
  auto any = Allocate("3104449876");
  ASSERT_THAT(any, IsOk());
  EXPECT_EQ(any->reservation.caller_id.ToString(), "2125550001");
  EXPECT_EQ(any->reservation.match, MatchTier::kAny);
}

TEST_F(NumberIndexTest, StateTierTakesNoNumberOfAnotherPool) {
  Add("2135550001", 0, 0, "sales");
  Add("2125550001");
  auto allocation = Allocate("3104449876");
  ASSERT_THAT(allocation, IsOk());
  EXPECT_EQ(allocation->reservation.caller_id.ToString(), "2125550001");
  EXPECT_EQ(allocation->reservation.match, MatchTier::kAny);
}

// The sticky tier: an index whose leads keep their number for a day.
class StickyIndexTest : public NumberIndexTest {
 protected:
  StickyIndexTest() : sticky_(calendar_, IndexOptions{65535, 65535, Seconds(300), hours(24)}) {}

  void Add(const std::string& number, const std::string& pool = "default") {
    NumberSpec spec;
    spec.caller_id = *PhoneNumber::ParsePoolNumber(number);
    spec.pool = pool;
    ASSERT_THAT(sticky_.Add(spec, {}, now_), IsOk());
  }

  Result<Allocation> ForLead(std::uint64_t lead, const std::string& pool = "") {
    AllocationRequest request;
    request.destination = *PhoneNumber::ParseDestination("2125559876");
    request.pool = pool;
    request.lead_id = lead;
    return sticky_.Allocate(request, now_, next_id_++);
  }

  void End(const Result<Allocation>& allocation) {
    ASSERT_THAT(allocation, IsOk());
    ReleaseRequest request;
    request.reservation_id = allocation->reservation.id;
    ASSERT_TRUE(sticky_.Release(request, now_)->released);
    now_ += Seconds(10);
  }

  NumberIndex sticky_;
};

TEST_F(StickyIndexTest, ALeadGetsTheNumberItWasGivenBefore) {
  Add("2125550001");
  Add("2125550002");
  auto first = ForLead(42);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->reservation.caller_id.ToString(), "2125550001");
  EXPECT_EQ(first->reservation.match, MatchTier::kExchange);
  End(first);
  // 0002 was never used, so the ladder would take it: the lead's own number comes first.
  auto again = ForLead(42);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->reservation.caller_id.ToString(), "2125550001");
  EXPECT_EQ(again->reservation.match, MatchTier::kSticky);
  EXPECT_EQ(sticky_.sticky_leads(), 1U);
}

TEST_F(StickyIndexTest, AnUnavailableStickyNumberFallsBackToTheLadderAndIsReplaced) {
  Add("2125550001");
  Add("2125550002");
  auto first = ForLead(42);
  ASSERT_THAT(first, IsOk());  // 0001 stays reserved
  auto second = ForLead(42);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->reservation.caller_id.ToString(), "2125550002");
  EXPECT_EQ(second->reservation.match, MatchTier::kExchange);
  End(first);
  End(second);
  auto third = ForLead(42);  // the lead's number is now the one it was given last
  ASSERT_THAT(third, IsOk());
  EXPECT_EQ(third->reservation.caller_id.ToString(), "2125550002");
  EXPECT_EQ(third->reservation.match, MatchTier::kSticky);
}

TEST_F(StickyIndexTest, ALeadIsForgottenAfterTheWindow) {
  Add("2125550001");
  Add("2125550002");
  End(ForLead(42));
  now_ += hours(24);
  auto later = ForLead(42);
  ASSERT_THAT(later, IsOk());
  EXPECT_EQ(later->reservation.caller_id.ToString(), "2125550002");
  EXPECT_EQ(later->reservation.match, MatchTier::kExchange);
  EXPECT_EQ(sticky_.sticky_leads(), 1U);  // the first entry went; the new one is remembered
}

TEST_F(StickyIndexTest, ALeadKeepsANumberPerPool) {
  Add("2125550001");
  Add("2125550002", "sales");
  Add("2125550003", "sales");
  End(ForLead(42));
  auto sales = ForLead(42, "sales");
  ASSERT_THAT(sales, IsOk());
  EXPECT_EQ(sales->reservation.caller_id.ToString(), "2125550002");
  EXPECT_EQ(sales->reservation.match, MatchTier::kExchange);
  End(sales);
  auto back = ForLead(42);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->reservation.caller_id.ToString(), "2125550001");
  EXPECT_EQ(back->reservation.match, MatchTier::kSticky);
}

TEST_F(StickyIndexTest, RestoredLeadsAreStickyAndOldOnesAreIgnored) {
  Add("2125550001");
  Add("2125550002");
  Add("2125550003");
  const auto number = [](const char* digits) { return *PhoneNumber::ParsePoolNumber(digits); };
  sticky_.RestoreLead("default", 42, number("2125550003"), now_ - hours(2), now_);
  sticky_.RestoreLead("default", 7, number("2125550002"), now_ - hours(25), now_);
  sticky_.RestoreLead("nosuchpool", 9, number("2125550002"), now_ - hours(1), now_);
  EXPECT_EQ(sticky_.sticky_leads(), 1U);
  auto restored = ForLead(42);
  ASSERT_THAT(restored, IsOk());
  EXPECT_EQ(restored->reservation.caller_id.ToString(), "2125550003");
  EXPECT_EQ(restored->reservation.match, MatchTier::kSticky);
  auto expired = ForLead(7);
  ASSERT_THAT(expired, IsOk());
  EXPECT_EQ(expired->reservation.caller_id.ToString(), "2125550001");
  EXPECT_EQ(expired->reservation.match, MatchTier::kExchange);
}

TEST_F(StickyIndexTest, ADeletedStickyNumberIsNotGivenAgain) {
  Add("2125550001");
  Add("2125550002");
  End(ForLead(42));
  ASSERT_THAT(sticky_.Remove(*PhoneNumber::ParsePoolNumber("2125550001"), now_), IsOk());
  auto next = ForLead(42);
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->reservation.caller_id.ToString(), "2125550002");
  EXPECT_EQ(next->reservation.match, MatchTier::kExchange);
}

TEST_F(StickyIndexTest, ALeadIsQueuedOnceHoweverOftenItIsCalledAndForgottenAfterItsWindow) {
  Add("2125550001");
  Add("2125550002");
  Add("2125550003");
  for (int i = 0; i < 1000; ++i) End(ForLead(42));
  End(ForLead(7));
  EXPECT_EQ(sticky_.sticky_leads(), 2U);
  EXPECT_EQ(sticky_.sticky_queued(), 2U);
  now_ += hours(12);
  End(ForLead(42));  // 42's window starts again; 7's does not
  now_ += hours(13);
  auto seven = ForLead(7);
  ASSERT_THAT(seven, IsOk());
  EXPECT_NE(seven->reservation.match, MatchTier::kSticky);
  End(seven);
  auto forty_two = ForLead(42);
  ASSERT_THAT(forty_two, IsOk());
  EXPECT_EQ(forty_two->reservation.match, MatchTier::kSticky);
  EXPECT_EQ(sticky_.sticky_leads(), 2U);  // 7 again, with its new number
}

// A sticky number is taken from the middle of its exchange's order, over and over, while the
// order's front stays: the entries it leaves behind are dropped, and the order stays right.
TEST_F(StickyIndexTest, TakingTheSameNumberOverAndOverKeepsTheOrderSmallAndRight) {
  Add("2125550001");
  Add("2125550002");
  End(ForLead(42));  // 0001: the lead's number, more recently used than 0002 from now on
  for (int i = 0; i < 70'000; ++i) {  // past the 16-bit generation of its order entries
    auto again = ForLead(42);
    ASSERT_THAT(again, IsOk());
    ASSERT_EQ(again->reservation.match, MatchTier::kSticky);
    End(again);
  }
  EXPECT_LE(sticky_.order_entries(), 2U + 17U);
  auto other = ForLead(7);
  ASSERT_THAT(other, IsOk());
  EXPECT_EQ(other->reservation.caller_id.ToString(), "2125550002");  // never used: first
  auto last = ForLead(8);
  ASSERT_THAT(last, IsOk());
  EXPECT_EQ(last->reservation.caller_id.ToString(), "2125550001");
  auto none = ForLead(9);
  EXPECT_FALSE(none.has_value());
}

TEST_F(NumberIndexTest, WithoutAStickyWindowLeadsTakeTheLadder) {
  Add("2125550001");
  Add("2125550002");
  AllocationRequest request;
  request.destination = *PhoneNumber::ParseDestination("2125559876");
  request.lead_id = 42;
  auto first = index_.Allocate(request, now_, next_id_++);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(ReleaseId(first->reservation.id), IsOk());
  auto second = index_.Allocate(request, now_ + Seconds(5), next_id_++);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->reservation.caller_id.ToString(), "2125550002");
  EXPECT_EQ(index_.sticky_leads(), 0U);
}

TEST_F(NumberIndexTest, AreaCodeTierTakesLeastRecentlyUsedAcrossExchanges) {
  Add("3105550001", 0, 0, "default", NumberUsage{ToCompact(kStart) - 10, 0, 0, 0, 0, 0, 0});
  Add("3102220001", 0, 0, "default", NumberUsage{ToCompact(kStart) - 20, 0, 0, 0, 0, 0, 0});
  Add("3107770001", 0, 0, "default", NumberUsage{ToCompact(kStart) - 5, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(Next("3104449876"), "3102220001");
  EXPECT_EQ(Next("3104449876"), "3105550001");
  EXPECT_EQ(Next("3104449876"), "3107770001");
}

TEST_F(NumberIndexTest, TollFreeDestinationOnlyMatchesAny) {
  Add("8005550001");
  Add("2125550001", 0, 0, "default", NumberUsage{ToCompact(kStart) - 5, 0, 0, 0, 0, 0, 0});
  auto allocation = Allocate("8005559999");
  ASSERT_THAT(allocation, IsOk());
  EXPECT_EQ(allocation->reservation.match, MatchTier::kAny);
  EXPECT_EQ(allocation->reservation.caller_id.ToString(), "8005550001");  // LRU, not "same NPA"
}

TEST_F(NumberIndexTest, PoolsAreIsolated) {
  Add("2125550001", 0, 0, "sales");
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  EXPECT_THAT(Allocate("2125559999", "sales"), IsOk());
  EXPECT_THAT(Allocate("2125559999", "nope"), HasError(ErrorCode::kNoCallerIdAvailable));
}

TEST_F(NumberIndexTest, ReservationExpiresAfterTtl) {
  Add("2125550001");
  auto first = Allocate("2125559999");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->reservation.reserved_until, kStart + Seconds(300));
  now_ += Seconds(299);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  now_ += Seconds(1);
  auto second = Allocate("2125559999");
  ASSERT_THAT(second, IsOk());
  EXPECT_NE(second->reservation.id, first->reservation.id);
  // The first reservation has ended: releasing it now is a no-op.
  auto late = ReleaseId(first->reservation.id);
  ASSERT_THAT(late, IsOk());
  EXPECT_FALSE(late->released);
}

// Early releases leave their queued ends behind until the TTL passes; they are dropped once they
// outnumber the live reservations, so memory follows the live reservations, not allocation rate x
// TTL. The live ones still end on time, also one queued out of order (a shorter TTL).
TEST_F(NumberIndexTest, EndsOfEarlyReleasesAreDroppedAndLiveOnesStillExpire) {
  Add("2125550001", 60000, 60000);
  Add("3105550001", 60000, 60000);
  auto held = Allocate("3105559999");
  ASSERT_THAT(held, IsOk());
  AllocationRequest short_ttl;
  short_ttl.destination = *PhoneNumber::ParseDestination("2125559999");
  for (int i = 0; i < 50'000; ++i) {
    if (i % 1000 == 0) now_ += Seconds(1);
    auto call = Allocate("2125559999");
    ASSERT_THAT(call, IsOk()) << "call " << i;
    ASSERT_THAT(ReleaseId(call->reservation.id), IsOk());
    ASSERT_LE(index_.queued_expiries(), 2 + NumberIndex::kExpiryCompaction + 1) << "call " << i;
  }
  short_ttl.ttl = Seconds(10);  // ends before `held`: queued out of order
  auto brief = index_.Allocate(short_ttl, now_, next_id_++);
  ASSERT_THAT(brief, IsOk());
  now_ = held->reservation.reserved_until;
  EXPECT_EQ(Next("3105559999"), "3105550001");  // `held` ended on time
  EXPECT_EQ(Next("2125559999"), "2125550001");  // and so did `brief`
}

TEST_F(NumberIndexTest, SubSecondRequestTimeRoundsReservationEndUp) {
  Add("2125550001");
  now_ += Milliseconds(400);
  auto first = Allocate("2125559999");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->reservation.reserved_until, kStart + Seconds(301));
  now_ = kStart + Seconds(300) + Milliseconds(999);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  now_ = kStart + Seconds(301);
  EXPECT_THAT(Allocate("2125559999"), IsOk());
}

TEST_F(NumberIndexTest, EarlyReleaseByIdOrCallerIdIsIdempotent) {
  Add("2125550001");
  auto first = Allocate("2125559999");
  ASSERT_THAT(first, IsOk());
  auto released = ReleaseId(first->reservation.id);
  ASSERT_THAT(released, IsOk());
  EXPECT_TRUE(released->released);
  ASSERT_TRUE(released->reservation);
  EXPECT_EQ(released->reservation->id, first->reservation.id);
  EXPECT_FALSE(ReleaseId(first->reservation.id)->released);

  auto second = Allocate("2125559999");
  ASSERT_THAT(second, IsOk());
  ReleaseRequest by_number;
  by_number.caller_id = second->reservation.caller_id;
  EXPECT_TRUE(index_.Release(by_number, now_)->released);
  EXPECT_FALSE(index_.Release(by_number, now_)->released);
}

TEST_F(NumberIndexTest, ReleaseErrors) {
  Add("2125550001");
  EXPECT_THAT(index_.Release(ReleaseRequest{}, now_), HasError(ErrorCode::kInvalidArgument));
  ReleaseRequest unknown;
  unknown.caller_id = *PhoneNumber::ParsePoolNumber("3105550001");
  EXPECT_THAT(index_.Release(unknown, now_), HasError(ErrorCode::kNotFound));
  EXPECT_FALSE(ReleaseId(12345)->released);
}

TEST_F(NumberIndexTest, ReleaseByIdOfAnotherNumberEndsNothing) {
  Add("2125550001");
  Add("2125550002");
  auto first = Allocate("2125559999");
  ASSERT_THAT(first, IsOk());
  ReleaseRequest mismatched;
  mismatched.reservation_id = first->reservation.id;
  mismatched.caller_id = *PhoneNumber::ParsePoolNumber("2125550002");
  EXPECT_FALSE(index_.Release(mismatched, now_)->released);
  EXPECT_TRUE(index_.Find(first->reservation.caller_id, now_)->reserved);
}

TEST_F(NumberIndexTest, HourlyCapHoldsUntilTheNextHour) {
  Add("2125550001", 2, 100);
  for (int i = 0; i < 2; ++i) {
    auto a = Allocate("2125559999");
    ASSERT_THAT(a, IsOk());
    ASSERT_TRUE(ReleaseId(a->reservation.id)->released);
    now_ += Seconds(1);
  }
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  auto view = index_.Find(*PhoneNumber::ParsePoolNumber("2125550001"), now_);
  EXPECT_EQ(view->hourly_used_now, 2);
  EXPECT_FALSE(view->available);
  now_ = kStart + hours(1) - Milliseconds(1);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  now_ = kStart + hours(1);
  EXPECT_THAT(Allocate("2125559999"), IsOk());
  EXPECT_EQ(index_.Find(*PhoneNumber::ParsePoolNumber("2125550001"), now_)->hourly_used_now, 1);
}

TEST_F(NumberIndexTest, DailyCapHoldsUntilTheNextDay) {
  Add("2125550001", 100, 3);
  for (int i = 0; i < 3; ++i) {
    now_ = kStart + hours(i);  // different hours, same day
    auto a = Allocate("2125559999");
    ASSERT_THAT(a, IsOk());
    ASSERT_TRUE(ReleaseId(a->reservation.id)->released);
  }
  now_ = kStart + hours(5);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  now_ = kStart + hours(10);  // 2026-11-26T00:00Z: the next UTC day
  auto next_day = Allocate("2125559999");
  EXPECT_THAT(next_day, IsOk());
  EXPECT_EQ(index_.Find(*PhoneNumber::ParsePoolNumber("2125550001"), now_)->daily_used_now, 1);
}

TEST_F(NumberIndexTest, DefaultCapsApplyToNumbersWithoutTheirOwn) {
  NumberIndex strict(calendar_, IndexOptions{1, 1, Seconds(5)});
  NumberSpec spec;
  spec.caller_id = *PhoneNumber::ParsePoolNumber("2125550001");
  ASSERT_THAT(strict.Add(spec, {}, now_), IsOk());
  AllocationRequest request;
  request.destination = *PhoneNumber::ParseDestination("2125559999");
  auto first = strict.Allocate(request, now_, 1);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->reservation.reserved_until, now_ + Seconds(5));
  EXPECT_THAT(strict.Allocate(request, now_ + Seconds(10), 2),
              HasError(ErrorCode::kNoCallerIdAvailable));
}

TEST_F(NumberIndexTest, DeactivatedNumberIsNotAllocatedUntilReactivated) {
  Add("2125550001");
  const PhoneNumber number = *PhoneNumber::ParsePoolNumber("2125550001");
  NumberPatch off;
  off.active = false;
  ASSERT_THAT(index_.Update(number, off, now_), IsOk());
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  NumberPatch on;
  on.active = true;
  ASSERT_THAT(index_.Update(number, on, now_), IsOk());
  EXPECT_THAT(Allocate("2125559999"), IsOk());
}

TEST_F(NumberIndexTest, DeactivatingAReservedNumberKeepsItOutAfterExpiry) {
  Add("2125550001");
  ASSERT_THAT(Allocate("2125559999"), IsOk());
  NumberPatch off;
  off.active = false;
  ASSERT_THAT(index_.Update(*PhoneNumber::ParsePoolNumber("2125550001"), off, now_), IsOk());
  now_ += Seconds(600);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  EXPECT_TRUE(index_.LiveReservations().empty());
}

TEST_F(NumberIndexTest, MovingANumberToAnotherPool) {
  Add("2125550001");
  NumberPatch move;
  move.pool = "sales";
  ASSERT_THAT(index_.Update(*PhoneNumber::ParsePoolNumber("2125550001"), move, now_), IsOk());
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  EXPECT_THAT(Allocate("2125559999", "sales"), IsOk());
}

TEST_F(NumberIndexTest, AddExistingIsAConflictAndRemoveEndsTheReservation) {
  Add("2125550001");
  NumberSpec again;
  again.caller_id = *PhoneNumber::ParsePoolNumber("2125550001");
  EXPECT_THAT(index_.Add(again, {}, now_), HasError(ErrorCode::kConflict));
  auto a = Allocate("2125559999");
  ASSERT_THAT(a, IsOk());
  auto removed = index_.Remove(again.caller_id, now_);
  ASSERT_THAT(removed, IsOk());
  ASSERT_TRUE(removed->has_value());
  EXPECT_EQ((*removed)->id, a->reservation.id);
  EXPECT_FALSE(ReleaseId(a->reservation.id)->released);
  EXPECT_THAT(index_.Remove(again.caller_id, now_), HasError(ErrorCode::kNotFound));
  EXPECT_EQ(index_.size(), 0u);
  now_ += Seconds(600);  // its parked entry comes due and must be skipped
  index_.Advance(now_);
  Add("2125550001");  // the slot is reused cleanly
  EXPECT_THAT(Allocate("2125559999"), IsOk());
}

TEST_F(NumberIndexTest, RestoredReservationHoldsTheNumberUntilItEnds) {
  Add("2125550001");
  Reservation restored;
  restored.id = 77;
  restored.caller_id = *PhoneNumber::ParsePoolNumber("2125550001");
  restored.reserved_at = now_ - Seconds(10);
  restored.reserved_until = now_ + Seconds(20);
  ASSERT_THAT(index_.Restore(restored, now_), IsOk());
  EXPECT_THAT(index_.Restore(restored, now_), HasError(ErrorCode::kConflict));
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  EXPECT_TRUE(ReleaseId(77)->released);
  EXPECT_THAT(Allocate("2125559999"), IsOk());
}

TEST_F(NumberIndexTest, ListFiltersPagesAndSortsByNumber) {
  Add("3105550002");
  Add("2125550001", 0, 0, "sales");
  Add("3105550001");
  NumberQuery all;
  all.limit = 2;
  NumberList page = index_.List(all, now_);
  EXPECT_EQ(page.total, 3u);
  ASSERT_EQ(page.numbers.size(), 2u);
  EXPECT_EQ(page.numbers[0].spec.caller_id.ToString(), "2125550001");
  EXPECT_EQ(page.numbers[1].spec.caller_id.ToString(), "3105550001");
  all.offset = 2;
  EXPECT_EQ(index_.List(all, now_).numbers.at(0).spec.caller_id.ToString(), "3105550002");
  NumberQuery area;
  area.area_code = 310;
  EXPECT_EQ(index_.List(area, now_).total, 2u);
  NumberQuery pool;
  pool.pool = "sales";
  EXPECT_EQ(index_.List(pool, now_).total, 1u);
  // After a page's last number: the numbers above it, counted from there.
  NumberQuery after;
  after.after = 2125550001;
  after.limit = 1;
  page = index_.List(after, now_);
  EXPECT_EQ(page.total, 2u);
  ASSERT_EQ(page.numbers.size(), 1u);
  EXPECT_EQ(page.numbers[0].spec.caller_id.ToString(), "3105550001");
  after.area_code = 310;
  after.after = 3105550001;
  EXPECT_EQ(index_.List(after, now_).numbers.at(0).spec.caller_id.ToString(), "3105550002");
}

// A listing read in slices, the caller's lock let go between them: a number deleted meanwhile is
// left out of the page, one deleted and added again (another record slot) is found by its digits.
TEST_F(NumberIndexTest, ListInSlicesSurvivesChangesBetweenSlices) {
  Add("2125550001");
  Add("2125550002");
  Add("2125550003");
  NumberQuery all;
  PartialList partial;
  EXPECT_FALSE(index_.ListSlice(all, partial, 2, now_));
  ASSERT_THAT(index_.Remove(*PhoneNumber::ParsePoolNumber("2125550001"), now_), IsOk());
  ASSERT_THAT(index_.Remove(*PhoneNumber::ParsePoolNumber("2125550002"), now_), IsOk());
  Add("2125550004");  // takes a freed slot
  Add("2125550002");  // back, in another slot
  EXPECT_TRUE(index_.ListSlice(all, partial, 2, now_));
  NumberIndex::SortPage(all, partial);
  const NumberList list = index_.FinishList(all, partial, now_);
  std::vector<std::string> listed;
  for (const auto& view : list.numbers) listed.push_back(view.spec.caller_id.ToString());
  // 0001 was read and is gone; 0002 was read and is back; 0004 came after its slot was read.
  EXPECT_EQ(listed, (std::vector<std::string>{"2125550002", "2125550003"}));
  NumberQuery none;
  none.pool = "nowhere";
  PartialList empty;
  EXPECT_TRUE(index_.ListSlice(none, empty, 2, now_));
  EXPECT_EQ(index_.FinishList(none, empty, now_).total, 0U);
}

TEST_F(NumberIndexTest, CountsReportReservedCappedAndAvailable) {
  Add("2125550001", 1, 10);
  Add("2125550002");
  Add("3105550001");
  auto a = Allocate("2125559999");  // 2125550001: reserved and at its hourly cap
  ASSERT_THAT(a, IsOk());
  ASSERT_TRUE(ReleaseId(a->reservation.id)->released);  // now only capped
  ASSERT_THAT(Allocate("2125559999"), IsOk());          // 2125550002 reserved
  IndexCounts counts = index_.Counts(now_);
  EXPECT_EQ(counts.total, 3u);
  EXPECT_EQ(counts.reserved, 1u);
  EXPECT_EQ(counts.capped, 1u);
  EXPECT_EQ(counts.available, 1u);
  ASSERT_EQ(counts.area_codes.size(), 2u);
  EXPECT_EQ(counts.area_codes[0].area_code, 212u);
  EXPECT_EQ(counts.area_codes[0].available, 0u);
}

TEST_F(NumberIndexTest, CountsReportEachPoolByNameAndNoResting) {
  Add("2125550001", 0, 0, "sales");
  Add("2125550002", 0, 0, "sales");
  Add("3105550001", 0, 0, "north");
  Add("3105550002");
  ASSERT_THAT(Allocate("2125559999", "sales"), IsOk());
  NumberPatch deactivate;
  deactivate.active = false;
  ASSERT_THAT(index_.Update(*PhoneNumber::ParsePoolNumber("3105550001"), deactivate, now_), IsOk());
  const IndexCounts counts = index_.Counts(now_);
  ASSERT_EQ(counts.pools.size(), 3u);
  EXPECT_EQ(counts.pools[0].pool, "default");
  EXPECT_EQ(counts.pools[0].available, 1u);
  EXPECT_EQ(counts.pools[1].pool, "north");
  EXPECT_EQ(counts.pools[1].total, 1u);
  EXPECT_EQ(counts.pools[1].active, 0u);
  EXPECT_EQ(counts.pools[1].available, 0u);
  EXPECT_EQ(counts.pools[2].pool, "sales");
  EXPECT_EQ(counts.pools[2].total, 2u);
  EXPECT_EQ(counts.pools[2].available, 1u);
  EXPECT_EQ(counts.resting, 0u);  // nothing rests until the spam-label guard rests numbers
}

// GetStats counts in slices (the store's lock released in between): one slot at a time gives
// what one pass gives.
TEST_F(NumberIndexTest, CountsInSlicesAddUpToTheWholeCount) {
  Add("2125550001", 0, 0, "sales");
  Add("2125550002", 1, 10);
  Add("3105550001", 0, 0, "north");
  Add("3105550002");
  ASSERT_THAT(index_.Remove(*PhoneNumber::ParsePoolNumber("3105550002"), now_), IsOk());  // a gap
  Add("4155550001");
  ASSERT_THAT(Allocate("2125559999"), IsOk());
  const IndexCounts whole = index_.Counts(now_);
  PartialCounts partial;
  int slices = 1;
  while (!index_.CountSlice(partial, 1, now_)) ++slices;
  const IndexCounts sliced = index_.FinishCounts(std::move(partial));
  EXPECT_GE(slices, 4);  // a slot per slice
  EXPECT_EQ(sliced.total, whole.total);
  EXPECT_EQ(sliced.total, 4u);
  EXPECT_EQ(sliced.active, whole.active);
  EXPECT_EQ(sliced.reserved, whole.reserved);
  EXPECT_EQ(sliced.available, whole.available);
  EXPECT_EQ(sliced.capped, whole.capped);
  ASSERT_EQ(sliced.area_codes.size(), whole.area_codes.size());
  for (std::size_t i = 0; i < whole.area_codes.size(); ++i) {
    EXPECT_EQ(sliced.area_codes[i].area_code, whole.area_codes[i].area_code);
    EXPECT_EQ(sliced.area_codes[i].available, whole.area_codes[i].available);
  }
  ASSERT_EQ(sliced.pools.size(), whole.pools.size());
  for (std::size_t i = 0; i < whole.pools.size(); ++i) {
    EXPECT_EQ(sliced.pools[i].pool, whole.pools[i].pool);
    EXPECT_EQ(sliced.pools[i].total, whole.pools[i].total);
    EXPECT_EQ(sliced.pools[i].available, whole.pools[i].available);
  }
}

// Most of an area code reserved: allocation still finds the few left without scanning; reserved
// numbers wait in the expiry queue, not in the parked heap.
TEST_F(NumberIndexTest, MostlyReservedAreaCodeStillAllocates) {
  for (int i = 0; i < 1000; ++i) Add("21255" + std::to_string(50000 + i));
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto a = Allocate("2125559999");
    ASSERT_THAT(a, IsOk());
    ASSERT_TRUE(seen.insert(a->reservation.caller_id.ToString()).second);
  }
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  EXPECT_EQ(index_.parked(), 0u);
  now_ += Seconds(300);  // all expire together and come back
  EXPECT_THAT(Allocate("2125559999"), IsOk());
  EXPECT_EQ(index_.LiveReservations().size(), 1u);
}

}  // namespace
}  // namespace cidrotor::core
