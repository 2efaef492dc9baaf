// Invariants under concurrency against the real binary: a number is never held by two live
// reservations (400 requests in flight on a pool of 20), and a number never exceeds its hourly
// cap while reservations churn with a 1-second TTL.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_fixture.h"

namespace cidrotor::e2e {
namespace {

class ConcurrencyTest : public E2eTest {};

TEST_F(ConcurrencyTest, FourHundredConcurrentRequestsOnTwentyNumbersGiveTwentyDistinct) {
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 20));
  const auto responses =
      test_support::FireConcurrently(port(), "GET", "/next-cid?to=2125559876", 400);
  std::set<std::string> allocated;
  int ok = 0;
  int unavailable = 0;
  for (const auto& r : responses) {
    if (r.status == 200) {
      ++ok;
      allocated.insert(Field(ParseJson(r.body), "caller_id"));
    } else if (r.status == 503) {
      ++unavailable;
      EXPECT_EQ(Field(ParseJson(r.body), "error"), "no_caller_id_available") << r.body;
    } else {
      ADD_FAILURE() << "status " << r.status << " " << r.error << " " << r.body;
    }
  }
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(allocated.size(), 20U);
  EXPECT_EQ(unavailable, 380);
}

// The hour (UTC; TIMEZONE is UTC here) an instant falls in.
std::int64_t HourOf(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::hours>(t.time_since_epoch()).count();
}

TEST_F(ConcurrencyTest, HourlyCapIsNeverExceededUnderChurn) {
  constexpr int kCap = 2;
  ASSERT_NO_FATAL_FAILURE(StartServer({{"DEFAULT_RESERVATION_TTL", "1"}, {"TIMEZONE", "UTC"}}));
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 3, "hourly_limit=" + std::to_string(kCap)));

  // 4 clients allocate as fast as they can for 3 s of wall time (bounded: also by a count).
  // Reservations expire after 1 s, so every number comes back until its hourly cap is reached.
  std::mutex mu;
  std::map<std::pair<std::string, std::int64_t>, int> per_hour;  // guarded by mu
  std::atomic<int> other_statuses{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      HttpClient client(port());
      for (int i = 0; i < 200'000 && std::chrono::steady_clock::now() < deadline; ++i) {
        const auto sent = std::chrono::system_clock::now();
        const auto r = client.Get("/next-cid?to=2125559876");
        const auto received = std::chrono::system_clock::now();
        if (r.status == 503) continue;
        if (r.status != 200) {
          ++other_statuses;
          continue;
        }
        // An answer straddling an hour boundary belongs to an unknown window: skip it.
        if (HourOf(sent) != HourOf(received)) continue;
        std::lock_guard lock(mu);
        ++per_hour[{Field(ParseJson(r.body), "caller_id"), HourOf(sent)}];
      }
    });
  }
  for (auto& t : clients) t.join();

  EXPECT_EQ(other_statuses.load(), 0);
  int reached_cap = 0;
  for (const auto& [key, count] : per_hour) {
    EXPECT_LE(count, kCap) << key.first << " in hour " << key.second;
    if (count == kCap) ++reached_cap;
  }
  EXPECT_GE(reached_cap, 1) << "no number came back after its TTL: the test proved nothing";

  // The store's own counters agree.
  const auto listed = Admin("GET", "/api/numbers");
  ASSERT_EQ(listed.status, 200) << listed.body;
  const auto json = ParseJson(listed.body);
  const auto* numbers = json.is_object() ? json.as_object().if_contains("numbers") : nullptr;
  ASSERT_TRUE(numbers != nullptr && numbers->is_array()) << listed.body;
  ASSERT_EQ(numbers->as_array().size(), 3U);
  for (const auto& number : numbers->as_array()) {
    const std::string used = Field(number, "hourly_used");
    ASSERT_FALSE(used.empty()) << listed.body;
    EXPECT_LE(std::stoi(used), kCap) << listed.body;
  }
}

}  // namespace
}  // namespace cidrotor::e2e
