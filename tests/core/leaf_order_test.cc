// LeafOrder against a sorted reference: any mix of in-order and out-of-order additions, removals
// of the oldest, growth and shrinking of both buffers.
#include "core/leaf_order.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <tuple>

namespace cidrotor::core {
namespace {

// last_used, last_used_ms, line, record
using Key = std::tuple<std::uint32_t, std::uint16_t, std::uint16_t, std::uint32_t>;

Key KeyOf(const LeafEntry& e) { return {e.last_used(), e.last_used_ms(), e.line(), e.record()}; }

TEST(LeafOrderTest, AnEntryKeepsEveryFieldOfItsPackedKey) {
  const LeafEntry entry(4'000'000'000U, 999, 9'999, 0xABCD, LeafEntry::kMaxRecords - 1);
  EXPECT_EQ(entry.last_used(), 4'000'000'000U);
  EXPECT_EQ(entry.last_used_ms(), 999);
  EXPECT_EQ(entry.line(), 9'999);
  EXPECT_EQ(entry.generation(), 0xABCD);
  EXPECT_EQ(entry.record(), LeafEntry::kMaxRecords - 1);
  // The millisecond orders before the line, the line before the generation.
  EXPECT_TRUE(LeafEntry(7, 2, 0, 0, 1) > LeafEntry(7, 1, 9'999, 0xFFFF, 2));
  EXPECT_TRUE(LeafEntry(7, 1, 5, 0, 1) > LeafEntry(7, 1, 4, 0xFFFF, 2));
  EXPECT_FALSE(LeafEntry(7, 1, 5, 0, 1) > LeafEntry(8, 0, 0, 0, 2));
}

TEST(LeafOrderTest, InOrderAdditionsComeOutFirstInFirstOut) {
  LeafOrder order;
  for (std::uint32_t i = 0; i < 100; ++i) order.push(LeafEntry(i, 0, 0, 0, i));
  for (std::uint32_t i = 0; i < 100; ++i) {
    ASSERT_EQ(order.front().record(), i);
    order.pop();
  }
  EXPECT_TRUE(order.empty());
}

TEST(LeafOrderTest, AnOlderAdditionComesOutBeforeNewerOnes) {
  LeafOrder order;
  order.push(LeafEntry(10, 0, 0, 0, 1));
  order.push(LeafEntry(20, 0, 0, 0, 2));
  order.push(LeafEntry(5, 0, 0, 0, 3));     // a call released late: older than the newest
  order.push(LeafEntry(20, 0, 1, 0, 4));    // same second, higher line: after record 2
  order.push(LeafEntry(20, 0, 0, 0, 5));    // ties with the newest by key: still in order
  order.push(LeafEntry(20, 400, 0, 0, 6));  // later in that second: after every line of it
  order.push(LeafEntry(20, 300, 9, 0, 7));  // earlier in it than record 6
  std::vector<std::uint32_t> out;
  while (!order.empty()) {
    out.push_back(order.front().record());
    order.pop();
  }
  EXPECT_EQ(out, (std::vector<std::uint32_t>{3, 1, 2, 5, 4, 7, 6}));
}

TEST(LeafOrderTest, MatchesASortedReferenceUnderRandomUse) {
  std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed());
  LeafOrder order;
  std::multiset<Key> reference;
  std::uint32_t clock = 0;
  for (std::uint32_t step = 0; step < 200'000; ++step) {
    // Phases of growth and of draining, so both buffers grow and shrink.
    const bool growing = (step / 5'000) % 2 == 0;
    if (reference.empty() || rng() % 100 < (growing ? 70u : 30u)) {
      clock += static_cast<std::uint32_t>(rng() % 3);
      // Mostly "now" (in order), sometimes a key from the past.
      const std::uint32_t last_used =
          rng() % 4 == 0 ? clock - std::min(clock, static_cast<std::uint32_t>(rng() % 500)) : clock;
      const LeafEntry entry(last_used,
                            static_cast<std::uint16_t>(rng() % 4 == 0 ? rng() % 1'000 : 0),
                            static_cast<std::uint16_t>(rng() % 10'000), 0, step);
      order.push(entry);
      reference.insert(KeyOf(entry));
    } else {
      ASSERT_EQ(std::get<0>(KeyOf(order.front())), std::get<0>(*reference.begin()));
      ASSERT_EQ(std::get<1>(KeyOf(order.front())), std::get<1>(*reference.begin()));
      ASSERT_EQ(std::get<2>(KeyOf(order.front())), std::get<2>(*reference.begin()));
      reference.erase(reference.find(KeyOf(order.front())));
      order.pop();
    }
    ASSERT_EQ(order.size(), reference.size());
  }
}

}  // namespace
}  // namespace cidrotor::core
