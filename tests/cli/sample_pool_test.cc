// The sample pool generator: valid, distinct, evenly spread, deterministic.
#include "cli/sample_pool.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/phone_number.h"

namespace cidrotor::cli {
namespace {

TEST(SamplePoolTest, NumbersAreValidPoolNumbersAndDistinct) {
  const auto pool = GenerateSamplePool(20'000);
  ASSERT_EQ(pool.size(), 20'000U);
  std::set<std::uint64_t> seen;
  for (const auto& spec : pool) {
    const std::string digits = spec.caller_id.ToString();
    const auto parsed = core::PhoneNumber::ParsePoolNumber(digits);
    ASSERT_TRUE(parsed.has_value()) << digits;
    EXPECT_TRUE(parsed->IsGeographic()) << digits;
    EXPECT_TRUE(seen.insert(spec.caller_id.digits()).second) << digits << " twice";
    EXPECT_FALSE(spec.carrier.empty());
    EXPECT_EQ(spec.state.size(), 2U);
    EXPECT_TRUE(spec.active);
    EXPECT_EQ(spec.hourly_cap, 0);  // the configured defaults apply
    EXPECT_EQ(spec.daily_cap, 0);
  }
}

TEST(SamplePoolTest, SpreadsEvenlyOverTheAreaCodesStartingAtTheFictionalRange) {
  const auto pool = GenerateSamplePool(150);
  std::map<std::uint32_t, int> per_area_code;
  for (const auto& spec : pool) ++per_area_code[spec.caller_id.area_code()];
  ASSERT_EQ(per_area_code.size(), SampleAreaCodes().size());
  for (const auto& [npa, count] : per_area_code) EXPECT_EQ(count, 10) << npa;
  EXPECT_EQ(pool.front().caller_id.ToString(), "2125550100");  // 555-0100: rings nobody
  EXPECT_EQ(pool.front().state, "NY");
}

TEST(SamplePoolTest, SameSeedSamePool) {
  const auto a = GenerateSamplePool(500, 7);
  const auto b = GenerateSamplePool(500, 7);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].caller_id, b[i].caller_id);
    EXPECT_EQ(a[i].carrier, b[i].carrier);
  }
  EXPECT_TRUE(GenerateSamplePool(0).empty());
}

}  // namespace
}  // namespace cidrotor::cli
