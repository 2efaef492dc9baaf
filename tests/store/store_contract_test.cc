// The Store contract: the behaviours SPEC gives allocation, release and the admin changes, run
// against the embedded IndexedStore and the cluster RedisStore alike (one suite, two stores).
#include "store_contract_test.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "journal_test_util.h"

namespace cidrotor::store::contract {
namespace {

using core::ErrorCode;
using std::chrono::hours;
using testing::Await;
using testing::HasError;
using testing::IsOk;

ImportItem Item(std::uint64_t digits, const std::string& carrier = "AT&T") {
  ImportItem item;
  item.spec.caller_id = core::PhoneNumber::FromValidDigits(digits);
  item.spec.carrier = carrier;
  return item;
}

// --- allocation order ----------------------------------------------------------------------------

TEST_P(StoreContractTest, NeverUsedFirstThenLeastRecentlyUsedTiesByNumber) {
  Open();
  ASSERT_THAT(Add("2125550003"), IsOk());
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550002"), IsOk());
  auto first = Allocate("2125559999");
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->reservation.caller_id.ToString(), "2125550001");
  ASSERT_TRUE(Release(first->reservation.id)->released);
  clock_.Advance(core::Seconds(5));
  // 0002 and 0003 were never used: they come before 0001, in number order.
  EXPECT_EQ(Next("2125559999"), "2125550002");
  EXPECT_EQ(Next("2125559999"), "2125550003");
  EXPECT_EQ(Next("2125559999"), "2125550001");
  EXPECT_EQ(Next("2125559999"), "");  // all three reserved now
}

TEST_P(StoreContractTest, ReleasedNumberGoesToTheBackOfTheOrder) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550002"), IsOk());
  for (const char* expected : {"2125550001", "2125550002", "2125550001", "2125550002"}) {
    auto a = Allocate("2125559999");
    ASSERT_THAT(a, IsOk());
    EXPECT_EQ(a->reservation.caller_id.ToString(), expected);
    ASSERT_TRUE(Release(a->reservation.id)->released);
    clock_.Advance(core::Seconds(1));
  }
}

TEST_P(StoreContractTest, PrefersSameExchangeThenAreaCodeThenAny) {
  Open();
  ASSERT_THAT(Add("3105550001"), IsOk());  // same exchange as the destination
  ASSERT_THAT(Add("3104440001"), IsOk());  // same area code
  ASSERT_THAT(Add("2125550001"), IsOk());  // elsewhere
  auto exchange = Allocate("3105559876");
  ASSERT_THAT(exchange, IsOk());
  EXPECT_EQ(exchange->reservation.caller_id.ToString(), "3105550001");
  EXPECT_EQ(exchange->reservation.match, core::MatchTier::kExchange);
  auto area = Allocate("3105559876");
  ASSERT_THAT(area, IsOk());
  EXPECT_EQ(area->reservation.caller_id.ToString(), "3104440001");
  EXPECT_EQ(area->reservation.match, core::MatchTier::kAreaCode);
  auto any = Allocate("3105559876");
  ASSERT_THAT(any, IsOk());
  EXPECT_EQ(any->reservation.caller_id.ToString(), "2125550001");
  EXPECT_EQ(any->reservation.match, core::MatchTier::kAny);
  EXPECT_THAT(Allocate("3105559876"), HasError(ErrorCode::kNoCallerIdAvailable));
}

TEST_P(StoreContractTest, AfterTheAreaCodeTheSameStateLeastRecentlyUsedFirst) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());  // New York
  ASSERT_THAT(Add("4155550001"), IsOk());  // California, as the destination
  ASSERT_THAT(Add("2135550001"), IsOk());  // California
  auto used = Allocate("2135559999");      // 213's number becomes the more recently used
  ASSERT_THAT(used, IsOk());
  ASSERT_TRUE(Release(used->reservation.id)->released);
  clock_.Advance(core::Seconds(5));
  for (const char* expected : {"4155550001", "2135550001"}) {
    auto state = Allocate("3105559876");
    ASSERT_THAT(state, IsOk());
    EXPECT_EQ(state->reservation.caller_id.ToString(), expected);
    EXPECT_EQ(state->reservation.match, core::MatchTier::kState);
  }
  auto any = Allocate("3105559876");
  ASSERT_THAT(any, IsOk());
  EXPECT_EQ(any->reservation.caller_id.ToString(), "2125550001");
  EXPECT_EQ(any->reservation.match, core::MatchTier::kAny);
}

TEST_P(StoreContractTest, ALeadGetsItsNumberBackWhileItIsFreeAndRecent) {
  StoreConfig config;
  config.index.sticky = hours(24);
  Open(config);
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550002"), IsOk());
  const auto for_lead = [this](const char* expected, core::MatchTier match) {
    auto allocation = Allocate("2125559876", "auto", "", 42);
    EXPECT_THAT(allocation, IsOk());
    if (!allocation) return std::uint64_t{0};
    EXPECT_EQ(allocation->reservation.caller_id.ToString(), expected);
    EXPECT_EQ(allocation->reservation.match, match);
    EXPECT_EQ(allocation->reservation.lead_id, std::optional<std::uint64_t>(42));
    return allocation->reservation.id;
  };
  ASSERT_TRUE(Release(for_lead("2125550001", core::MatchTier::kExchange))->released);
  clock_.Advance(core::Seconds(5));
  // 0002 was never used, so the ladder would take it; the lead's own number comes first.
  const std::uint64_t held = for_lead("2125550001", core::MatchTier::kSticky);
  // While its number is held, the lead takes the ladder's, which becomes its number.
  const std::uint64_t other = for_lead("2125550002", core::MatchTier::kExchange);
  ASSERT_TRUE(Release(held)->released);
  ASSERT_TRUE(Release(other)->released);
  clock_.Advance(core::Seconds(5));
  ASSERT_TRUE(Release(for_lead("2125550002", core::MatchTier::kSticky))->released);
  clock_.Advance(hours(24));  // the window has passed: least recently used again
  for_lead("2125550001", core::MatchTier::kExchange);
}

TEST_P(StoreContractTest, WithFallbackNoneALeadKeepsOnlyANumberTheLadderCouldGive) {
  StoreConfig config;
  config.index.sticky = hours(24);
  Open(config);
  ASSERT_THAT(Add("2125550001"), IsOk());  // New York
  ASSERT_THAT(Add("3105550001"), IsOk());  // California
  const auto for_lead = [this](const char* to) {
    auto allocation = Allocate(to, "auto", "", 42);
    EXPECT_THAT(allocation, IsOk());
    if (!allocation) return std::pair<std::string, core::MatchTier>{};
    EXPECT_TRUE(Release(allocation->reservation.id)->released);
    clock_.Advance(core::Seconds(5));
    return std::pair{allocation->reservation.caller_id.ToString(), allocation->reservation.match};
  };
  const auto set_fallback = [this](bool any) {
    ASSERT_THAT(Await<PoolSettings>([&](auto done) {
                  store_->SetPoolSettings(PoolSettings{"default", any}, done);
                }),
                IsOk());
  };
  using Pick = std::pair<std::string, core::MatchTier>;
  EXPECT_EQ(for_lead("2125559876"), (Pick{"2125550001", core::MatchTier::kExchange}));
  set_fallback(false);  // New York's number is not one a call to California may get now
  EXPECT_EQ(for_lead("3105559876"), (Pick{"3105550001", core::MatchTier::kExchange}));
  EXPECT_EQ(for_lead("3105559876"), (Pick{"3105550001", core::MatchTier::kSticky}));
  set_fallback(true);  // with the any tier back, any number of the pool is the lead's to keep
  EXPECT_EQ(for_lead("2125559876"), (Pick{"3105550001", core::MatchTier::kSticky}));
}

TEST_P(StoreContractTest, WithoutAStickyWindowALeadTakesTheLadder) {
  Open();  // sticky 0
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550002"), IsOk());
  auto first = Allocate("2125559876", "auto", "", 42);
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(Release(first->reservation.id)->released);
  clock_.Advance(core::Seconds(5));
  auto second = Allocate("2125559876", "auto", "", 42);
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->reservation.caller_id.ToString(), "2125550002");
  EXPECT_EQ(second->reservation.match, core::MatchTier::kExchange);
}

TEST_P(StoreContractTest, TollFreeNumbersOnlyServeTheAnyTier) {
  Open();
  ASSERT_THAT(Add("8005550001"), IsOk());
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto tollfree_destination = Allocate("8885551234");
  ASSERT_THAT(tollfree_destination, IsOk());
  EXPECT_EQ(tollfree_destination->reservation.match, core::MatchTier::kAny);
  EXPECT_EQ(tollfree_destination->reservation.caller_id.ToString(), "2125550001");
  auto local = Allocate("2125559999");  // only the toll-free number is left: tier any
  ASSERT_THAT(local, IsOk());
  EXPECT_EQ(local->reservation.caller_id.ToString(), "8005550001");
  EXPECT_EQ(local->reservation.match, core::MatchTier::kAny);
}

TEST_P(StoreContractTest, PoolsAreIsolatedAndNumbersMoveBetweenThem) {
  Open();
  ASSERT_THAT(Add("2125550001", 0, 0, "sales"), IsOk());
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  EXPECT_THAT(Allocate("2125559999", "auto", "nosuchpool"),
              HasError(ErrorCode::kNoCallerIdAvailable));
  auto sales = Allocate("2125559999", "auto", "sales");
  ASSERT_THAT(sales, IsOk());
  EXPECT_EQ(sales->reservation.pool, "sales");
  ASSERT_TRUE(Release(sales->reservation.id)->released);
  core::NumberPatch move;
  move.pool = "default";
  auto moved = Update("2125550001", move);
  ASSERT_THAT(moved, IsOk());
  EXPECT_EQ(moved->spec.pool, "default");
  EXPECT_EQ(moved->usage.hourly_used, 1);  // its usage moves with it
  EXPECT_THAT(Allocate("2125559999", "auto", "sales"), HasError(ErrorCode::kNoCallerIdAvailable));
  EXPECT_THAT(Allocate("2125559999"), IsOk());
}

TEST_P(StoreContractTest, AMovedNumberKeepsItsLiveReservation) {
  Open();
  ASSERT_THAT(Add("2125550001", 0, 0, "sales"), IsOk());
  auto held = Allocate("2125559999", "auto", "sales");
  ASSERT_THAT(held, IsOk());
  core::NumberPatch move;
  move.pool = "default";
  auto moved = Update("2125550001", move);
  ASSERT_THAT(moved, IsOk());
  EXPECT_TRUE(moved->reserved);  // the call still holds it: not free in its new pool
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  // Listed live with the pool it was made in, as the history has it (Redis re-holds it in the
  // new pool's keys: it showed the new pool there).
  auto live = Await<std::vector<ReservationRecord>>([&](auto done) {
    store_->ListReservations(ReservationQuery{true, 10}, done);
  });
  ASSERT_THAT(live, IsOk());
  ASSERT_EQ(live->size(), 1U);
  EXPECT_EQ((*live)[0].reservation.pool, "sales");
  move.pool = "east";  // and again: still the pool it was made in
  ASSERT_THAT(Update("2125550001", move), IsOk());
  live = Await<std::vector<ReservationRecord>>([&](auto done) {
    store_->ListReservations(ReservationQuery{true, 10}, done);
  });
  ASSERT_THAT(live, IsOk());
  ASSERT_EQ(live->size(), 1U);
  EXPECT_EQ((*live)[0].reservation.pool, "sales");
  move.pool = "default";
  ASSERT_THAT(Update("2125550001", move), IsOk());
  auto released = Release(held->reservation.id);
  ASSERT_THAT(released, IsOk());
  EXPECT_TRUE(released->released);
  EXPECT_EQ(Next("2125559999"), "2125550001");
}

// --- campaigns → pools --------------------------------------------------------------------------

core::AllocationRequest ForCampaign(const std::string& to, const std::string& campaign) {
  core::AllocationRequest request = To(to);
  request.campaign = campaign;
  return request;
}

TEST_P(StoreContractTest, CampaignsAllocateFromTheirPoolAndUnmappedOnesFromDefault) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550002", 0, 0, "east"), IsOk());
  auto mapped = Await<CampaignPool>([&](auto done) {
    store_->SetCampaignPool({"sales", "east"}, done);
  });
  ASSERT_THAT(mapped, IsOk());
  EXPECT_EQ(*mapped, (CampaignPool{"sales", "east"}));

  auto sales = Await<core::Allocation>(
      [&](auto done) { store_->Allocate(ForCampaign("2125559999", "sales"), done); });
  ASSERT_THAT(sales, IsOk());
  EXPECT_EQ(sales->reservation.caller_id.ToString(), "2125550002");
  EXPECT_EQ(sales->reservation.pool, "east");
  EXPECT_EQ(sales->reservation.campaign, "sales");
  // The pool's one number is taken: the campaign gets nothing, not a number of another pool.
  EXPECT_THAT(Await<core::Allocation>(
                  [&](auto done) { store_->Allocate(ForCampaign("2125559999", "sales"), done); }),
              HasError(ErrorCode::kNoCallerIdAvailable));
  auto other = Await<core::Allocation>(
      [&](auto done) { store_->Allocate(ForCampaign("2125559999", "support"), done); });
  ASSERT_THAT(other, IsOk());
  EXPECT_EQ(other->reservation.caller_id.ToString(), "2125550001");
  EXPECT_EQ(other->reservation.pool, "default");

  auto list = Await<std::vector<CampaignPool>>([&](auto done) { store_->ListCampaignPools(done); });
  ASSERT_THAT(list, IsOk());
  EXPECT_THAT(*list, ::testing::ElementsAre(CampaignPool{"sales", "east"}));

  ASSERT_THAT(Release(other->reservation.id), IsOk());
  ASSERT_THAT(Await<void>([&](auto done) { store_->RemoveCampaignPool("sales", done); }), IsOk());
  auto unmapped = Await<core::Allocation>(
      [&](auto done) { store_->Allocate(ForCampaign("2125559999", "sales"), done); });
  ASSERT_THAT(unmapped, IsOk());
  EXPECT_EQ(unmapped->reservation.pool, "default");
  EXPECT_THAT(Await<void>([&](auto done) { store_->RemoveCampaignPool("sales", done); }),
              HasError(ErrorCode::kNotFound));
  list = Await<std::vector<CampaignPool>>([&](auto done) { store_->ListCampaignPools(done); });
  ASSERT_THAT(list, IsOk());
  EXPECT_THAT(*list, ::testing::IsEmpty());
}

TEST_P(StoreContractTest, AMappingChangesWhichPoolTheNextAllocationUses) {
  Open();
  ASSERT_THAT(Add("2125550001", 0, 0, "east"), IsOk());
  ASSERT_THAT(Add("2125550002", 0, 0, "west"), IsOk());
  ASSERT_THAT(Await<CampaignPool>([&](auto done) {
                store_->SetCampaignPool({"sales", "east"}, done);
              }),
              IsOk());
  ASSERT_THAT(Await<CampaignPool>([&](auto done) {
                store_->SetCampaignPool({"sales", "west"}, done);
              }),
              IsOk());
  auto sales = Await<core::Allocation>(
      [&](auto done) { store_->Allocate(ForCampaign("2125559999", "sales"), done); });
  ASSERT_THAT(sales, IsOk());
  EXPECT_EQ(sales->reservation.caller_id.ToString(), "2125550002");
  EXPECT_EQ(sales->reservation.pool, "west");
}

TEST_P(StoreContractTest, FailedCampaignChangesAreUndone) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550002", 0, 0, "east"), IsOk());
  ASSERT_THAT(Await<CampaignPool>([&](auto done) {
                store_->SetCampaignPool({"sales", "east"}, done);
              }),
              IsOk());
  journal_->SetFailure(core::Error::Unavailable("disk full"));
  EXPECT_THAT(Await<CampaignPool>([&](auto done) {
                store_->SetCampaignPool({"sales", "west"}, done);
              }),
              HasError(ErrorCode::kUnavailable));
  EXPECT_THAT(Await<CampaignPool>([&](auto done) {
                store_->SetCampaignPool({"support", "east"}, done);
              }),
              HasError(ErrorCode::kUnavailable));
  EXPECT_THAT(Await<void>([&](auto done) { store_->RemoveCampaignPool("sales", done); }),
              HasError(ErrorCode::kUnavailable));
  journal_->SetFailure(std::nullopt);

  auto list = Await<std::vector<CampaignPool>>([&](auto done) { store_->ListCampaignPools(done); });
  ASSERT_THAT(list, IsOk());
  EXPECT_THAT(*list, ::testing::ElementsAre(CampaignPool{"sales", "east"}));
  auto support = Await<core::Allocation>(
      [&](auto done) { store_->Allocate(ForCampaign("2125559999", "support"), done); });
  ASSERT_THAT(support, IsOk());
  EXPECT_EQ(support->reservation.pool, "default");
  auto sales = Await<core::Allocation>(
      [&](auto done) { store_->Allocate(ForCampaign("2125559999", "sales"), done); });
  ASSERT_THAT(sales, IsOk());
  EXPECT_EQ(sales->reservation.pool, "east");
}

TEST_P(StoreContractTest, APoolWithFallbackNoneHasNoAnyTier) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  // Any tier: a destination in another area code gets the 212 number.
  auto far = Allocate("3105559999");
  ASSERT_THAT(far, IsOk());
  EXPECT_EQ(far->reservation.match, core::MatchTier::kAny);
  ASSERT_THAT(Release(far->reservation.id), IsOk());

  auto set = Await<PoolSettings>([&](auto done) {
    store_->SetPoolSettings(PoolSettings{"default", false}, done);
  });
  ASSERT_THAT(set, IsOk());
  EXPECT_THAT(Allocate("3105559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  EXPECT_THAT(Allocate("8005551234"), HasError(ErrorCode::kNoCallerIdAvailable));  // toll-free
  auto local = Allocate("2125559999");  // the local tiers still serve
  ASSERT_THAT(local, IsOk());
  EXPECT_EQ(local->reservation.match, core::MatchTier::kExchange);
  ASSERT_THAT(Release(local->reservation.id), IsOk());
  auto list = Await<std::vector<PoolSettings>>([&](auto done) { store_->ListPoolSettings(done); });
  ASSERT_THAT(list, IsOk());
  EXPECT_THAT(*list, ::testing::ElementsAre(PoolSettings{"default", false}));

  ASSERT_THAT(Await<PoolSettings>([&](auto done) {
                store_->SetPoolSettings(PoolSettings{"default", true}, done);
              }),
              IsOk());
  EXPECT_THAT(Allocate("3105559999"), IsOk());
}

TEST_P(StoreContractTest, AFailedPoolSettingIsNotMade) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  journal_->SetFailure(core::Error::Unavailable("disk full"));
  EXPECT_THAT(Await<PoolSettings>([&](auto done) {
                store_->SetPoolSettings(PoolSettings{"default", false}, done);
              }),
              HasError(ErrorCode::kUnavailable));
  journal_->SetFailure(std::nullopt);
  EXPECT_THAT(Allocate("3105559999"), IsOk());  // still the any tier
}

// --- reservations --------------------------------------------------------------------------------

TEST_P(StoreContractTest, ReservationExpiresAfterItsTtl) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto a = Allocate("2125559999");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->reservation.reserved_until, kStart + core::Seconds(300));
  clock_.Advance(core::Seconds(299));
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  clock_.Advance(core::Seconds(1));
  EXPECT_THAT(Allocate("2125559999"), IsOk());
  EXPECT_FALSE(Release(a->reservation.id)->released);  // it had ended by its TTL
}

TEST_P(StoreContractTest, TickReturnsExpiredReservationsToTheOrder) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Allocate("2125559999"), IsOk());
  clock_.Advance(core::Seconds(301));
  store_->Tick();
  store_->Flush();
  // Stats count what is available without running an allocation first.
  auto stats = Stats();
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->available_numbers, 1u);
  EXPECT_EQ(stats->reserved_numbers, 0u);
}

TEST_P(StoreContractTest, ReleaseByIdOrCallerIdIsIdempotent) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550002"), IsOk());
  auto a = Allocate("2125559999");
  auto b = Allocate("2125559999");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  auto by_id = Release(a->reservation.id);
  ASSERT_THAT(by_id, IsOk());
  EXPECT_TRUE(by_id->released);
  ASSERT_TRUE(by_id->reservation.has_value());
  EXPECT_EQ(by_id->reservation->caller_id, a->reservation.caller_id);
  EXPECT_FALSE(Release(a->reservation.id)->released);
  auto by_number = ReleaseNumber(b->reservation.caller_id.ToString());
  ASSERT_THAT(by_number, IsOk());
  EXPECT_TRUE(by_number->released);
  EXPECT_EQ(by_number->reservation->id, b->reservation.id);
  EXPECT_FALSE(ReleaseNumber(b->reservation.caller_id.ToString())->released);
  EXPECT_THAT(ReleaseNumber("2125550099"), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(
      Await<core::ReleaseResult>([&](auto done) { store_->Release(core::ReleaseRequest{}, done); }),
      HasError(ErrorCode::kInvalidArgument));
}

TEST_P(StoreContractTest, ReleaseByIdOfAnotherNumberEndsNothing) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550002"), IsOk());
  auto a = Allocate("2125559999");
  ASSERT_THAT(a, IsOk());
  core::ReleaseRequest request;
  request.reservation_id = a->reservation.id;
  request.caller_id = *core::PhoneNumber::ParsePoolNumber("2125550002");
  auto released = Await<core::ReleaseResult>([&](auto done) { store_->Release(request, done); });
  ASSERT_THAT(released, IsOk());
  EXPECT_FALSE(released->released);
  EXPECT_TRUE(Get("2125550001")->reserved);
}

// The hang-up of a call that outlived its TTL: the reservation had ended, so the release ends
// nothing (released false), but the call's outcome and duration still reach the history, once (an
// answered call longer than the TTL would otherwise never count as answered). By caller_id alone
// nothing is recorded: the number may be on another call since.
TEST_P(StoreContractTest, ALateReleaseByIdRecordsTheOutcomeOfACallThatOutlivedItsTtl) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550002"), IsOk());
  auto a = Allocate("2125559999");
  auto b = Allocate("2125559999");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  clock_.Advance(core::Seconds(600));  // past both TTLs
  const auto release = [&](const core::ReleaseRequest& request) {
    return Await<core::ReleaseResult>([&](auto done) { store_->Release(request, done); });
  };
  core::ReleaseRequest late;
  late.reservation_id = a->reservation.id;
  late.outcome = core::CallOutcome::kAnswered;
  late.duration_seconds = 540;
  auto released = release(late);
  ASSERT_THAT(released, IsOk());
  EXPECT_FALSE(released->released);
  late.outcome = core::CallOutcome::kBusy;  // a second one changes nothing
  late.duration_seconds = 1;
  ASSERT_THAT(release(late), IsOk());
  core::ReleaseRequest by_number;
  by_number.caller_id = b->reservation.caller_id;
  by_number.outcome = core::CallOutcome::kAnswered;
  by_number.duration_seconds = 500;
  auto number_released = release(by_number);
  ASSERT_THAT(number_released, IsOk());
  EXPECT_FALSE(number_released->released);
  store_->Flush();

  auto history = Await<std::vector<ReservationRecord>>([&](auto done) {
    store_->ListReservations(ReservationQuery{false, 10}, done);
  });
  ASSERT_THAT(history, IsOk());
  ASSERT_EQ(history->size(), 2u);
  for (const ReservationRecord& record : *history) {
    if (record.reservation.id == a->reservation.id) {
      EXPECT_EQ(record.outcome, core::CallOutcome::kAnswered);
      EXPECT_EQ(record.duration_seconds, 540u);
      EXPECT_EQ(record.released_at, kStart + core::Seconds(600));
    } else {
      EXPECT_EQ(record.outcome, core::CallOutcome::kUnknown);
      EXPECT_FALSE(record.released_at.has_value());
    }
  }
}

TEST_P(StoreContractTest, ReleaseIsJournaledWithItsOutcome) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto allocation = Allocate("2125559999");
  ASSERT_THAT(allocation, IsOk());
  auto live = Await<std::vector<ReservationRecord>>([&](auto done) {
    store_->ListReservations(ReservationQuery{true, 10}, done);
  });
  ASSERT_THAT(live, IsOk());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ(live->at(0).reservation.id, allocation->reservation.id);
  ASSERT_TRUE(Release(allocation->reservation.id)->released);
  store_->Flush();
  auto history = Await<std::vector<ReservationRecord>>([&](auto done) {
    store_->ListReservations(ReservationQuery{false, 10}, done);
  });
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->at(0).outcome, core::CallOutcome::kAnswered);
  EXPECT_TRUE(history->at(0).released_at.has_value());
  live = Await<std::vector<ReservationRecord>>([&](auto done) {
    store_->ListReservations(ReservationQuery{true, 10}, done);
  });
  EXPECT_TRUE(live->empty());
}

// GET /api/lookup's data through the store: the system of record's links, as the store wrote them.
TEST_P(StoreContractTest, LookupFindsTheLastUseAndTheCallThatReachedAParty) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto first = Allocate("3105559876", "agent1");
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(Release(first->reservation.id)->released);
  clock_.Advance(std::chrono::seconds(5));
  auto second = Allocate("4155550001", "agent2");
  ASSERT_THAT(second, IsOk());
  store_->Flush();

  LookupQuery query;
  query.caller_id = core::PhoneNumber::FromValidDigits(2'125'550'001);
  query.from = core::PhoneNumber::FromValidDigits(3'105'559'876);
  auto found = Await<LookupData>([&](auto done) { store_->Lookup(query, done); });
  ASSERT_THAT(found, IsOk());
  EXPECT_TRUE(found->known);
  ASSERT_TRUE(found->last.has_value());
  EXPECT_EQ(found->last->reservation.id, second->reservation.id);
  EXPECT_TRUE(found->last->live);
  ASSERT_TRUE(found->called.has_value());
  EXPECT_EQ(found->called->reservation.id, first->reservation.id);
  EXPECT_EQ(found->called->reservation.agent, "agent1");
  EXPECT_EQ(found->called->outcome, core::CallOutcome::kAnswered);

  query.caller_id = core::PhoneNumber::FromValidDigits(2'125'550'002);
  found = Await<LookupData>([&](auto done) { store_->Lookup(query, done); });
  ASSERT_THAT(found, IsOk());
  EXPECT_FALSE(found->known);
}

// --- caps and windows ----------------------------------------------------------------------------

TEST_P(StoreContractTest, HourlyCapHoldsUntilTheNextHour) {
  Open();
  ASSERT_THAT(Add("2125550001", 2), IsOk());
  for (int i = 0; i < 2; ++i) {
    auto a = Allocate("2125559999");
    ASSERT_THAT(a, IsOk());
    ASSERT_TRUE(Release(a->reservation.id)->released);
  }
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  auto view = Get("2125550001");
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->hourly_used_now, 2);
  EXPECT_FALSE(view->available);
  clock_.Advance(hours(1) - core::Seconds(1));
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  clock_.Advance(core::Seconds(1));  // the next hour starts: the counter rolls over
  EXPECT_THAT(Allocate("2125559999"), IsOk());
  EXPECT_EQ(Get("2125550001")->hourly_used_now, 1);
}

TEST_P(StoreContractTest, DailyCapHoldsUntilTheNextDay) {
  Open();
  ASSERT_THAT(Add("2125550001", 0, 2), IsOk());
  for (int i = 0; i < 2; ++i) {
    auto a = Allocate("2125559999");
    ASSERT_THAT(a, IsOk());
    ASSERT_TRUE(Release(a->reservation.id)->released);
    clock_.Advance(hours(1));
  }
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  clock_.Set(kStart + hours(10) - core::Seconds(1));  // 23:59:59 UTC
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  clock_.Set(kStart + hours(10));  // midnight
  EXPECT_THAT(Allocate("2125559999"), IsOk());
}

// --- rests ---------------------------------------------------------------------------------------

core::NumberPatch RestUntil(core::TimePoint until) {
  core::NumberPatch patch;
  patch.rest_until = core::ToCompact(until);
  return patch;
}

core::NumberPatch EndRest() {
  core::NumberPatch patch;
  patch.rest_until = 0;
  return patch;
}

TEST_P(StoreContractTest, ARestedNumberIsOutOfRotationUntilItsRestEnds) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550002"), IsOk());
  auto rested = Update("2125550001", RestUntil(kStart + hours(2)));
  ASSERT_THAT(rested, IsOk());
  EXPECT_TRUE(rested->resting);
  EXPECT_FALSE(rested->available);
  EXPECT_EQ(rested->usage.rest_until, core::ToCompact(kStart + hours(2)));
  EXPECT_EQ(Stats()->resting_numbers, 1u);
  for (int i = 0; i < 3; ++i) {
    auto a = Allocate("2125559999");
    ASSERT_THAT(a, IsOk());
    EXPECT_EQ(a->reservation.caller_id.ToString(), "2125550002");
    ASSERT_TRUE(Release(a->reservation.id)->released);
    clock_.Advance(core::Seconds(1));
  }
  // Another change keeps the rest.
  core::NumberPatch carrier;
  carrier.carrier = "Other";
  EXPECT_TRUE(Update("2125550001", carrier)->resting);
  clock_.Set(kStart + hours(2));
  EXPECT_EQ(Next("2125559999"), "2125550001");  // back on its own, never used: first
  EXPECT_FALSE(Get("2125550001")->resting);
  EXPECT_EQ(Stats()->resting_numbers, 0u);
}

TEST_P(StoreContractTest, ANumberRestedWhileReservedStaysOutAfterItsCallEnds) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto a = Allocate("2125559999");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(Update("2125550001", RestUntil(kStart + hours(1))), IsOk());
  ASSERT_TRUE(Release(a->reservation.id)->released);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  EXPECT_EQ(Stats()->resting_numbers, 1u);
  // Reserved again the moment it is back, then rested: its TTL ends the call, not the rest.
  clock_.Set(kStart + hours(1));
  auto b = Allocate("2125559999");
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(Update("2125550001", RestUntil(kStart + hours(3))), IsOk());
  clock_.Set(kStart + hours(1) + core::Seconds(301));  // past the 300 s TTL
  store_->Tick();
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  clock_.Set(kStart + hours(3));
  EXPECT_THAT(Allocate("2125559999"), IsOk());
}

TEST_P(StoreContractTest, ARestEndsEarlyAndAMoveKeepsIt) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Update("2125550001", RestUntil(kStart + hours(48))), IsOk());
  ASSERT_THAT(MapCampaignOf(*store_, "east"), IsOk());
  core::NumberPatch move;
  move.pool = "east";
  auto moved = Update("2125550001", move);
  ASSERT_THAT(moved, IsOk());
  EXPECT_TRUE(moved->resting);
  EXPECT_THAT(Allocate("2125559999", "auto", "east"), HasError(ErrorCode::kNoCallerIdAvailable));
  auto ended = Update("2125550001", EndRest());
  ASSERT_THAT(ended, IsOk());
  EXPECT_FALSE(ended->resting);
  EXPECT_TRUE(ended->available);
  EXPECT_THAT(Allocate("2125559999", "auto", "east"), IsOk());
}

// --- warm-up -------------------------------------------------------------------------------------

StoreConfig Warming(std::uint16_t days) {
  StoreConfig config;
  config.index.warmup_days = days;
  return config;
}

TEST_P(StoreContractTest, ANewNumbersDailyCapRampsOverItsWarmUpDays) {
  Open(Warming(2));
  auto added = Add("2125550001", 0, 9);
  ASSERT_THAT(added, IsOk());
  EXPECT_EQ(added->warmup_day, 1);
  EXPECT_EQ(added->daily_cap_today, 3);  // ceil(9 * 1/3)
  EXPECT_NE(added->usage.warm_from, 0u);
  EXPECT_EQ(CallsUntilDry("2125559999"), 3);
  clock_.Set(kStart + hours(10));  // midnight UTC: day 2
  EXPECT_EQ(Get("2125550001")->warmup_day, 2);
  EXPECT_EQ(Get("2125550001")->daily_cap_today, 6);
  EXPECT_EQ(CallsUntilDry("2125559999"), 6);
  clock_.Set(kStart + hours(34));  // day 3: warmed up
  EXPECT_EQ(Get("2125550001")->warmup_day, 0);
  EXPECT_EQ(CallsUntilDry("2125559999"), 9);
}

TEST_P(StoreContractTest, AChangeKeepsTheWarmUpAndAnImportedHistoryHasNone) {
  Open(Warming(4));
  ASSERT_THAT(Add("2125550001", 0, 10), IsOk());
  core::NumberPatch patch;
  patch.daily_cap = 20;
  auto changed = Update("2125550001", patch);
  ASSERT_THAT(changed, IsOk());
  EXPECT_EQ(changed->warmup_day, 1);
  EXPECT_EQ(changed->daily_cap_today, 4);  // 20 / 5

  ImportItem established = Item(3105550001);
  established.last_used = core::ToCompact(kStart) - 600;
  ASSERT_THAT(Import({established, Item(3105550002)}, OnDuplicate::kUpdate), IsOk());
  EXPECT_EQ(Get("3105550001")->warmup_day, 0);
  EXPECT_EQ(Get("3105550001")->usage.warm_from, 0u);
  EXPECT_EQ(Get("3105550001")->daily_cap_today, 500);
  EXPECT_EQ(Get("3105550002")->warmup_day, 1);
  EXPECT_EQ(Get("3105550002")->daily_cap_today, 100);
  // Re-importing a warming number changes its fields, not its warm-up.
  ASSERT_THAT(Import({Item(3105550002, "Other")}, OnDuplicate::kUpdate), IsOk());
  EXPECT_EQ(Get("3105550002")->warmup_day, 1);
  store_->Flush();
  // What the journal holds is what the store decided (a restart resumes the same ramp).
  journal_test::RecordingSink sink;
  ASSERT_THAT(journal_->Load(clock_.Now(), sink), IsOk());
  ASSERT_EQ(sink.numbers.size(), 3u);
  EXPECT_EQ(sink.numbers[1].second.warm_from, 0u);  // 3105550001
  EXPECT_EQ(sink.numbers[2].second.warm_from, Get("3105550002")->usage.warm_from);
}

TEST_P(StoreContractTest, AnImportNamesTheDayItsNewNumbersWarmFrom) {
  Open(Warming(4));
  const core::CompactTime yesterday = core::ToCompact(kStart - hours(38));  // local midnight
  ImportItem dated = Item(2125550001);
  dated.warm_from_day = yesterday;
  ImportItem established = Item(2125550002);
  established.warm_from_day = 0;
  ImportItem existing = Item(2125550003);
  ASSERT_THAT(Import({existing}, OnDuplicate::kUpdate), IsOk());
  const core::CompactTime kept = Get("2125550003")->usage.warm_from;
  existing.warm_from_day = yesterday;
  ASSERT_THAT(Import({dated, established, existing}, OnDuplicate::kUpdate), IsOk());
  EXPECT_EQ(Get("2125550001")->usage.warm_from, yesterday);
  EXPECT_EQ(Get("2125550001")->warmup_day, 2);
  EXPECT_EQ(Get("2125550002")->usage.warm_from, 0u);
  EXPECT_EQ(Get("2125550003")->usage.warm_from, kept);  // only a new number takes it
}

TEST_P(StoreContractTest, WithoutWarmUpDaysNewNumbersTakeTheirFullCap) {
  Open();
  auto added = Add("2125550001", 0, 9);
  ASSERT_THAT(added, IsOk());
  EXPECT_EQ(added->warmup_day, 0);
  EXPECT_EQ(added->daily_cap_today, 9);
}

TEST_P(StoreContractTest, DefaultCapsApplyToNumbersWithoutTheirOwn) {
  StoreConfig config;
  config.index.default_hourly_cap = 1;
  Open(config);
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto a = Allocate("2125559999");
  ASSERT_THAT(a, IsOk());
  ASSERT_TRUE(Release(a->reservation.id)->released);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  EXPECT_EQ(Get("2125550001")->effective_hourly_cap, 1);
}

// --- probation -----------------------------------------------------------------------------------

StoreConfig WithProbation(std::chrono::hours probation, std::uint16_t budget) {
  StoreConfig config;
  config.index.probation = probation;
  config.index.probation_daily_cap = budget;
  return config;
}

// kStart is 14:00 UTC; days start at midnight UTC (kStart + 10 h, + 34 h).
TEST_P(StoreContractTest, ARestedNumberComesBackOnABudgetUntilTheDayItsProbationEnds) {
  Open(WithProbation(std::chrono::hours(30), 2));
  auto added = Add("2125550001", 0, 9);
  ASSERT_THAT(added, IsOk());
  EXPECT_EQ(added->probation_until, 0u);
  EXPECT_EQ(added->daily_cap_today, 9);  // never rested: no probation
  auto rested = Update("2125550001", RestUntil(kStart + hours(2)));
  ASSERT_THAT(rested, IsOk());
  EXPECT_EQ(rested->probation_until, 0u);  // resting first
  EXPECT_EQ(rested->daily_cap_today, 2);
  clock_.Set(kStart + hours(2));
  auto back = Get("2125550001");
  ASSERT_THAT(back, IsOk());
  EXPECT_NE(back->probation_until, 0u);
  EXPECT_EQ(CallsUntilDry("2125559999"), 2);
  clock_.Set(kStart + hours(10));  // day 2: the probation ends at its 22:00, so still 2
  EXPECT_NE(Get("2125550001")->probation_until, 0u);
  EXPECT_EQ(CallsUntilDry("2125559999"), 2);
  clock_.Set(kStart + hours(34));  // day 3: the full cap
  EXPECT_EQ(Get("2125550001")->probation_until, 0u);
  EXPECT_EQ(Get("2125550001")->daily_cap_today, 9);
  EXPECT_EQ(CallsUntilDry("2125559999"), 9);
}

// An automatic rest (rest_unless_resting) leaves a rest set meanwhile as it is.
TEST_P(StoreContractTest, AnAutomaticRestNeverChangesARestGoingOn) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550002"), IsOk());
  ASSERT_THAT(Update("2125550001", RestUntil(kStart + hours(168))), IsOk());
  core::NumberPatch automatic = RestUntil(kStart + hours(48));
  automatic.rest_unless_resting = true;
  auto kept = Update("2125550001", automatic);
  ASSERT_THAT(kept, IsOk());
  EXPECT_EQ(kept->usage.rest_until, core::ToCompact(kStart + hours(168)));
  auto rested = Update("2125550002", automatic);
  ASSERT_THAT(rested, IsOk());
  EXPECT_EQ(rested->usage.rest_until, core::ToCompact(kStart + hours(48)));
}

// An admin ending a rest early: the rest ends now and its probation follows, as after any rest;
// ending the rest of a number that does not rest leaves it as it was.
TEST_P(StoreContractTest, EndingARestEarlyStartsItsProbationAndEndingNoRestChangesNothing) {
  Open(WithProbation(std::chrono::hours(24), 1));
  ASSERT_THAT(Add("2125550001", 0, 9), IsOk());
  ASSERT_THAT(Add("2125550002", 0, 9), IsOk());
  ASSERT_THAT(Update("2125550001", RestUntil(kStart + hours(48))), IsOk());
  clock_.Set(kStart + hours(1));
  auto ended = Update("2125550001", EndRest());
  ASSERT_THAT(ended, IsOk());
  EXPECT_FALSE(ended->resting);
  EXPECT_NE(ended->probation_until, 0u);
  EXPECT_EQ(ended->usage.rest_until, core::ToCompact(kStart + hours(1)));
  EXPECT_EQ(ended->daily_cap_today, 1);
  auto untouched = Update("2125550002", EndRest());
  ASSERT_THAT(untouched, IsOk());
  EXPECT_EQ(untouched->usage.rest_until, 0u);
  EXPECT_EQ(untouched->probation_until, 0u);
  EXPECT_EQ(untouched->daily_cap_today, 9);
}

// --- agents --------------------------------------------------------------------------------------

TEST_P(StoreContractTest, AgentRateLimitCountsOnlyAllocations) {
  StoreConfig config;
  config.rate_limit_per_agent = 2;
  Open(config);
  for (int i = 0; i < 5; ++i) ASSERT_THAT(Add("212555000" + std::to_string(i)), IsOk());
  ASSERT_THAT(Allocate("2125559999", "agent7"), IsOk());
  ASSERT_THAT(Allocate("2125559999", "agent7"), IsOk());
  auto limited = Allocate("2125559999", "agent7");
  ASSERT_THAT(limited, HasError(ErrorCode::kRateLimited));
  EXPECT_EQ(limited.error().retry_after_seconds(), 60u);
  EXPECT_THAT(Allocate("2125559999", "agent8"), IsOk());
  EXPECT_THAT(Allocate("2125559999"), IsOk());  // agent auto is never limited
  clock_.Advance(core::Seconds(60));
  EXPECT_THAT(Allocate("2125559999", "agent7"), IsOk());
}

// --- numbers -------------------------------------------------------------------------------------

TEST_P(StoreContractTest, AddExistingIsAConflict) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  EXPECT_THAT(Add("2125550001"), HasError(ErrorCode::kConflict));
  EXPECT_THAT(Add("2125550001", 0, 0, "sales"), HasError(ErrorCode::kConflict));
}

TEST_P(StoreContractTest, DeactivatedNumberIsNotAllocatedUntilReactivated) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  core::NumberPatch off;
  off.active = false;
  auto view = Update("2125550001", off);
  ASSERT_THAT(view, IsOk());
  EXPECT_FALSE(view->spec.active);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  core::NumberPatch on;
  on.active = true;
  on.carrier = "Verizon";
  ASSERT_THAT(Update("2125550001", on), IsOk());
  auto a = Allocate("2125559999");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->carrier, "Verizon");
  EXPECT_THAT(Update("2125550099", on), HasError(ErrorCode::kNotFound));
}

TEST_P(StoreContractTest, DeactivatingAReservedNumberKeepsItOutAfterExpiry) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  ASSERT_THAT(Allocate("2125559999"), IsOk());
  core::NumberPatch off;
  off.active = false;
  ASSERT_THAT(Update("2125550001", off), IsOk());
  clock_.Advance(core::Seconds(600));
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  auto live = Await<std::vector<ReservationRecord>>([&](auto done) {
    store_->ListReservations(ReservationQuery{true, 10}, done);
  });
  EXPECT_TRUE(live->empty());
}

TEST_P(StoreContractTest, DeletingAReservedNumberEndsItsReservation) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto allocation = Allocate("2125559999");
  ASSERT_THAT(allocation, IsOk());
  ASSERT_THAT(Delete("2125550001"), IsOk());
  EXPECT_THAT(Delete("2125550001"), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(Get("2125550001"), HasError(ErrorCode::kNotFound));
  EXPECT_FALSE(Release(allocation->reservation.id)->released);
  auto stats = Stats();
  EXPECT_EQ(stats->total_numbers, 0u);
  EXPECT_EQ(stats->allocations_total, 1u);
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kNoCallerIdAvailable));
  ASSERT_THAT(Add("2125550001"), IsOk());  // and it can come back
  EXPECT_THAT(Allocate("2125559999"), IsOk());
}

// Deleting a number and adding it again (by hand or by an import, into any pool) resets neither
// its counts nor its rest: caps and rests are what keeps a number from being labelled spam, and
// they belong to the phone number (store/deleted_usage.h). What is kept ends with what it keeps.
TEST_P(StoreContractTest, ANumberDeletedAndAddedAgainKeepsItsCountsAndRest) {
  Open();
  ASSERT_THAT(Add("2125550001", 1, 3), IsOk());  // one call an hour, three a day
  const auto call = [&] {
    auto a = Allocate("2125559999");
    if (a) (void)Release(a->reservation.id);
    return a;
  };
  ASSERT_THAT(call(), IsOk());
  ASSERT_THAT(Delete("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550001", 1, 3), IsOk());
  EXPECT_THAT(call(), HasError(ErrorCode::kNoCallerIdAvailable)) << "its hour is used";
  EXPECT_EQ(Get("2125550001")->hourly_used_now, 1);

  // Through an import, into another pool, an hour later: the day's count comes along.
  ASSERT_THAT(Delete("2125550001"), IsOk());
  clock_.Advance(hours(1));
  ImportItem item;
  item.spec = Spec("2125550001", 1, 2, "other");
  auto imported = Import({item}, OnDuplicate::kUpdate);
  ASSERT_THAT(imported, IsOk());
  EXPECT_EQ(imported->imported, 1u);
  EXPECT_EQ(Get("2125550001")->daily_used_now, 1);
  EXPECT_EQ(Get("2125550001")->spec.pool, "other");
  ASSERT_THAT(Allocate("2125559999", "auto", "other"), IsOk());
  ASSERT_THAT(ReleaseNumber("2125550001"), IsOk());
  clock_.Advance(hours(1));
  EXPECT_THAT(Allocate("2125559999", "auto", "other"), HasError(ErrorCode::kNoCallerIdAvailable))
      << "the daily cap of 2 is used";

  // A rest, and the warm-up start, survive it too; the counts are forgotten once their day is
  // over, the rest once it (and the day after its probation) is.
  core::NumberPatch rest;
  rest.rest_until = core::ToCompact(clock_.Now() + hours(48));
  ASSERT_THAT(Update("2125550001", rest), IsOk());
  ASSERT_THAT(Delete("2125550001"), IsOk());
  clock_.Advance(hours(30));
  ASSERT_THAT(Add("2125550001", 1, 3), IsOk());
  EXPECT_TRUE(Get("2125550001")->resting);
  EXPECT_EQ(Get("2125550001")->usage.rest_until, *rest.rest_until);
  EXPECT_EQ(Get("2125550001")->daily_used_now, 0);
  ASSERT_THAT(Delete("2125550001"), IsOk());
  clock_.Advance(hours(18 + 25));
  ASSERT_THAT(Add("2125550001", 1, 3), IsOk());
  EXPECT_FALSE(Get("2125550001")->resting);
  EXPECT_EQ(Get("2125550001")->usage.rest_until, 0u) << "nothing kept any more";

  // A delete that keeps nothing forgets what an earlier one kept: here a rest, ended since by an
  // import row without one.
  rest.rest_until = core::ToCompact(clock_.Now() + hours(48));
  ASSERT_THAT(Update("2125550001", rest), IsOk());
  ASSERT_THAT(Delete("2125550001"), IsOk());
  ASSERT_THAT(Add("2125550001", 1, 3), IsOk());
  ASSERT_TRUE(Get("2125550001")->resting);
  item.spec = Spec("2125550001", 1, 3);
  item.rest_until = 0;
  ASSERT_THAT(Import({item}, OnDuplicate::kUpdate), IsOk());
  ASSERT_FALSE(Get("2125550001")->resting);
  ASSERT_THAT(Delete("2125550001"), IsOk());  // no counts, no rest: nothing to keep
  ASSERT_THAT(Add("2125550001", 1, 3), IsOk());
  EXPECT_FALSE(Get("2125550001")->resting);
}

// After a wave of reservations ends (more than the Redis scripts' first batch of 256 due
// numbers), a call whose area code looks dry still gets its own due number, in its tier, not
// another area code's (nor 503 with fallback none): the embedded index settles every due number.
TEST_P(StoreContractTest, AWaveOfEndedReservationsGivesEachCallItsOwnAreaCodeBack) {
  Open();
  std::vector<ImportItem> items;
  for (int i = 0; i < 299; ++i) {
    ImportItem item;
    item.spec = Spec("201555" + std::to_string(1000 + i));
    items.push_back(item);
  }
  ImportItem local;
  local.spec = Spec("9895550100");
  items.push_back(local);
  ASSERT_THAT(Import(items, OnDuplicate::kUpdate), IsOk());
  for (int i = 0; i < 299; ++i) ASSERT_THAT(Allocate("2015559999"), IsOk()) << i;
  ASSERT_THAT(Allocate("9895559876"), IsOk());
  clock_.Advance(core::Seconds(301));  // every reservation has ended, none settled yet
  auto call = Allocate("9895559876");
  ASSERT_THAT(call, IsOk());
  EXPECT_EQ(call->reservation.caller_id.ToString(), "9895550100");
  EXPECT_EQ(call->reservation.match, core::MatchTier::kExchange);
}

TEST_P(StoreContractTest, ListFiltersPagesAndSortsByNumber) {
  Open();
  for (const char* n : {"3105550003", "2125550002", "3105550001", "2125550001"}) {
    ASSERT_THAT(Add(n), IsOk());
  }
  ASSERT_THAT(Add("3105550002", 0, 0, "sales"), IsOk());
  core::NumberPatch off;
  off.active = false;
  ASSERT_THAT(Update("3105550003", off), IsOk());
  const auto list = [&](NumberFilter filter) {
    return Await<NumberPage>([&](auto done) { store_->ListNumbers(filter, done); });
  };
  NumberFilter all;
  all.limit = 2;
  all.offset = 1;
  auto page = list(all);
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->total, 5u);
  ASSERT_EQ(page->numbers.size(), 2u);
  EXPECT_EQ(page->numbers[0].spec.caller_id.ToString(), "2125550002");
  EXPECT_EQ(page->numbers[1].spec.caller_id.ToString(), "3105550001");
  NumberFilter area;
  area.area_code = 310;
  area.active = true;
  page = list(area);
  ASSERT_EQ(page->numbers.size(), 2u);
  EXPECT_EQ(page->numbers[1].spec.caller_id.ToString(), "3105550002");
  EXPECT_EQ(page->numbers[1].spec.pool, "sales");
  NumberFilter sales;
  sales.pool = "sales";
  EXPECT_EQ(list(sales)->total, 1u);

  // The rested numbers (the dashboard's list): resting now, whatever rested them; a rest that
  // ended is not one.
  ASSERT_THAT(Update("3105550001", RestUntil(kStart + core::Seconds(3600))), IsOk());
  ASSERT_THAT(Update("2125550001", RestUntil(kStart + core::Seconds(60))), IsOk());
  NumberFilter resting;
  resting.resting = true;
  page = list(resting);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->total, 2u);
  EXPECT_EQ(page->numbers[0].spec.caller_id.ToString(), "2125550001");
  EXPECT_TRUE(page->numbers[0].resting);
  clock_.Advance(core::Seconds(120));
  page = list(resting);
  ASSERT_EQ(page->total, 1u);
  EXPECT_EQ(page->numbers[0].spec.caller_id.ToString(), "3105550001");
  resting.area_code = 212;
  EXPECT_EQ(list(resting)->total, 0u);
  NumberFilter not_resting;
  not_resting.resting = false;
  not_resting.active = true;
  EXPECT_EQ(list(not_resting)->total, 3u);  // 2125550001/2, 3105550002
}

// Pages deep into a listing over several pools, with and without an area code, are the right
// slice of all numbers in order (the Redis store finds a page by rank, not by listing every
// number before it), and the total counts them all.
TEST_P(StoreContractTest, DeepPagesAcrossPoolsAreTheRightSlice) {
  Open();
  std::vector<std::string> all;
  std::vector<ImportItem> items;
  const char* const pools[] = {"default", "a", "b"};
  for (int i = 0; i < 60; ++i) {
    const std::string number = (i % 2 == 0 ? "212555" : "310555") + std::to_string(1000 + i * 7);
    ImportItem item;
    item.spec = Spec(number, 0, 0, pools[i % 3]);
    items.push_back(item);
    all.push_back(number);
  }
  ASSERT_THAT(Import(items, OnDuplicate::kUpdate), IsOk());
  std::sort(all.begin(), all.end());
  const auto page = [&](std::optional<std::uint32_t> area_code, std::size_t offset,
                        std::size_t limit) {
    NumberFilter filter;
    filter.area_code = area_code;
    filter.offset = offset;
    filter.limit = limit;
    auto listed = Await<NumberPage>([&](auto done) { store_->ListNumbers(filter, done); });
    EXPECT_THAT(listed, IsOk());
    std::vector<std::string> numbers;
    if (listed) {
      for (const auto& view : listed->numbers) numbers.push_back(view.spec.caller_id.ToString());
    }
    return std::pair(numbers, listed ? listed->total : 0);
  };
  for (const std::size_t offset : {0, 1, 7, 29, 50, 59, 60, 200}) {
    const auto [numbers, total] = page(std::nullopt, offset, 10);
    EXPECT_EQ(total, 60u);
    const std::vector<std::string> want(all.begin() + std::min<std::size_t>(offset, 60),
                                        all.begin() + std::min<std::size_t>(offset + 10, 60));
    EXPECT_EQ(numbers, want) << "offset " << offset;
  }
  std::vector<std::string> in_310;
  for (const auto& number : all) {
    if (number.starts_with("310")) in_310.push_back(number);
  }
  for (const std::size_t offset : {0, 13, 29, 30}) {
    const auto [numbers, total] = page(310, offset, 5);
    EXPECT_EQ(total, 30u);
    const std::vector<std::string> want(in_310.begin() + std::min<std::size_t>(offset, 30),
                                        in_310.begin() + std::min<std::size_t>(offset + 5, 30));
    EXPECT_EQ(numbers, want) << "offset " << offset;
  }
  EXPECT_EQ(page(415, 0, 5).second, 0u);
}

TEST_P(StoreContractTest, StatsCountReservedCappedAndAvailableByAreaCode) {
  Open();
  ASSERT_THAT(Add("2125550001", 1), IsOk());
  ASSERT_THAT(Add("2125550002"), IsOk());
  ASSERT_THAT(Add("2125550003"), IsOk());
  ASSERT_THAT(Add("3105550001"), IsOk());
  core::NumberPatch off;
  off.active = false;
  ASSERT_THAT(Update("2125550003", off), IsOk());
  auto capped = Allocate("2125559999");  // 0001: at its hourly cap once released
  ASSERT_THAT(capped, IsOk());
  ASSERT_TRUE(Release(capped->reservation.id)->released);
  ASSERT_THAT(Allocate("2125559999"), IsOk());  // 0002: reserved
  auto stats = Stats();
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->total_numbers, 4u);
  EXPECT_EQ(stats->active_numbers, 3u);
  EXPECT_EQ(stats->reserved_numbers, 1u);
  EXPECT_EQ(stats->capped_numbers, 1u);
  EXPECT_EQ(stats->available_numbers, 1u);
  EXPECT_EQ(stats->allocations_total, 2u);
  EXPECT_EQ(stats->releases_total, 1u);
  ASSERT_EQ(stats->area_codes.size(), 2u);
  EXPECT_EQ(stats->area_codes[0].area_code, 212u);  // fewest available first
  EXPECT_EQ(stats->area_codes[0].total, 3u);
  EXPECT_EQ(stats->area_codes[0].active, 2u);
  EXPECT_EQ(stats->area_codes[0].available, 0u);
  EXPECT_EQ(stats->area_codes[1].available, 1u);
}

// --- durability ----------------------------------------------------------------------------------

TEST_P(StoreContractTest, AllocationIsJournaledBeforeItIsAnswered) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  auto allocation = Allocate("2125559999");
  ASSERT_THAT(allocation, IsOk());
  EXPECT_EQ(allocation->carrier, "AT&T");
  auto history = Await<std::vector<ReservationRecord>>([&](auto done) {
    journal_->ListReservations(ReservationQuery{false, 10}, clock_.Now(), done);
  });
  ASSERT_THAT(history, IsOk());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->at(0).reservation.id, allocation->reservation.id);
  EXPECT_TRUE(history->at(0).live);
}

TEST_P(StoreContractTest, FailedCommitUndoesTheAllocation) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  journal_->SetFailure(core::Error::Unavailable("disk full"));
  EXPECT_THAT(Allocate("2125559999"), HasError(ErrorCode::kUnavailable));
  const StoreHealth health = store_->Health();
  // Embedded: the journal is the store, nothing can be allocated. Cluster: Redis still can,
  // without the system of record ("degraded").
  EXPECT_TRUE(GetParam() == Backend::kEmbedded ? !health.can_allocate : health.degraded);
  journal_->SetFailure(std::nullopt);
  auto again = Allocate("2125559999");  // the number was put back at once
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->reservation.caller_id.ToString(), "2125550001");
  EXPECT_TRUE(store_->Health().can_allocate);
  EXPECT_FALSE(store_->Health().degraded);
}

TEST_P(StoreContractTest, FailedAddLeavesNoNumber) {
  Open();
  journal_->SetFailure(core::Error::Unavailable("disk full"));
  EXPECT_THAT(Add("2125550001"), HasError(ErrorCode::kUnavailable));
  journal_->SetFailure(std::nullopt);
  EXPECT_THAT(Get("2125550001"), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(Add("2125550001"), IsOk());
}

TEST_P(StoreContractTest, FailedUpdateAndDeleteAreUndone) {
  Open();
  ASSERT_THAT(Add("2125550001"), IsOk());
  journal_->SetFailure(core::Error::Unavailable("disk full"));
  core::NumberPatch off;
  off.active = false;
  EXPECT_THAT(Update("2125550001", off), HasError(ErrorCode::kUnavailable));
  EXPECT_THAT(Delete("2125550001"), HasError(ErrorCode::kUnavailable));
  journal_->SetFailure(std::nullopt);
  auto view = Get("2125550001");
  ASSERT_THAT(view, IsOk());       // the delete was undone
  EXPECT_TRUE(view->spec.active);  // and so was the deactivation
  EXPECT_THAT(Allocate("2125559999"), IsOk());
}

TEST_P(StoreContractTest, ConcurrentAllocationsNeverShareANumber) {
  Open();
  for (int i = 0; i < 20; ++i) ASSERT_THAT(Add("21255500" + std::to_string(10 + i)), IsOk());
  std::mutex mu;
  std::multiset<std::string> allocated;
  int unavailable = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto result = Allocate("2125559999");
        std::lock_guard lock(mu);
        if (result) {
          allocated.insert(result->reservation.caller_id.ToString());
        } else if (result.error().code() == ErrorCode::kNoCallerIdAvailable) {
          ++unavailable;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allocated.size(), 20u);
  EXPECT_EQ(std::set<std::string>(allocated.begin(), allocated.end()).size(), 20u);
  EXPECT_EQ(unavailable, 380);
}

// --- bulk import ---------------------------------------------------------------------------------

TEST_P(StoreContractTest, ImportedNumbersAreAllocatableAtOnce) {
  Open();
  std::vector<ImportItem> items;
  for (std::uint64_t d = 3105550000; d < 3105560000; ++d) items.push_back(Item(d));
  auto result = Import(std::move(items), OnDuplicate::kUpdate);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->imported, 10'000u);
  store_->Flush();
  EXPECT_EQ(journal_->EntriesCommitted(), 10'000u);
  auto allocation = Allocate("3105559876");
  ASSERT_THAT(allocation, IsOk());
  EXPECT_EQ(allocation->reservation.match, core::MatchTier::kExchange);
  EXPECT_EQ(allocation->reservation.caller_id.ToString(), "3105550000");
  EXPECT_EQ(Stats()->total_numbers, 10'000u);
}

TEST_P(StoreContractTest, ImportUpdatesSkipsOrRefusesExistingNumbers) {
  Open();
  ASSERT_THAT(Import({Item(2125550100, "A")}, OnDuplicate::kUpdate), IsOk());
  auto skip = Import({Item(2125550100, "B"), Item(2125550101, "B")}, OnDuplicate::kSkip);
  ASSERT_THAT(skip, IsOk());
  EXPECT_EQ(skip->skipped, 1u);
  EXPECT_EQ(skip->imported, 1u);
  EXPECT_EQ(Get("2125550100")->spec.carrier, "A");

  auto fail = Import({Item(2125550102, "C"), Item(2125550100, "C")}, OnDuplicate::kFail);
  ASSERT_THAT(fail, IsOk());
  EXPECT_EQ(fail->duplicates, (std::vector<std::size_t>{1}));
  EXPECT_EQ(fail->imported, 1u);
  EXPECT_EQ(Get("2125550100")->spec.carrier, "A");

  ImportItem with_last_used = Item(2125550100, "D");
  with_last_used.last_used = core::ToCompact(kStart) - 10;
  auto update = Import({with_last_used}, OnDuplicate::kUpdate);
  ASSERT_THAT(update, IsOk());
  EXPECT_EQ(update->updated, 1u);
  auto view = Get("2125550100");
  EXPECT_EQ(view->spec.carrier, "D");
  EXPECT_EQ(view->usage.last_used, core::ToCompact(kStart) - 10);
  // 0101 and 0102 were never used: they come first; then 0100.
  EXPECT_EQ(Next("2125559999"), "2125550101");
  EXPECT_EQ(Next("2125559999"), "2125550102");
  EXPECT_EQ(Next("2125559999"), "2125550100");
}

// A row that does not give a field leaves an existing number's value (a file without `active`
// or `pool` never reactivates or moves a number), and a number without a pool stays where it is.
TEST_P(StoreContractTest, AnImportUpdateKeepsTheFieldsTheRowDoesNotGive) {
  Open();
  ImportItem full = Item(2125550100, "A");
  full.spec.pool = "east";
  full.spec.state = "NY";
  full.spec.hourly_cap = 5;
  full.spec.active = false;
  ASSERT_THAT(Import({full}, OnDuplicate::kUpdate), IsOk());
  ImportItem seed = Item(2125550100, "B");
  seed.given = kImportCarrier | kImportHourlyCap | kImportDailyCap;
  auto updated = Import({seed}, OnDuplicate::kUpdate);
  ASSERT_THAT(updated, IsOk());
  EXPECT_EQ(updated->updated, 1u);
  auto view = Get("2125550100");
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->spec.carrier, "B");
  EXPECT_EQ(view->spec.hourly_cap, 0);  // given, empty: the default
  EXPECT_EQ(view->spec.pool, "east");
  EXPECT_EQ(view->spec.state, "NY");
  EXPECT_FALSE(view->spec.active);
  EXPECT_EQ(Next("2125559999"), "");  // still inactive
  // The system of record got the same.
  store_->Flush();
  journal_test::RecordingSink sink;
  ASSERT_THAT(journal_->Load(clock_.Now(), sink), IsOk());
  ASSERT_EQ(sink.numbers.size(), 1u);
  EXPECT_EQ(sink.numbers[0].first.carrier, "B");
  EXPECT_EQ(sink.numbers[0].first.pool, "east");
  EXPECT_EQ(sink.numbers[0].first.state, "NY");
  EXPECT_FALSE(sink.numbers[0].first.active);
}

TEST_P(StoreContractTest, FailedImportCommitIsUndone) {
  Open();
  ASSERT_THAT(Import({Item(2125550100, "A")}, OnDuplicate::kUpdate), IsOk());
  journal_->SetFailure(core::Error::Unavailable("disk full"));
  auto result = Import({Item(2125550100, "B"), Item(2125550101, "B")}, OnDuplicate::kUpdate);
  EXPECT_THAT(result, HasError(ErrorCode::kUnavailable));
  journal_->SetFailure(std::nullopt);
  EXPECT_EQ(Get("2125550100")->spec.carrier, "A");
  EXPECT_THAT(Get("2125550101"), HasError(ErrorCode::kNotFound));
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContractTest,
                         ::testing::Values(Backend::kEmbedded, Backend::kRedis), BackendName);

}  // namespace
}  // namespace cidrotor::store::contract
