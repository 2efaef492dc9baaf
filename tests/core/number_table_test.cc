#include "core/number_table.h"

#include <gtest/gtest.h>

#include <functional>
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

// A slot keeps 24 bits of id beside 8 of the hash: the highest ids come back whole, and numbers
// whose hashes share those 8 bits (thousands here, over 255 values) are told apart by their digits.
TEST(NumberTableTest, TheHighestIdsAndNumbersSharingHashBitsAreFound) {
  using Table = NumberTable<std::function<std::uint64_t(std::uint32_t)>>;
  std::unordered_map<std::uint32_t, std::uint64_t> digits;
  Table table([&digits](std::uint32_t id) { return digits.at(id); });
  for (std::uint32_t k = 0; k < 20'000; ++k) {
    const std::uint32_t id = k % 2 == 0 ? k : Table::kMaxIds - 1 - k;
    digits[id] = 2'125'550'000 + 7ULL * k;
    table.Insert(id);
  }
  for (const auto& [id, number] : digits) {
    const auto found = table.Find(number);
    ASSERT_TRUE(found.has_value()) << number;
    EXPECT_EQ(*found, id);
  }
  for (std::uint32_t k = 0; k < 20'000; ++k) {
    EXPECT_FALSE(table.Find(2'125'550'000 + 7ULL * k + 3).has_value());
  }
  table.Reserve(100'000);  // a rehash: everything still found
  EXPECT_EQ(table.Find(digits[Table::kMaxIds - 2]), Table::kMaxIds - 2);
  EXPECT_EQ(table.Find(digits[0]), 0U);
  table.Erase(Table::kMaxIds - 2);
  EXPECT_FALSE(table.Find(digits[Table::kMaxIds - 2]).has_value());
  EXPECT_EQ(table.Find(digits[Table::kMaxIds - 4]), Table::kMaxIds - 4);
  EXPECT_EQ(table.size(), 19'999U);
}

}  // namespace
}  // namespace cidrotor::core
