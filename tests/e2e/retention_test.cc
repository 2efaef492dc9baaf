// Retention against the real binary, in both modes: history aged past API_LOG_RETENTION_DAYS and
// RESERVATION_RETENTION_DAYS in the system of record (SQLite file, or PostgreSQL) while the
// server is stopped is deleted by the restarted server on its own, the newest rows kept.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "e2e/e2e_fixture.h"

namespace cidrotor::e2e {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kDayMs = 86'400'000;

class RetentionTest : public E2eTest {
 protected:
  // The api_logs ids GET /api/logs lists, newest first.
  std::vector<std::uint64_t> LogIds() {
    const auto list = ParseJson(Admin("GET", "/api/logs?limit=1000").body);
    std::vector<std::uint64_t> ids;
    for (const auto& log : list.at("logs").as_array()) ids.push_back(std::stoull(Field(log, "id")));
    return ids;
  }
  // The reservation ids GET /api/reservations?live=false lists, newest first.
  std::string ReservationIds() {
    const auto list = ParseJson(Admin("GET", "/api/reservations?live=false&limit=1000").body);
    std::string ids;
    for (const auto& r : list.at("reservations").as_array()) {
      if (!ids.empty()) ids.push_back(',');
      ids.append(Field(r, "reservation_id"));
    }
    return ids;
  }
};

TEST_F(RetentionTest, HistoryPastItsRetentionIsDeletedByTheServerItself) {
  ASSERT_NO_FATAL_FAILURE(
      StartServer({{"API_LOG_RETENTION_DAYS", "30"}, {"RESERVATION_RETENTION_DAYS", "90"}}));
  ASSERT_NO_FATAL_FAILURE(AddNumbers(212, 1001, 3));
  std::string ids;
  for (int i = 0; i < 3; ++i) {
    const auto r = NextCid("to=2125559876&campaign=old");
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string id = Field(ParseJson(r.body), "reservation_id");
    ASSERT_EQ(client().Post("/release", "reservation_id=" + id).status, 200);
    ids.insert(0, ids.empty() ? id : id + ",");
  }
  const auto ids_before = LogIds();
  ASSERT_FALSE(ids_before.empty());
  const std::uint64_t newest_before = ids_before.front();  // later ones: these GETs' own rows
  ASSERT_EQ(server().Terminate(), 0);

  // Every row so far 100 days older, past both retentions, but the last api_logs row (the pass
  // keeps the newest row of a table anyway: the journal contract tests that case).
  ASSERT_NO_FATAL_FAILURE(
      RunOnStore("UPDATE api_logs SET timestamp = timestamp - " + std::to_string(100 * kDayMs) +
                 " WHERE id < (SELECT MAX(id) FROM api_logs); UPDATE reservations SET reserved_at "
                 "= reserved_at - " +
                 std::to_string(100 * kDayMs) + ", reserved_until = reserved_until - " +
                 std::to_string(100 * kDayMs) + ", released_at = released_at - " +
                 std::to_string(100 * kDayMs)));
  ASSERT_NO_FATAL_FAILURE(RestartServer());

  // The first pass runs at the first tick after the start: wait for it (a few seconds at most).
  const auto started = Clock::now();
  std::vector<std::uint64_t> log_ids;
  for (;;) {
    log_ids = LogIds();
    if (!log_ids.empty() && log_ids.back() > newest_before) break;
    ASSERT_LT(Clock::now() - started, std::chrono::seconds(15)) << log_ids.back();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Reservations: all but the highest id, which carries the id sequence.
  EXPECT_EQ(ReservationIds(), ids.substr(0, ids.find(','))) << ids;
  const auto next = NextCid("to=2125559876");
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_GT(std::stoull(Field(ParseJson(next.body), "reservation_id")),
            std::stoull(ids.substr(0, ids.find(','))));
}

}  // namespace
}  // namespace cidrotor::e2e
