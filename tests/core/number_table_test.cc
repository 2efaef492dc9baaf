#include "core/number_table.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>
#include <vector>

namespace cidrotor::core {
namespace {

// Random inserts and erases against std::unordered_map, seeded from gtest's seed.
TEST(NumberTableTest, MatchesAReferenceMapUnderChurn) {
  std::vector<std::uint64_t> digits;
  auto digits_of = [&digits](std::uint32_t id) { return digits[id]; };
  NumberTable<decltype(digits_of)> table(digits_of);
  std::unordered_map<std::uint64_t, std::uint32_t> reference;
  std::mt19937_64 rng(
      static_cast<std::uint64_t>(::testing::UnitTest::GetInstance()->random_seed()));
  for (int step = 0; step < 200'000; ++step) {
    // A small key space so inserts, hits and erases of existing keys all happen often.
    const std::uint64_t key = 2'125'550'000 + rng() % 5'000;
    auto it = reference.find(key);
    if (it == reference.end()) {
      digits.push_back(key);
      const auto id = static_cast<std::uint32_t>(digits.size() - 1);
      table.Insert(id);
      reference.emplace(key, id);
    } else if (rng() % 2 == 0) {
      table.Erase(it->second);
      reference.erase(it);
    }
    const std::uint64_t probe = 2'125'550'000 + rng() % 5'000;
    auto expected = reference.find(probe);
    auto found = table.Find(probe);
    ASSERT_EQ(found.has_value(), expected != reference.end()) << "step " << step;
    if (found) {
      ASSERT_EQ(*found, expected->second);
    }
  }
  EXPECT_EQ(table.size(), reference.size());
}

}  // namespace
}  // namespace cidrotor::core
