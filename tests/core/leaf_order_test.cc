// LeafOrder against a sorted reference: any mix of in-order and out-of-order additions, removals
// of the oldest, growth and shrinking of both buffers.
#include "core/leaf_order.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <tuple>

namespace cidrotor::core {
namespace {

using Key = std::tuple<std::uint32_t, std::uint16_t, std::uint32_t>;  // last_used, line, record

Key KeyOf(const LeafEntry& e) { return {e.last_used, e.line, e.record}; }

TEST(LeafOrderTest, InOrderAdditionsComeOutFirstInFirstOut) {
  LeafOrder order;
  for (std::uint32_t i = 0; i < 100; ++i) order.push(LeafEntry{i, 0, 0, i});
  for (std::uint32_t i = 0; i < 100; ++i) {
    ASSERT_EQ(order.front().record, i);
    order.pop();
  }
  EXPECT_TRUE(order.empty());
}

TEST(LeafOrderTest, AnOlderAdditionComesOutBeforeNewerOnes) {
  LeafOrder order;
  order.push(LeafEntry{10, 0, 0, 1});
  order.push(LeafEntry{20, 0, 0, 2});
  order.push(LeafEntry{5, 0, 0, 3});   // a call released late: older than the newest
  order.push(LeafEntry{20, 1, 0, 4});  // same second, higher line: after record 2
  order.push(LeafEntry{20, 0, 0, 5});  // ties with the newest by key: still in order
  std::vector<std::uint32_t> out;
  while (!order.empty()) {
    out.push_back(order.front().record);
    order.pop();
  }
  EXPECT_EQ(out, (std::vector<std::uint32_t>{3, 1, 2, 5, 4}));
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
      const LeafEntry entry{last_used, static_cast<std::uint16_t>(rng() % 10'000), 0, step};
      order.push(entry);
      reference.insert(KeyOf(entry));
    } else {
      ASSERT_EQ(std::get<0>(KeyOf(order.front())), std::get<0>(*reference.begin()));
      ASSERT_EQ(std::get<1>(KeyOf(order.front())), std::get<1>(*reference.begin()));
      reference.erase(reference.find(KeyOf(order.front())));
      order.pop();
    }
    ASSERT_EQ(order.size(), reference.size());
  }
}

}  // namespace
}  // namespace cidrotor::core
