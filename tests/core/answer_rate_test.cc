#include "core/answer_rate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace cidrotor::core {
namespace {

constexpr CompactTime kNow = 200'000'000;

NumberAnswers Number(std::uint64_t digits, std::uint32_t calls, std::uint32_t answered,
                     std::string pool = "default") {
  NumberAnswers n;
  n.caller_id = PhoneNumber::FromValidDigits(digits);
  n.pool = std::move(pool);
  n.calls = calls;
  n.answered = answered;
  return n;
}

// `count` numbers of area code 212 from 2125550100 up, each answering 30 of 100 calls.
std::vector<NumberAnswers> HealthyNumbers(int count, std::string pool = "default") {
  std::vector<NumberAnswers> numbers;
  for (int i = 0; i < count; ++i) numbers.push_back(Number(2'125'550'100 + i, 100, 30, pool));
  return numbers;
}

std::vector<std::string> CallerIds(const std::vector<AnswerRateDrop>& drops) {
  std::vector<std::string> ids;
  for (const AnswerRateDrop& d : drops) ids.push_back(d.caller_id.ToString());
  return ids;
}

std::vector<PoolRestCounts> Pool(std::uint32_t active, std::uint32_t resting = 0,
                                 std::string name = "default") {
  return {PoolRestCounts{std::move(name), active, resting}};
}

TEST(AnswerRateTest, ANumberFarBelowItsBaselinesIsRestedWithItsFigures) {
  auto numbers = HealthyNumbers(19);
  numbers.push_back(Number(2'125'559'999, 40, 2));  // 5 % against 30 %
  const auto drops = ChooseNumbersToRest(numbers, Pool(20), AutoRestRules{}, kNow);
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(drops[0].caller_id.ToString(), "2125559999");
  EXPECT_EQ(drops[0].pool, "default");
  EXPECT_EQ(drops[0].calls, 40u);
  EXPECT_EQ(drops[0].answered, 2u);
  EXPECT_DOUBLE_EQ(drops[0].rate, 0.05);
  EXPECT_DOUBLE_EQ(drops[0].area_code_baseline, 0.30);  // the others only
  EXPECT_DOUBLE_EQ(drops[0].pool_baseline, 0.30);
}

TEST(AnswerRateTest, TheBinomialTailIsExactForSmallCountsAndSafeForLargeOnes) {
  EXPECT_NEAR(BinomialLowerTail(0, 30, 0.25), std::pow(0.75, 30), 1e-12);
  // P(X <= 2) = .75^30 + 30 * .25 * .75^29 + 435 * .25^2 * .75^28
  const double two =
      std::pow(0.75, 30) + 30 * 0.25 * std::pow(0.75, 29) + 435 * 0.0625 * std::pow(0.75, 28);
  EXPECT_NEAR(BinomialLowerTail(2, 30, 0.25), two, 1e-12);
  EXPECT_DOUBLE_EQ(BinomialLowerTail(30, 30, 0.25), 1.0);
  EXPECT_DOUBLE_EQ(BinomialLowerTail(0, 30, 0.0), 1.0);
  // 0.7^5000 underflows a double; the tail just below the mean of 1,500 must not read as 0.
  EXPECT_GT(BinomialLowerTail(1'490, 5'000, 0.3), 0.3);
  EXPECT_LT(BinomialLowerTail(1'300, 5'000, 0.3), 1e-9);
}

// 2 of 30 answered (6.7 %) is below 40 % of the others' 30 %, but a number answering 30 % does
// that 0.2 % of the time: chance, checked every few minutes, not a label. 0 of 30 is not.
TEST(AnswerRateTest, AShortBadRunIsChanceNotALabel) {
  auto numbers = HealthyNumbers(19);
  numbers.push_back(Number(2'125'559'999, 30, 2));
  EXPECT_TRUE(ChooseNumbersToRest(numbers, Pool(20), AutoRestRules{}, kNow).empty());
  numbers.back().answered = 0;
  EXPECT_THAT(CallerIds(ChooseNumbersToRest(numbers, Pool(20), AutoRestRules{}, kNow)),
              testing::ElementsAre("2125559999"));
}

TEST(AnswerRateTest, AnAreaCodeThatAnswersLessKeepsItsNumbers) {
  auto numbers = HealthyNumbers(18);
  // Two numbers of 305, where people answer 8 % and 10 %: below 40 % of the pool's 30 %, but
  // not of their area code's.
  numbers.push_back(Number(3'055'550'100, 100, 8));
  numbers.push_back(Number(3'055'550'101, 100, 10));
  EXPECT_TRUE(ChooseNumbersToRest(numbers, Pool(20), AutoRestRules{}, kNow).empty());
}

TEST(AnswerRateTest, AloneInItsAreaCodeTheNumberIsJudgedByItsPool) {
  auto numbers = HealthyNumbers(19);
  numbers.push_back(Number(3'055'550'100, 50, 3));  // 6 %, no other number of 305
  const auto drops = ChooseNumbersToRest(numbers, Pool(20), AutoRestRules{}, kNow);
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_LT(drops[0].area_code_baseline, 0);
  EXPECT_DOUBLE_EQ(drops[0].pool_baseline, 0.30);
}

TEST(AnswerRateTest, TooFewCallsAreNotJudgedAndTooFewOthersAreNoBaseline) {
  auto numbers = HealthyNumbers(19);
  numbers.push_back(Number(2'125'559'999, 29, 0));  // below AUTO_REST_MIN_CALLS = 30
  EXPECT_TRUE(ChooseNumbersToRest(numbers, Pool(20), AutoRestRules{}, kNow).empty());
  // The only other numbers made 29 calls together: no baseline at all, nothing to judge by.
  std::vector<NumberAnswers> sparse{Number(2'125'550'100, 29, 15), Number(2'125'559'999, 100, 0)};
  EXPECT_TRUE(ChooseNumbersToRest(sparse, Pool(100), AutoRestRules{}, kNow).empty());
}

TEST(AnswerRateTest, APoolThatNobodyAnswersRestsNothing) {
  std::vector<NumberAnswers> numbers;
  for (int i = 0; i < 20; ++i) numbers.push_back(Number(2'125'550'100 + i, 100, 0));
  EXPECT_TRUE(ChooseNumbersToRest(numbers, Pool(20), AutoRestRules{}, kNow).empty());
}

TEST(AnswerRateTest, APoolRestsAtMostItsShareWorstFirstCountingRestsGoingOn) {
  auto numbers = HealthyNumbers(16);
  numbers.push_back(Number(2'125'559'996, 100, 9));   // 9 %
  numbers.push_back(Number(2'125'559'997, 100, 2));   // 2 %: the worst
  numbers.push_back(Number(2'125'559'998, 100, 5));   // 5 %
  numbers.push_back(Number(2'125'559'999, 100, 11));  // 11 %
  AutoRestRules rules;
  rules.max_share_percent = 15;  // 3 of 20
  EXPECT_THAT(CallerIds(ChooseNumbersToRest(numbers, Pool(20), rules, kNow)),
              testing::ElementsAre("2125559997", "2125559998", "2125559996"));
  // One already rests (an admin's, say): two more.
  EXPECT_THAT(CallerIds(ChooseNumbersToRest(numbers, Pool(20, 1), rules, kNow)),
              testing::ElementsAre("2125559997", "2125559998"));
  // A pool of 6 at 15 % rests none automatically (the share rounds down).
  EXPECT_TRUE(ChooseNumbersToRest(numbers, Pool(6), rules, kNow).empty());
  rules.max_share_percent = 0;  // off
  EXPECT_TRUE(ChooseNumbersToRest(numbers, Pool(20), rules, kNow).empty());
}

TEST(AnswerRateTest, InactiveAndRestingNumbersAreNotRestedButFeedTheBaselines) {
  auto numbers = HealthyNumbers(18);
  NumberAnswers inactive = Number(2'125'559'998, 100, 1);
  inactive.active = false;
  NumberAnswers resting = Number(2'125'559'999, 100, 1);
  resting.rest_until = kNow + 60;
  numbers.push_back(inactive);
  numbers.push_back(resting);
  EXPECT_TRUE(ChooseNumbersToRest(numbers, Pool(20), AutoRestRules{}, kNow).empty());
  // A rest that has ended is judged again (on its calls since, which the store counts).
  numbers.back().rest_until = kNow - 60;
  EXPECT_THAT(CallerIds(ChooseNumbersToRest(numbers, Pool(20), AutoRestRules{}, kNow)),
              testing::ElementsAre("2125559999"));
  // Its baselines included the inactive number's calls: (18*30 + 1) / (18*100 + 100).
  EXPECT_DOUBLE_EQ(ChooseNumbersToRest(numbers, Pool(20), AutoRestRules{}, kNow)[0].pool_baseline,
                   541.0 / 1900.0);
}

TEST(AnswerRateTest, PoolsAreJudgedApartWithTheirOwnShares) {
  auto numbers = HealthyNumbers(10, "east");
  auto west = HealthyNumbers(10, "west");
  for (auto& n : west) n.caller_id = PhoneNumber::FromValidDigits(n.caller_id.digits() + 1000);
  numbers.insert(numbers.end(), west.begin(), west.end());
  numbers.push_back(Number(2'125'559'990, 100, 1, "east"));
  numbers.push_back(Number(2'125'559'991, 100, 1, "west"));
  const std::vector<PoolRestCounts> pools{{"east", 11, 1}, {"west", 11, 0}};
  // East's one allowed rest is taken; west rests its number.
  EXPECT_THAT(CallerIds(ChooseNumbersToRest(numbers, pools, AutoRestRules{}, kNow)),
              testing::ElementsAre("2125559991"));
}

}  // namespace
}  // namespace cidrotor::core
