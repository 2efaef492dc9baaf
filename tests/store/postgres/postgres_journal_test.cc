// What only the PostgreSQL journal does: versioned migrations under an advisory lock, group commit
// over a pipeline, `on_durable` after the commit, degraded mode while the server is down (bounded
// backlog, flushed in order on its return), fast failure when the server is unreachable.
#include "store/postgres/postgres_journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/calendar.h"
#include "pg_test_database.h"
#include "store/journal_test_util.h"
#include "store/postgres/backlog_spill.h"
#include "store/postgres/schema.h"
#include "store/row_codec.h"

namespace cidrotor::store::journal_test {
namespace {

using postgres_test::PgTestDatabase;
using std::chrono::seconds;

// A loopback port nothing listens on: bound, then closed.
std::uint16_t ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Relays TCP from a loopback port to PostgreSQL's, and breaks a connection the way a network
// failure would, at a chosen moment. Arm() queues a rule; a rule applies to the first chunk a
// client sends afterwards that contains `match` (any chunk when empty) and not `unless`. `hold`
// is the proxy's, or the rule's own.
class CuttingProxy {
 public:
  enum class Cut {
    kAfter,   // the chunk reaches the server, its answer is held back, both sides close `hold` on
    kBefore,  // the chunk is dropped; both sides close `hold` later
    kLate,    // the client side closes `hold` later; the chunk reaches the server only once a
              // kReleaseLate chunk was answered (its process then commits what the client gave
              // up on), and the server side closes 5 x `hold` after that
    kReleaseLate,  // no cut: once the server answered the chunk, kLate's chunk goes on
    kSwallow,      // the chunk and all that follow on its connection are dropped, nothing closes:
                   // a server that hangs
  };

  CuttingProxy(std::uint16_t server_port, std::chrono::milliseconds hold)
      : server_port_(server_port), hold_(hold) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = Loopback(0);
    socklen_t len = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        ::listen(listener_, 8) == 0 &&
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
      acceptor_ = std::thread([this] { Accept(); });
    }
  }
  ~CuttingProxy() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listener_);
    for (std::thread& t : relays_) t.join();  // each ends within its poll period
  }
  std::uint16_t port() const { return port_; }
  void Arm(Cut cut, std::string match = {}, std::string unless = {},
           std::optional<std::chrono::milliseconds> hold = std::nullopt) {
    std::lock_guard lock(mu_);
    rules_.push_back(Rule{cut, std::move(match), std::move(unless), hold.value_or(hold_)});
  }
  int fired() const { return fired_.load(); }  // rules applied so far
  int cuts() const { return cuts_.load(); }    // connections whose client side a rule closed
  // Chunks the server sent that a kAfter or kBefore rule held back while the client was still
  // connected: with kAfter, proof that the server answered (committed) before the cut.
  int answers_held() const { return answers_held_.load(); }

 private:
  struct Rule {
    Cut cut;
    std::string match;
    std::string unless;
    std::chrono::milliseconds hold;
  };
  using Clock = std::chrono::steady_clock;

  static sockaddr_in Loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    return addr;
  }
  static bool WriteAll(int fd, std::string_view data) {
    for (std::size_t sent = 0; sent < data.size();) {
      const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  std::optional<Rule> TakeRule(std::string_view chunk) {
    std::lock_guard lock(mu_);
    if (rules_.empty()) return std::nullopt;
    const Rule rule = rules_.front();
    if (chunk.find(rule.match) == std::string_view::npos ||
        (!rule.unless.empty() && chunk.find(rule.unless) != std::string_view::npos)) {
      return std::nullopt;
    }
    rules_.pop_front();
    ++fired_;
    return rule;
  }
  void Accept() {
    while (!stop_) {
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client >= 0) {
        relays_.emplace_back([this, client] { Relay(client); });
      } else if (errno != EINTR && errno != ECONNABORTED) {
        return;  // the listener was shut down
      }
    }
  }
  void Relay(int client) {
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = Loopback(server_port_);
    if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(server);
      ::close(client);
      return;
    }
    bool client_open = true;
    bool server_open = true;
    bool release_when_answered = false;  // a kReleaseLate chunk went to the server
    bool swallowing = false;             // a kSwallow chunk came
    constexpr Clock::time_point kNever = Clock::time_point::max();
    Clock::time_point close_client_at = kNever, close_server_at = kNever;
    std::optional<std::string> late_request;  // kLate's chunk, until released
    std::chrono::milliseconds late_hold{0};
    char buffer[16384];
    while (!stop_ && (client_open || server_open)) {
      pollfd fds[2] = {{client_open ? client : -1, POLLIN, 0},
                       {server_open ? server : -1, POLLIN, 0}};
      ::poll(fds, 2, 10);
      const auto now = Clock::now();
      if (client_open && now >= close_client_at) {
        ::shutdown(client, SHUT_RDWR);
        client_open = false;
        ++cuts_;
      }
      if (late_request && late_released_.load()) {
        if (!WriteAll(server, *late_request)) break;
        late_request.reset();
        close_server_at = now + 5 * late_hold;
      }
      if (server_open && now >= close_server_at) {
        ::shutdown(server, SHUT_RDWR);
        server_open = false;
      }
      if (client_open && fds[0].revents != 0) {
        const ssize_t n = ::read(client, buffer, sizeof buffer);
        if (n <= 0) break;
        const std::string_view chunk(buffer, static_cast<std::size_t>(n));
        if (close_client_at != kNever || swallowing) continue;  // nothing more goes through
        const std::optional<Rule> rule = TakeRule(chunk);
        const std::optional<Cut> cut = rule ? std::optional(rule->cut) : std::nullopt;
        if (cut == Cut::kSwallow) {
          swallowing = true;
          continue;
        }
        if (cut == Cut::kLate) {
          late_request.emplace(chunk);
          late_hold = rule->hold;
          close_client_at = now + rule->hold;
          continue;
        }
        if (cut != Cut::kBefore && !WriteAll(server, chunk)) break;
        if (cut == Cut::kAfter || cut == Cut::kBefore) {
          close_client_at = close_server_at = now + rule->hold;
        }
        if (cut == Cut::kReleaseLate) release_when_answered = true;
      }
      if (server_open && fds[1].revents != 0) {
        const ssize_t n = ::read(server, buffer, sizeof buffer);
        if (n <= 0) break;
        const std::string_view chunk(buffer, static_cast<std::size_t>(n));
        if (close_client_at != kNever || !client_open) {
          if (client_open) ++answers_held_;
        } else if (!WriteAll(client, chunk)) {
          break;
        } else if (release_when_answered) {
          release_when_answered = false;
          late_released_ = true;
        }
      }
    }
    ::close(server);
    ::close(client);
  }

  const std::uint16_t server_port_;
  const std::chrono::milliseconds hold_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::mutex mu_;
  std::deque<Rule> rules_;  // guarded by mu_
  std::atomic<int> fired_{0};
  std::atomic<int> cuts_{0};
  std::atomic<int> answers_held_{0};
  std::atomic<bool> late_released_{false};
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> relays_;  // the acceptor's until it ends
};

class PostgresJournalTest : public ::testing::Test {
 protected:
  std::unique_ptr<PostgresJournal> Open(PostgresOptions options = {}) {
    options.connection = db_.settings();
    return OpenAsIs(std::move(options));
  }
  // A journal whose connection goes through `proxy` (with the timeouts of `options`), up and
  // idle: allocation 1 is committed, so a rule armed next meets the next batch.
  std::unique_ptr<PostgresJournal> OpenThrough(const CuttingProxy& proxy,
                                               PostgresOptions options = {}) {
    EXPECT_NE(proxy.port(), 0);
    postgres::ConnectionSettings settings = db_.settings();
    settings.port = proxy.port();
    settings.connect_timeout = options.connection.connect_timeout;
    settings.statement_timeout = options.connection.statement_timeout;
    options.connection = settings;
    options.idle_probe = std::chrono::milliseconds(0);  // a probe would meet the armed rule
    auto journal = OpenAsIs(std::move(options));
    if (journal) {
      EXPECT_THAT(AppendAndWait(*journal, Allocation(1)), IsOk());
      CatchUp(*journal);
      EXPECT_TRUE(journal->Healthy());
      EXPECT_EQ(Count("reservations"), 1);
    }
    return journal;
  }
  // An append that puts kOtherNumber in a reservation under `id`: where `id` is taken already,
  // the append must fail alone and change nothing (ExpectRepeatedIdRefused).
  static constexpr std::uint64_t kOtherNumber = 3'105'550'099;
  static std::vector<JournalEntry> RepeatingId(std::uint64_t id) {
    return {Upsert(Spec(kOtherNumber)), Made(MakeReservation(id, kOtherNumber, kT0, seconds(300)))};
  }
  void ExpectRepeatedIdRefused(const PostgresJournal& journal) {
    EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM caller_ids WHERE caller_id = " +
                           std::to_string(kOtherNumber)),
              0)
        << "the append that repeats an id changes nothing";
    EXPECT_EQ(journal.LostEntries(), 2u) << "acknowledged while degraded, then refused";
  }
  // Waits (10 s at most) for `acknowledged`, then until `journal` is healthy again after a cut.
  static bool CatchUpAfter(std::promise<void>& acknowledged, PostgresJournal& journal) {
    if (acknowledged.get_future().wait_for(seconds(10)) != std::future_status::ready) return false;
    CatchUp(journal);
    return journal.Healthy();
  }
  // For options whose connection the test set itself (from db_.settings(), with its timeouts).
  std::unique_ptr<PostgresJournal> OpenAsIs(PostgresOptions options) {
    auto journal = PostgresJournal::Open(std::move(options));
    EXPECT_THAT(journal, IsOk());
    if (!journal) return nullptr;
    RecordingSink sink;
    EXPECT_THAT((*journal)->Load(kT0, sink), IsOk());  // migrates
    return std::move(*journal);
  }

  // A new number with an allocation on it: three rows in two tables.
  static std::vector<JournalEntry> Allocation(std::uint64_t id) {
    const std::uint64_t number = 3'105'550'000 + id;
    return {Upsert(Spec(number)),
            Made(MakeReservation(id, number, kT0, seconds(300)), Usage(kT0, 1, 1))};
  }

  static PostgresOptions GatherFor(std::chrono::microseconds window) {
    PostgresOptions options;
    options.gather_window = window;
    return options;
  }

  // Flushes until the journal is healthy again after the server came back: a frozen session's
  // statement must time out on the server first, which on a loaded machine can outlast one Flush
  // (it waits at most degraded_flush_wait).
  static void CatchUp(PostgresJournal& journal) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    do {
      journal.Flush();
    } while (!journal.Healthy() && std::chrono::steady_clock::now() < deadline);
  }

  std::int64_t Count(const std::string& table) {
    return db_.QueryInt("SELECT count(*) FROM " + table);
  }

  PgTestDatabase db_;
};

TEST_F(PostgresJournalTest, MigrationIsVersionedAndIdempotent) {
  auto conn = postgres::Connection::Open(db_.settings());
  ASSERT_THAT(conn, IsOk());
  ASSERT_THAT(postgres::ReadSchemaVersion(*conn), IsOk());
  EXPECT_THAT(postgres::ReadSchemaVersion(*conn), ::testing::Optional(0));
  EXPECT_THAT(postgres::Migrate(*conn), ::testing::Optional(0));  // the version before
  EXPECT_THAT(postgres::Migrate(*conn), ::testing::Optional(postgres::kSchemaVersion));
  EXPECT_THAT(postgres::ReadSchemaVersion(*conn), ::testing::Optional(postgres::kSchemaVersion));
  EXPECT_EQ(Count("schema_migrations"), postgres::kSchemaVersion);
  for (const char* table : {"caller_ids", "reservations", "api_logs", "campaign_pools"}) {
    EXPECT_EQ(Count(table), 0) << table;
  }
}

TEST_F(PostgresJournalTest, InstancesStartingAtOnceMigrateOnce) {
  constexpr int kInstances = 4;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kInstances; ++i) {
    threads.emplace_back([&] {
      auto conn = postgres::Connection::Open(db_.settings());
      if (conn && postgres::Migrate(*conn)) ok.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kInstances);
  EXPECT_EQ(Count("schema_migrations"), postgres::kSchemaVersion);
}

TEST_F(PostgresJournalTest, NewerSchemaIsRefused) {
  auto journal = Open();
  journal.reset();
  db_.Exec("INSERT INTO schema_migrations(version) VALUES(99)");
  auto reopened = PostgresJournal::Open({.connection = db_.settings()});
  ASSERT_THAT(reopened, IsOk());
  RecordingSink sink;
  auto loaded = (*reopened)->Load(kT0, sink);
  ASSERT_THAT(loaded, HasError(core::ErrorCode::kUnavailable));
  EXPECT_THAT(loaded.error().detail(), ::testing::HasSubstr("newer"));
  // The server answers: no outage, so a cluster instance does not start (RedisStore::Attach).
  EXPECT_TRUE((*reopened)->Reachable());
}

// Schemas 5 and 6 (warm-up, rests): the numbers of a schema-4 database are established (warm_from
// 0) and not resting (rest_until 0); from then on the writer stores the store's warm_from and
// rest_until on insert and on update alike (0 ends a rest), and allocations (the usage UPDATE)
// leave both alone.
TEST_F(PostgresJournalTest, Schemas5And6AddWarmFromAndRestUntilWithEveryNumberBeforeEstablished) {
  Open().reset();
  db_.DowngradeTo(4);
  db_.Exec("INSERT INTO caller_ids(caller_id, area_code) VALUES (3105550100, '310')");
  auto conn = postgres::Connection::Open(db_.settings());
  ASSERT_THAT(conn, IsOk());
  EXPECT_THAT(postgres::Migrate(*conn), ::testing::Optional(4));  // from version 4
  EXPECT_EQ(db_.QueryInt("SELECT warm_from FROM caller_ids WHERE caller_id = 3105550100"), 0);
  EXPECT_EQ(db_.QueryInt("SELECT rest_until FROM caller_ids WHERE caller_id = 3105550100"), 0);

  auto journal = Open();
  ASSERT_NE(journal, nullptr);
  core::NumberUsage warming;
  warming.warm_from = 220'000'000;
  warming.rest_until = 220'050'000;
  ASSERT_THAT(AppendAndWait(*journal, {Upsert(Spec(3'105'550'101), warming)}), IsOk());
  warming.warm_from = 220'086'400;
  warming.rest_until = 220'090'000;
  ASSERT_THAT(AppendAndWait(*journal, {Upsert(Spec(3'105'550'100), warming)}), IsOk());
  ASSERT_THAT(AppendAndWait(*journal, {Made(MakeReservation(1, 3'105'550'101, kT0, seconds(300)),
                                            Usage(kT0, 1, 1))}),
              IsOk());
  RecordingSink sink;
  ASSERT_THAT(journal->Load(kT0, sink), IsOk());
  ASSERT_EQ(sink.numbers.size(), 2u);
  EXPECT_EQ(sink.numbers[0].second.warm_from, 220'086'400u);  // 3105550100: updated
  EXPECT_EQ(sink.numbers[0].second.rest_until, 220'090'000u);
  EXPECT_EQ(sink.numbers[1].second.warm_from, 220'000'000u);  // 3105550101: allocated since
  EXPECT_EQ(sink.numbers[1].second.rest_until, 220'050'000u);
  EXPECT_EQ(sink.numbers[1].second.daily_used, 1);

  // A rest ended (0) on conflict; the other number's stays.
  warming.rest_until = 0;
  ASSERT_THAT(AppendAndWait(*journal, {Upsert(Spec(3'105'550'100), warming)}), IsOk());
  EXPECT_EQ(db_.QueryInt("SELECT rest_until FROM caller_ids WHERE caller_id = 3105550100"), 0);
  EXPECT_EQ(db_.QueryInt("SELECT rest_until FROM caller_ids WHERE caller_id = 3105550101"),
            220'050'000);
}

TEST_F(PostgresJournalTest, UnreachableServerFailsLoadFastWithUnavailable) {
  PostgresOptions options;
  options.connection = db_.settings();
  options.connection.port = ClosedPort();
  options.connection.connect_timeout = std::chrono::milliseconds(10'000);
  auto journal = PostgresJournal::Open(options);
  ASSERT_THAT(journal, IsOk());
  RecordingSink sink;
  const auto start = std::chrono::steady_clock::now();
  auto loaded = (*journal)->Load(kT0, sink);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_THAT(loaded, HasError(core::ErrorCode::kUnavailable));
  EXPECT_THAT(loaded.error().detail(), ::testing::HasSubstr("127.0.0.1"));
  // Refused at once, not after the 10 s connect timeout.
  EXPECT_LT(took, seconds(2));
  EXPECT_FALSE((*journal)->Reachable());  // down: a cluster instance starts on Redis alone
}

TEST_F(PostgresJournalTest, OnDurableRunsAfterTheCommit) {
  auto journal = Open();
  std::promise<std::int64_t> seen;
  journal->Append(Allocation(1), [&](core::Result<void> r) {
    EXPECT_THAT(r, IsOk());
    // Another connection sees the rows already: the commit came first.
    seen.set_value(db_.QueryInt("SELECT count(*) FROM reservations WHERE id = 1"));
  });
  EXPECT_EQ(seen.get_future().get(), 1);
  EXPECT_EQ(db_.QueryInt("SELECT hourly_used FROM caller_ids WHERE caller_id = 3105550001"), 1);
}

TEST_F(PostgresJournalTest, MultiRowStatementsKeepTheEffectOfAppendOrder) {
  auto journal = Open();
  constexpr std::uint64_t kNumber = 3'105'550'100;
  // One append, so one batch: two allocations of one number, a release twice, a number change,
  // then another allocation of the number, and one of a number deleted in between.
  ASSERT_THAT(
      AppendAndWait(*journal,
                    {Upsert(Spec(kNumber)), Upsert(Spec(kNumber + 1)),
                     Made(MakeReservation(1, kNumber, kT0, seconds(300)), Usage(kT0, 1, 1)),
                     Made(MakeReservation(2, kNumber, kT0, seconds(300)), Usage(kT0, 2, 2)),
                     Released(1, kT0 + seconds(1), core::CallOutcome::kAnswered, 7),
                     Released(1, kT0 + seconds(2), core::CallOutcome::kBusy, 9),
                     Upsert(Spec(kNumber, 40), Usage(kT0, 5, 5)),
                     Made(MakeReservation(3, kNumber, kT0, seconds(300)), Usage(kT0, 6, 6)),
                     NumberDeleted{Phone(kNumber + 1)},
                     Made(MakeReservation(4, kNumber + 1, kT0, seconds(300)), Usage(kT0, 9, 9))}),
      IsOk());
  RecordingSink sink;
  auto loaded = journal->Load(kT0, sink);
  ASSERT_THAT(loaded, IsOk());
  ASSERT_EQ(sink.numbers.size(), 1u);  // kNumber + 1 stays deleted
  EXPECT_EQ(sink.numbers[0].first.hourly_cap, 40);
  EXPECT_EQ(sink.numbers[0].second.hourly_used, 6);  // the last usage, after the upsert
  EXPECT_EQ(loaded->max_reservation_id, 4u);
  auto all = ListReservationsSync(*journal, AllReservations(), kT0);
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 4u);
  const ReservationRecord& first = all->back();  // newest first
  ASSERT_EQ(first.reservation.id, 1u);
  EXPECT_EQ(first.outcome, core::CallOutcome::kAnswered);  // the first release wins
  EXPECT_EQ(first.duration_seconds, 7u);
}

// A load that counts (LoadSink::CountedWindows: a Redis reload) raises counters left short (a
// backlog written late, store/counted_usage.h) to the allocations the history holds in the
// current windows, and the last use to the newest of them; any other load reads them as stored.
TEST_F(PostgresJournalTest, ALoadThatCountsRaisesShortCountersToTheHistory) {
  auto journal = Open();
  constexpr std::uint64_t kNumber = 3'105'550'100;
  const auto at = [](int s) { return kT0 + seconds(s); };  // kT0: 12:00 UTC
  std::vector<JournalEntry> entries = {Upsert(Spec(kNumber)), Upsert(Spec(kNumber + 1))};
  std::uint64_t id = 0;
  // Yesterday, at 11:10 and 11:26, and three this hour; each usage written says 1 of 1.
  for (int s : {-86'400, -3'000, -2'000, 10, 20, 30}) {
    entries.push_back(Made(MakeReservation(++id, kNumber, at(s), seconds(5)), Usage(at(s), 1, 1)));
  }
  // Written last, an older usage still (a late backlog's): 11:10, 1 of the hour, 1 of the day.
  entries.push_back(Upsert(Spec(kNumber), Usage(at(-3'000), 1, 1)));
  ASSERT_THAT(AppendAndWait(*journal, std::move(entries)), IsOk());
  ASSERT_EQ(db_.QueryInt("SELECT hourly_used + daily_used FROM caller_ids WHERE caller_id = " +
                         std::to_string(kNumber)),
            2);

  const core::TimePoint now = at(60);
  RecordingSink as_stored;
  ASSERT_THAT(journal->Load(now, as_stored), IsOk());
  ASSERT_EQ(as_stored.numbers.size(), 2u);
  EXPECT_EQ(as_stored.numbers[0].second.hourly_used, 1);
  EXPECT_EQ(as_stored.numbers[0].second.daily_used, 1);

  RecordingSink counting;
  counting.counted_windows = core::FixedOffsetCalendar().WindowsAt(now);
  ASSERT_THAT(journal->Load(now, counting), IsOk());
  ASSERT_EQ(counting.numbers.size(), 2u);
  const core::NumberUsage& raised = counting.numbers[0].second;
  EXPECT_EQ(raised.hour_start, core::ToCompact(kT0));
  EXPECT_EQ(raised.hourly_used, 3);  // 12:00:10, 12:00:20, 12:00:30
  EXPECT_EQ(raised.day_start, core::ToCompact(kT0 - std::chrono::hours(12)));
  EXPECT_EQ(raised.daily_used, 5);  // and 11:10, 11:26, not yesterday's
  EXPECT_EQ(raised.last_used, core::ToCompact(at(30)));
  const core::NumberUsage& unused = counting.numbers[1].second;  // no history: as stored
  EXPECT_EQ(unused.hourly_used, 0);
  EXPECT_EQ(unused.last_used, 0);
}

// Two instances' journals, PostgreSQL down for both: one acknowledged an allocation, the other
// its release, and the releasing one's backlog was written first. The release waits for its
// reservation (not live to a load meanwhile) and is applied by the next sweep.
TEST_F(PostgresJournalTest, AReleaseWrittenBeforeItsAllocationIsAppliedOnceItArrives) {
  PostgresOptions rarely;  // each sweeps with its first batch, then not for an hour
  rarely.early_release_sweep = std::chrono::hours(1);
  auto allocating = Open(rarely);
  auto releasing = Open(rarely);
  ASSERT_THAT(AppendAndWait(*allocating, Allocation(1)), IsOk());
  ASSERT_THAT(AppendAndWait(*releasing, {Released(1, kT0 + seconds(1))}), IsOk());
  ASSERT_THAT(
      AppendAndWait(*releasing, {Released(2, kT0 + seconds(2), core::CallOutcome::kNoAnswer, 0),
                                 Released(1, kT0 + seconds(3))}),
      IsOk());
  ASSERT_THAT(AppendAndWait(*releasing, {Released(2, kT0 + seconds(4), core::CallOutcome::kBusy)}),
              IsOk());
  EXPECT_EQ(Count("early_releases"), 1) << "only 2's first release waits; 1 is stored";
  EXPECT_EQ(db_.QueryInt("SELECT released_at FROM reservations WHERE id = 1"),
            ToUnixMs(kT0 + seconds(1)));

  ASSERT_THAT(AppendAndWait(*allocating, Allocation(2)), IsOk());
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM reservations WHERE id = 2 AND released_at IS NULL"),
            1)
      << "not swept yet";
  RecordingSink sink;
  ASSERT_THAT(allocating->Load(kT0, sink), IsOk());
  EXPECT_TRUE(sink.live.empty()) << "released, even though not swept yet";

  PostgresOptions every_batch;
  every_batch.early_release_sweep = std::chrono::milliseconds(0);
  auto sweeping = Open(every_batch);
  ASSERT_THAT(AppendAndWait(*sweeping, {Released(1, kT0 + seconds(5))}), IsOk());
  EXPECT_EQ(Count("early_releases"), 0);
  auto all = ListReservationsSync(*sweeping, AllReservations(), kT0);
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 2u);
  const ReservationRecord& second = all->front();  // newest first
  ASSERT_EQ(second.reservation.id, 2u);
  ASSERT_TRUE(second.released_at.has_value());
  EXPECT_EQ(*second.released_at, kT0 + seconds(2));
  EXPECT_EQ(second.outcome, core::CallOutcome::kNoAnswer);
  EXPECT_EQ(second.duration_seconds, 0u);

  // A late outcome (journal.h) of an id not stored does not wait: it would never be swept.
  ReservationReleased late = Released(99, kT0 + seconds(600));
  late.late = true;
  ASSERT_THAT(AppendAndWait(*sweeping, {late}), IsOk());
  EXPECT_EQ(Count("early_releases"), 0);
}

// One whose reservation never comes (lost with a degraded instance) goes with the history.
TEST_F(PostgresJournalTest, AnEarlyReleaseWhoseReservationNeverComesIsPrunedWithTheHistory) {
  auto journal = Open();
  ASSERT_THAT(AppendAndWait(*journal, {Released(7, kT0), Released(8, kT0 + std::chrono::hours(2))}),
              IsOk());
  ASSERT_EQ(Count("early_releases"), 2);
  PruneCutoffs cutoffs;
  cutoffs.reservations_before = kT0 + std::chrono::hours(1);
  std::promise<core::Result<PruneResult>> pruned;
  journal->PruneHistory(cutoffs,
                        [&](core::Result<PruneResult> r) { pruned.set_value(std::move(r)); });
  ASSERT_THAT(pruned.get_future().get(), IsOk());
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM early_releases WHERE id = 8"), 1);
  EXPECT_EQ(Count("early_releases"), 1);
}

TEST_F(PostgresJournalTest, ConcurrentAppendsShareFewTransactions) {
  auto journal = Open();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const auto id = static_cast<std::uint64_t>(t * kPerThread + i + 1);
        journal->Append(Allocation(id), [&](core::Result<void> r) {
          if (!r) failed.fetch_add(1);
          done.fetch_add(1);
        });
        journal->AppendLog(Log(static_cast<int>(id)));
      }
    });
  }
  for (auto& t : threads) t.join();
  journal->Flush();
  EXPECT_EQ(done.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(Count("reservations"), kThreads * kPerThread);
  EXPECT_EQ(Count("api_logs"), kThreads * kPerThread);
  // 1,000 appends (3,000 rows with the logs) in a handful of commits, not one each.
  EXPECT_LT(journal->BatchesCommitted(), 100u);
  EXPECT_EQ(journal->EntriesCommitted(), 3u * kThreads * kPerThread);
}

// The gather window is for concurrent callers only: a caller that waits for each commit before
// its next append would otherwise pay the window on every call.
TEST_F(PostgresJournalTest, ASequentialCallerNeverWaitsForTheGatherWindow) {
  auto journal = Open(GatherFor(seconds(10)));
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t id = 1; id <= 30; ++id) {
    ASSERT_THAT(AppendAndWait(*journal, Allocation(id)), IsOk());
    journal->AppendLog(Log(static_cast<int>(id)));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_EQ(Count("reservations"), 30);
}

// Callers that each wait for their commit before appending again (an HTTP connection's
// allocations): once several are seen, the writer waits for the others instead of committing
// each as it comes.
TEST_F(PostgresJournalTest, ConcurrentWaitingCallersAreGatheredIntoOneCommitPerRound) {
  auto journal = Open(GatherFor(std::chrono::milliseconds(200)));
  constexpr int kCallers = 8;
  constexpr int kRounds = 15;
  std::atomic<int> failed{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int round = 0; round < kRounds; ++round) {
        const auto id = static_cast<std::uint64_t>(round * kCallers + c + 1);
        if (!AppendAndWait(*journal, Allocation(id))) failed.fetch_add(1);
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(Count("reservations"), kCallers * kRounds);
  // One commit per round (measured: 15), a few more allowed for a caller descheduled past the
  // window; committing each append as it comes took 19-29 here.
  EXPECT_LE(journal->BatchesCommitted(), kRounds + 3u);
}

TEST_F(PostgresJournalTest, ServerDownDegradesThenTheBacklogIsWrittenInOrder) {
  auto journal = Open();
  ASSERT_THAT(AppendAndWait(*journal, Allocation(1)), IsOk());
  // On a loaded machine (CI, the browser test starting beside it) the first connection's
  // migration can outlast the 1 s commit wait: the watchdog then acknowledges allocation 1 while
  // degraded, and the journal is healthy once that commit lands.
  journal->Flush();
  EXPECT_TRUE(journal->Healthy());

  db_.Kill();
  constexpr std::uint64_t kDuringOutage = 200;
  for (std::uint64_t id = 2; id <= kDuringOutage + 1; ++id) {
    // Acknowledged although PostgreSQL is down: allocation goes on.
    ASSERT_THAT(AppendAndWait(*journal, Allocation(id)), IsOk()) << id;
    journal->AppendLog(Log(static_cast<int>(id)));
  }
  // A release queued behind its allocation lands after it.
  ASSERT_THAT(AppendAndWait(*journal, {Released(2, kT0 + seconds(5))}), IsOk());
  EXPECT_FALSE(journal->Healthy());
  EXPECT_TRUE(journal->Degraded());
  EXPECT_GE(journal->QueueDepth(), 3 * kDuringOutage);

  db_.Restart();
  journal->Flush();  // returns once the backlog is committed
  EXPECT_TRUE(journal->Healthy());
  EXPECT_FALSE(journal->Degraded());
  EXPECT_EQ(journal->QueueDepth(), 0u);
  EXPECT_EQ(Count("reservations"), static_cast<std::int64_t>(kDuringOutage + 1));
  EXPECT_EQ(Count("caller_ids"), static_cast<std::int64_t>(kDuringOutage + 1));
  EXPECT_EQ(Count("api_logs"), static_cast<std::int64_t>(kDuringOutage));
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM reservations WHERE released_at IS NOT NULL"), 1);
  EXPECT_EQ(journal->LostEntries(), 0u);

  // Back to "wait for commit".
  ASSERT_THAT(AppendAndWait(*journal, Allocation(500)), IsOk());
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM reservations WHERE id = 500"), 1);
  RecordingSink sink;
  auto loaded = journal->Load(kT0, sink);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->max_reservation_id, 500u);
  EXPECT_EQ(loaded->live_reservations, kDuringOutage + 1);  // all but the released one, plus 500
}

// An instance with nothing to write still says whether its server answers (its /health): the
// writer probes it while idle, so the journal turns degraded once the server is gone, stopped or
// hung, and healthy again once it is back, without a write in between.
TEST_F(PostgresJournalTest, AnIdleJournalFollowsItsServer) {
  PostgresOptions options;
  options.idle_probe = std::chrono::milliseconds(100);
  auto journal = Open(options);
  ASSERT_THAT(AppendAndWait(*journal, Allocation(1)), IsOk());
  const auto becomes = [&](bool healthy) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(20);
    while (journal->Healthy() != healthy && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return journal->Healthy() == healthy;
  };
  EXPECT_TRUE(becomes(true));
  db_.Kill();
  EXPECT_TRUE(becomes(false)) << "stopped";
  EXPECT_TRUE(journal->Degraded());
  db_.Restart();
  EXPECT_TRUE(becomes(true)) << "back";
  EXPECT_FALSE(journal->Degraded());
  db_.Freeze();
  const bool hung_seen = becomes(false);
  db_.Thaw();
  EXPECT_TRUE(hung_seen) << "hung";
  EXPECT_TRUE(becomes(true)) << "thawed";
  ASSERT_THAT(AppendAndWait(*journal, Allocation(2)), IsOk());
  EXPECT_EQ(Count("reservations"), 2);
}

// The log rows queued during an outage go back in batches of max_batch_log_rows, in order: one
// INSERT of them all could outlast the statement timeout and be sent again forever.
TEST_F(PostgresJournalTest, AnOutagesLogRowsAreWrittenInBoundedBatches) {
  PostgresOptions options;
  options.max_batch_log_rows = 500;
  auto journal = Open(options);
  ASSERT_THAT(AppendAndWait(*journal, Allocation(1)), IsOk());
  db_.Kill();
  constexpr int kRows = 5'000;
  for (int i = 0; i < kRows; ++i) journal->AppendLog(Log(i));
  ASSERT_THAT(AppendAndWait(*journal, Allocation(2)), IsOk());  // acknowledged: degraded
  const auto batches_before = journal->BatchesCommitted();
  db_.Restart();
  journal->Flush();
  EXPECT_EQ(Count("api_logs"), kRows);
  EXPECT_GE(journal->BatchesCommitted() - batches_before, static_cast<std::uint64_t>(kRows / 500));
  // In order: ids grow with the rows' times.
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM (SELECT id, timestamp, LAG(timestamp) OVER "
                         "(ORDER BY id) AS before FROM api_logs) t WHERE timestamp < before"),
            0);
}

TEST_F(PostgresJournalTest, EveryAcknowledgedAllocationSurvivesAStopAndStartDuringTraffic) {
  // Degraded acknowledgements are instant, so the request threads outrun PostgreSQL's return; a
  // small bound keeps the backlog (and the test) short, and refusals past it are allowed here.
  PostgresOptions options;
  options.max_queue_entries = 4'000;
  auto journal = Open(options);
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t acknowledged = 0;  // guarded by mu
  std::uint64_t refused = 0;       // guarded by mu
  bool paused = false;             // guarded by mu
  std::atomic<bool> running{true};
  std::atomic<std::uint64_t> next_id{1};
  // Four "request" threads, each allocating and waiting for its acknowledgement in turn. Degraded
  // acknowledgements are instant, so they pause while the server restarts: the backlog stays a
  // few hundred entries and the test fast.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (running.load()) {
        const core::Result<void> r = AppendAndWait(*journal, Allocation(next_id.fetch_add(1)));
        std::unique_lock lock(mu);
        (r ? acknowledged : refused) += 1;
        cv.notify_all();
        cv.wait(lock, [&] { return !paused; });
      }
    });
  }
  const auto pause = [&](bool on) {
    std::lock_guard lock(mu);
    paused = on;
    cv.notify_all();
  };
  // Waits for `more` completions, acknowledged or refused (past the bound nothing else comes).
  const auto wait_for_more = [&](std::uint64_t more) {
    std::unique_lock lock(mu);
    const std::uint64_t target = acknowledged + refused + more;
    cv.wait(lock, [&] { return acknowledged + refused >= target; });
  };
  wait_for_more(200);
  db_.Kill();
  wait_for_more(200);  // acknowledged while PostgreSQL is down
  EXPECT_TRUE(journal->Degraded());
  pause(true);
  db_.Restart();
  pause(false);
  wait_for_more(200);
  running.store(false);
  for (auto& t : threads) t.join();
  journal->Flush();

  std::lock_guard lock(mu);
  EXPECT_GE(acknowledged, 600u);
  EXPECT_EQ(refused, journal->RefusedAppends());
  EXPECT_TRUE(journal->Healthy());
  EXPECT_EQ(journal->QueueDepth(), 0u);
  EXPECT_EQ(Count("reservations"), static_cast<std::int64_t>(acknowledged));
  EXPECT_EQ(journal->LostEntries(), 0u);
}

// A batch whose connection is lost after its commit and before the answer: the journal looks its
// reservation up on the next connection and completes it as it is, rather than replaying it (a
// replay would write its api_logs rows twice).
TEST_F(PostgresJournalTest, ABatchCommittedAsItsConnectionWasLostIsNotWrittenTwice) {
  CuttingProxy proxy(db_.settings().port, std::chrono::milliseconds(300));
  auto journal = OpenThrough(proxy);
  ASSERT_NE(journal, nullptr);
  const auto with_log = [](std::uint64_t id) {
    std::vector<JournalEntry> entries = Allocation(id);
    entries.push_back(Log(static_cast<int>(id)));
    return entries;
  };

  proxy.Arm(CuttingProxy::Cut::kAfter);
  EXPECT_THAT(AppendAndWait(*journal, with_log(2)), IsOk());  // acknowledged, degraded
  CatchUp(*journal);
  ASSERT_TRUE(journal->Healthy());
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_GE(proxy.answers_held(), 1) << "the server answered (committed) before the cut";
  EXPECT_EQ(Count("reservations"), 2);
  EXPECT_EQ(Count("api_logs"), 1);
  EXPECT_EQ(journal->LostEntries(), 0u);
  EXPECT_EQ(journal->QueueDepth(), 0u);

  // The next batch is an ordinary one.
  ASSERT_THAT(AppendAndWait(*journal, with_log(3)), IsOk());
  EXPECT_EQ(Count("reservations"), 3);
  EXPECT_EQ(Count("api_logs"), 2);
}

// The same, when the batch never reached the server: it is written on the next connection.
TEST_F(PostgresJournalTest, ABatchLostBeforeItsCommitIsWrittenOnTheNextConnection) {
  CuttingProxy proxy(db_.settings().port, std::chrono::milliseconds(100));
  auto journal = OpenThrough(proxy);
  ASSERT_NE(journal, nullptr);
  std::vector<JournalEntry> entries = Allocation(2);
  entries.push_back(Log(2));

  proxy.Arm(CuttingProxy::Cut::kBefore);
  EXPECT_THAT(AppendAndWait(*journal, std::move(entries)), IsOk());  // acknowledged, degraded
  CatchUp(*journal);
  ASSERT_TRUE(journal->Healthy());
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_EQ(Count("reservations"), 2);
  EXPECT_EQ(Count("api_logs"), 1);
  EXPECT_EQ(journal->LostEntries(), 0u);
}

// Log rows appended on their own (AppendLog) ride in the cut-off batch with the allocation, and
// are not written twice either. They are appended from a completion, on the writer thread, so
// that they and the allocation are one batch.
TEST_F(PostgresJournalTest, ACommittedCutOffBatchKeepsItsSeparateLogRowsOnce) {
  CuttingProxy proxy(db_.settings().port, std::chrono::milliseconds(300));
  auto journal = OpenThrough(proxy);
  ASSERT_NE(journal, nullptr);
  std::promise<void> acknowledged;
  PostgresJournal* j = journal.get();
  j->Append(Allocation(2), [&, j](core::Result<void>) {
    proxy.Arm(CuttingProxy::Cut::kAfter);
    j->AppendLog(Log(1));
    j->AppendLog(Log(2));
    j->Append(Allocation(3), [&](core::Result<void>) { acknowledged.set_value(); });
  });
  ASSERT_TRUE(CatchUpAfter(acknowledged, *journal));
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_GE(proxy.answers_held(), 1);
  EXPECT_EQ(Count("reservations"), 3);
  EXPECT_EQ(Count("api_logs"), 2);
  EXPECT_EQ(journal->LostEntries(), 0u);
}

// The first attempt of a batch reaches its server process only after the client gave it up, and
// commits after the lookup said "not there"; the replay, with a log row more, is cut off before
// it reaches the server. The replay's own lookup would find the first attempt's row and take the
// extra row for written: a replay is never looked up, only sent again.
TEST_F(PostgresJournalTest, AReplayCutOffIsSentAgainEvenWhenTheFirstAttemptCommittedLate) {
  CuttingProxy proxy(db_.settings().port, std::chrono::milliseconds(100));
  auto journal = OpenThrough(proxy);
  ASSERT_NE(journal, nullptr);

  // Bind messages name the prepared statement; its Parse also carries the SQL. The first attempt
  // reaches the server once the lookup was answered; the replay, sent right after, is cut 500 ms
  // later, after that late commit.
  proxy.Arm(CuttingProxy::Cut::kLate, "cidrotor_insert_reservations", "INSERT INTO");
  proxy.Arm(CuttingProxy::Cut::kReleaseLate, "FILTER (WHERE");
  proxy.Arm(CuttingProxy::Cut::kBefore, "cidrotor_replay_reservations", "INSERT INTO",
            std::chrono::milliseconds(500));
  std::promise<void> acknowledged;
  PostgresJournal* j = journal.get();
  j->Append(Allocation(2), [&, j](core::Result<void>) {
    // Acknowledged (degraded) on the writer thread, before the lookup: the log row rides in the
    // replay (the allocation goes in a batch of its own after it).
    j->AppendLog(Log(1));
    j->Append(Allocation(3), [&](core::Result<void>) { acknowledged.set_value(); });
  });
  ASSERT_TRUE(CatchUpAfter(acknowledged, *journal));
  EXPECT_EQ(proxy.fired(), 3);
  EXPECT_EQ(Count("reservations"), 3);
  EXPECT_EQ(Count("api_logs"), 1);
  EXPECT_EQ(journal->LostEntries(), 0u);
}

// An append queued after a cut is not part of the replay: there, an append that repeats a stored
// reservation id would be skipped in silence (ON CONFLICT DO NOTHING) instead of failing alone.
TEST_F(PostgresJournalTest, AnAppendAfterACutGoesInANewBatchNotTheReplay) {
  CuttingProxy proxy(db_.settings().port, std::chrono::milliseconds(100));
  auto journal = OpenThrough(proxy);
  ASSERT_NE(journal, nullptr);

  std::promise<void> acknowledged;
  PostgresJournal* j = journal.get();
  proxy.Arm(CuttingProxy::Cut::kBefore);  // the first attempt never arrives: it is replayed
  j->Append(Allocation(2), [&, j](core::Result<void>) {
    // Acknowledged (degraded) on the writer thread, after the cut, before the replay.
    j->Append(RepeatingId(1), nullptr);
    j->Append(Allocation(3), [&](core::Result<void>) { acknowledged.set_value(); });
  });
  ASSERT_TRUE(CatchUpAfter(acknowledged, *journal));
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_EQ(Count("reservations"), 3);
  ExpectRepeatedIdRefused(*journal);
}

// Empty appends (Flush barriers) ahead of a cut-off batch may be completed before the lookup:
// the batch is known by its appends' sequence numbers, not by how many come first.
TEST_F(PostgresJournalTest, AnEmptyAppendAheadOfACutOffBatchDoesNotShiftIt) {
  CuttingProxy proxy(db_.settings().port, std::chrono::milliseconds(300));
  auto journal = OpenThrough(proxy);
  ASSERT_NE(journal, nullptr);

  std::promise<void> acknowledged;
  PostgresJournal* j = journal.get();
  proxy.Arm(CuttingProxy::Cut::kAfter);
  j->Append({}, [&, j](core::Result<void>) {
    // On the writer thread, as it completes leading empty appends: these go into one batch.
    j->Append({}, nullptr);
    j->Append(Allocation(2), [&, j](core::Result<void>) {
      // Acknowledged (degraded) before the lookup: one more append queues behind the batch.
      j->Append(Allocation(3), [&](core::Result<void>) { acknowledged.set_value(); });
    });
  });
  ASSERT_TRUE(CatchUpAfter(acknowledged, *journal));
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_EQ(Count("reservations"), 3);
  EXPECT_EQ(journal->LostEntries(), 0u);
}

// A batch whose first reservation repeats a stored id (PostgreSQL refuses it) and whose answer
// is cut off: the lookup finds another reservation's row under that id, so the batch never
// committed; it is sent again as a new batch, where that append fails alone, as the journal's
// contract says (RepeatedReservationIdFailsItsAppendAndChangesNothing).
TEST_F(PostgresJournalTest, ALookupMatchesTheReservationNotOnlyItsId) {
  CuttingProxy proxy(db_.settings().port, std::chrono::milliseconds(300));
  auto journal = OpenThrough(proxy);
  ASSERT_NE(journal, nullptr);

  std::promise<void> acknowledged;
  PostgresJournal* j = journal.get();
  proxy.Arm(CuttingProxy::Cut::kAfter);
  j->Append({}, [&, j](core::Result<void>) {  // on the writer thread: the next two are one batch
    j->Append(RepeatingId(1), nullptr);
    j->Append(Allocation(5), [&](core::Result<void>) { acknowledged.set_value(); });
  });
  ASSERT_TRUE(CatchUpAfter(acknowledged, *journal));
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_EQ(Count("reservations"), 2) << "allocation 5 must be written";
  ExpectRepeatedIdRefused(*journal);
}

// A cut-off batch that holds one id twice could never commit: it is sent again as a new batch,
// where the second append fails alone, not replayed (which would skip it in silence).
TEST_F(PostgresJournalTest, ACutOffBatchThatRepeatsAnIdOfItsOwnIsNotReplayed) {
  CuttingProxy proxy(db_.settings().port, std::chrono::milliseconds(100));
  auto journal = OpenThrough(proxy);
  ASSERT_NE(journal, nullptr);

  std::promise<void> acknowledged;
  PostgresJournal* j = journal.get();
  proxy.Arm(CuttingProxy::Cut::kBefore);
  j->Append({}, [&, j](core::Result<void>) {  // on the writer thread: the next three are a batch
    j->Append(Allocation(5), nullptr);
    j->Append(RepeatingId(5), nullptr);
    j->Append(Allocation(6), [&](core::Result<void>) { acknowledged.set_value(); });
  });
  ASSERT_TRUE(CatchUpAfter(acknowledged, *journal));
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_EQ(Count("reservations"), 3);  // 1, 5 and 6
  ExpectRepeatedIdRefused(*journal);
}

// A cut-off batch is taken for committed only when all its reservations are stored as it has
// them: one of them stored already (here an exact copy of allocation 1's) proves nothing for the
// others, and the batch is replayed.
TEST_F(PostgresJournalTest, ACutOffBatchWithOneReservationStoredIsNotTakenForCommitted) {
  CuttingProxy proxy(db_.settings().port, std::chrono::milliseconds(100));
  auto journal = OpenThrough(proxy);
  ASSERT_NE(journal, nullptr);

  std::promise<void> acknowledged;
  PostgresJournal* j = journal.get();
  proxy.Arm(CuttingProxy::Cut::kBefore);
  j->Append({}, [&, j](core::Result<void>) {  // on the writer thread: the next two are a batch
    j->Append({Made(MakeReservation(1, 3'105'550'001, kT0, seconds(300)))}, nullptr);
    j->Append(Allocation(7), [&](core::Result<void>) { acknowledged.set_value(); });
  });
  ASSERT_TRUE(CatchUpAfter(acknowledged, *journal));
  EXPECT_EQ(proxy.cuts(), 1);
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM reservations WHERE id = 7"), 1);
}

// A server that hangs right after the writer reconnected (in the schema check before any
// batch): appends are answered after commit_wait by the watchdog, not after the statement
// deadline.
TEST_F(PostgresJournalTest, AServerHungRightAfterAReconnectIsAnsweredForWithinCommitWait) {
  CuttingProxy proxy(db_.settings().port, std::chrono::milliseconds(100));
  PostgresOptions options;
  options.commit_wait = std::chrono::milliseconds(300);
  options.connection.statement_timeout = std::chrono::milliseconds(2'000);  // deadline 3 s
  auto journal = OpenThrough(proxy, options);
  ASSERT_NE(journal, nullptr);
  proxy.Arm(CuttingProxy::Cut::kBefore);                 // the next batch: connection lost
  proxy.Arm(CuttingProxy::Cut::kSwallow, "to_regclass(");  // the reconnect hangs in its check
  EXPECT_THAT(AppendAndWait(*journal, Allocation(2)), IsOk());  // acknowledged, degraded
  const auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (proxy.fired() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(proxy.fired(), 2);

  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(AppendAndWait(*journal, Allocation(3)), IsOk());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1'500))
      << "answered by the watchdog (300 ms, checked every 75), not the 3 s deadline";
  CatchUp(*journal);
  ASSERT_TRUE(journal->Healthy());
  EXPECT_EQ(Count("reservations"), 3);
  EXPECT_EQ(journal->LostEntries(), 0u);
}

TEST_F(PostgresJournalTest, HungServerDegradesAfterTheDeadlineInsteadOfHanging) {
  PostgresOptions options;
  options.connection = db_.settings();
  options.connection.statement_timeout = std::chrono::milliseconds(200);
  options.connection.connect_timeout = std::chrono::milliseconds(300);
  options.commit_wait = {};  // the statement deadline alone
  auto journal = OpenAsIs(options);
  ASSERT_NE(journal, nullptr);
  ASSERT_THAT(AppendAndWait(*journal, Allocation(1)), IsOk());

  db_.Freeze();
  // The commit gets no answer: past its deadline (statement_timeout + 1 s) the journal gives the
  // connection up, degrades and acknowledges; reconnecting finds no answer within 300 ms either.
  const core::Result<void> during = AppendAndWait(*journal, Allocation(2));
  const bool degraded = journal->Degraded();
  db_.Thaw();
  EXPECT_THAT(during, IsOk());
  EXPECT_TRUE(degraded);

  CatchUp(*journal);
  EXPECT_TRUE(journal->Healthy());
  EXPECT_EQ(Count("reservations"), 2);
}

TEST_F(PostgresJournalTest, HungServerIsAnsweredWithinCommitWaitNotTheStatementDeadline) {
  PostgresOptions options;
  options.connection = db_.settings();  // statement_timeout 5 s: the writer waits up to 6 s
  options.commit_wait = std::chrono::milliseconds(300);
  options.max_queue_entries = 6;  // three allocations of two entries
  auto journal = OpenAsIs(options);
  ASSERT_NE(journal, nullptr);
  ASSERT_THAT(AppendAndWait(*journal, Allocation(1)), IsOk());

  db_.Freeze();
  // The watchdog answers for the stuck commit within 1.25 x commit_wait, and then for each append
  // that comes while the writer is still waiting; without it each would wait the 6 s deadline.
  // Bounds far above what the watchdog takes and far below the deadline, for a loaded machine.
  auto timed_append = [&](std::uint64_t id) {
    const auto start = std::chrono::steady_clock::now();
    const core::Result<void> result = AppendAndWait(*journal, Allocation(id));
    return std::make_pair(result, std::chrono::steady_clock::now() - start);
  };
  const auto [stuck, stuck_took] = timed_append(2);
  const auto [behind, behind_took] = timed_append(3);
  const auto [last, last_took] = timed_append(4);  // the bound: 6 entries wait
  const auto [over, over_took] = timed_append(5);  // past it: refused, by the watchdog too
  const bool degraded = journal->Degraded();
  db_.Thaw();
  EXPECT_THAT(stuck, IsOk());
  EXPECT_THAT(behind, IsOk());
  EXPECT_THAT(last, IsOk());
  EXPECT_THAT(over, HasError(core::ErrorCode::kUnavailable));
  EXPECT_LT(stuck_took, seconds(3));
  EXPECT_LT(behind_took, seconds(1));
  EXPECT_LT(last_took, seconds(1));
  EXPECT_LT(over_took, seconds(1));
  EXPECT_TRUE(degraded);

  // Nothing acknowledged is lost: the stuck commit is answered or replayed after the thaw.
  CatchUp(*journal);
  EXPECT_TRUE(journal->Healthy());
  EXPECT_EQ(Count("reservations"), 4);
  EXPECT_EQ(journal->LostEntries(), 0u);
}

TEST_F(PostgresJournalTest, PastTheBoundChangesAreRefusedAndLogRowsDropped) {
  PostgresOptions options;
  options.max_queue_entries = 10;
  auto journal = Open(options);
  db_.Kill();
  for (std::uint64_t id = 1; id <= 5; ++id) {  // 2 entries each: exactly the bound
    ASSERT_THAT(AppendAndWait(*journal, Allocation(id)), IsOk()) << id;
  }
  EXPECT_EQ(journal->QueueDepth(), 10u);
  EXPECT_THAT(AppendAndWait(*journal, Allocation(6)), HasError(core::ErrorCode::kUnavailable));
  journal->AppendLog(Log(1));
  EXPECT_EQ(journal->RefusedAppends(), 1u);
  EXPECT_EQ(journal->DroppedLogs(), 1u);
  EXPECT_EQ(journal->QueueDepth(), 10u);

  db_.Restart();
  journal->Flush();
  EXPECT_TRUE(journal->Healthy());
  EXPECT_EQ(Count("reservations"), 5);
  EXPECT_EQ(Count("api_logs"), 0);
}

TEST_F(PostgresJournalTest, HistoryReadsReconnectAfterAnOutage) {
  auto journal = Open();
  ASSERT_THAT(AppendAndWait(*journal, Allocation(1)), IsOk());
  ASSERT_THAT(ListReservationsSync(*journal, AllReservations(), kT0), IsOk());
  db_.Kill();
  EXPECT_THAT(ListReservationsSync(*journal, AllReservations(), kT0),
              HasError(core::ErrorCode::kUnavailable));
  db_.Restart();
  auto listed = ListReservationsSync(*journal, AllReservations(), kT0);
  ASSERT_THAT(listed, IsOk());
  EXPECT_EQ(listed->size(), 1u);
}

}  // namespace
}  // namespace cidrotor::store::journal_test

namespace cidrotor::store::journal_test {
namespace {

// A pass still under way when the journal closes: its next chunk is not posted to the worker
// being destroyed (that dereferenced a null pointer), and its callback hears of the stop.
TEST_F(PostgresJournalTest, AJournalClosedDuringAPrunePassEndsThePassCleanly) {
  std::promise<core::Result<PruneResult>> finished;
  {
    auto journal = Open();  // migrates the schema
    db_.Exec(
        "INSERT INTO api_logs(timestamp, endpoint, method) "
        "SELECT 0, '/next-cid', 'GET' FROM generate_series(1, 20000)");
    PruneCutoffs cutoffs;
    cutoffs.api_logs_before = kT0;
    journal->PruneHistory(cutoffs,
                          [&](core::Result<PruneResult> r) { finished.set_value(std::move(r)); });
  }  // closed at once, with about 20 chunks to go
  auto result = finished.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const auto pruned = result.get();
  if (pruned) {  // the pass may have been quick enough to end on its own
    EXPECT_EQ(pruned->api_logs, 19'999u);
  } else {
    EXPECT_THAT(pruned.error().detail(), ::testing::HasSubstr("shutting down"));
  }
}

}  // namespace
}  // namespace cidrotor::store::journal_test

namespace cidrotor::store::journal_test {
namespace {

// The reader keeps its connection; after a server restart the first read finds it closed and
// goes on a new one, instead of failing once per restart.
TEST_F(PostgresJournalTest, TheFirstReadAfterAServerRestartSucceeds) {
  auto journal = Open();
  journal->AppendLog(Log(1));
  journal->Flush();
  ASSERT_THAT(ListLogsSync(*journal, Logs(10)), IsOk());
  db_.Kill();
  db_.Restart();
  auto logs = ListLogsSync(*journal, Logs(10));
  ASSERT_THAT(logs, IsOk());
  EXPECT_EQ(logs->size(), 1u);
}

// With the server away, the first Flush waits degraded_flush_wait and gives up; the next ones
// within that time, nothing committed since, return at once (a stop flushes at several layers: it
// waited 4 x 5 s); later, with the server back, a Flush waits for the backlog again.
TEST_F(PostgresJournalTest, AFlushThatGaveUpIsNotWaitedAgainUntilSomethingCommits) {
  PostgresOptions options;
  options.degraded_flush_wait = std::chrono::milliseconds(400);
  auto journal = Open(options);
  ASSERT_THAT(AppendAndWait(*journal, Allocation(1)), IsOk());
  db_.Kill();
  ASSERT_THAT(AppendAndWait(*journal, Allocation(2)), IsOk());  // acknowledged: degraded
  auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(journal->Flush()) << "the backlog stays queued: not written";
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(400));
  started = std::chrono::steady_clock::now();
  EXPECT_FALSE(journal->Flush());
  EXPECT_FALSE(journal->Flush());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(200));
  db_.Restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_TRUE(journal->Flush());
  EXPECT_EQ(Count("reservations"), 2);
}

// A server that takes every connection but loses every batch (each is cut before it arrives):
// once stopping, the writer tries a few more connections and then gives the backlog up, instead
// of reconnecting without a pause for as long as the server plays along.
TEST_F(PostgresJournalTest, AtShutdownAServerLosingEveryBatchIsTriedAFewTimesThenGivenUp) {
  CuttingProxy proxy(db_.settings().port, std::chrono::milliseconds(100));
  PostgresOptions options;
  options.degraded_flush_wait = std::chrono::milliseconds(300);
  auto journal = OpenThrough(proxy, options);
  ASSERT_NE(journal, nullptr);
  // Batches only, first attempts and replays alike: their Binds name a *_reservations statement;
  // a preparation (Parse) or a lookup carries its SQL, which has "unnest", too.
  for (int i = 0; i < 100; ++i) {
    proxy.Arm(CuttingProxy::Cut::kBefore, "_reservations", "unnest");
  }
  EXPECT_THAT(AppendAndWait(*journal, Allocation(2)), IsOk());  // acknowledged, degraded
  const int fired_before_stop = proxy.fired();
  const auto stopping = std::chrono::steady_clock::now();
  journal.reset();
  const auto took = std::chrono::steady_clock::now() - stopping;
  // A few during the flush's wait (the writer backs off from 100 ms), then the stop's tries; with
  // no limit it would go through all 100 rules.
  EXPECT_LE(proxy.fired() - fired_before_stop, 5 + PostgresJournal::kReconnectsAfterStop);
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(Count("reservations"), 1);  // the backlog was given up, as the log says
}

// A batch cancelled for a conflict every time (here a trigger raising 40001) is written again a few
// times on its connection, then taken for an outage: degraded (its append acknowledged), then
// reconnects and replays until the conflict is gone, and nothing is lost.
TEST_F(PostgresJournalTest, ABatchCancelledAgainAndAgainIsTakenForAnOutageAfterAFewRetries) {
  PostgresOptions options;
  options.commit_wait = std::chrono::milliseconds(0);  // only the retries' limit can answer
  auto journal = Open(options);
  ASSERT_THAT(AppendAndWait(*journal, Allocation(1)), IsOk());
  db_.Exec(
      "CREATE FUNCTION always_conflict() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE "
      "EXCEPTION 'forced' USING ERRCODE = 'serialization_failure'; END $$");
  db_.Exec(
      "CREATE TRIGGER always_conflict BEFORE INSERT ON reservations FOR EACH ROW EXECUTE "
      "FUNCTION always_conflict()");
  const auto failed_before = journal->BatchesFailed();
  std::promise<core::Result<void>> written;
  journal->Append(Allocation(2), [&](core::Result<void> r) { written.set_value(r); });
  auto answer = written.get_future();
  ASSERT_EQ(answer.wait_for(seconds(10)), std::future_status::ready) << "retried without end";
  EXPECT_THAT(answer.get(), IsOk());  // acknowledged degraded
  EXPECT_TRUE(journal->Degraded());
  EXPECT_GE(journal->BatchesFailed() - failed_before, 4U) << "the first attempt and 3 retries";
  db_.Exec("DROP TRIGGER always_conflict ON reservations");
  CatchUp(*journal);
  EXPECT_TRUE(journal->Healthy());
  EXPECT_EQ(Count("reservations"), 2);
  EXPECT_EQ(journal->LostEntries(), 0U);
}

// The backlog's local copy (PostgresOptions::spill_dir), in a directory of the test's own.
class PostgresSpillTest : public PostgresJournalTest {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "pg-spill-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    options_.spill_dir = (dir_ / "pg-backlog").string();
    options_.degraded_flush_wait = std::chrono::milliseconds(200);
    options_.spill_segment_bytes = 4'096;  // a backlog of a few hundred entries spans files
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // What a store does with a recovered backlog once it is written: checks its allocations
  // (RedisStore::CheckRecoveredBacklog), then lets the journal forget it. Returns them.
  static RecoveredAllocations Check(PostgresJournal& journal) {
    RecoveredAllocations allocations = journal.TakeRecoveredAllocations();
    journal.RecoveredBacklogChecked();
    return allocations;
  }
  // A journal on options_ with allocation 1 committed, and PostgreSQL killed since: what it is
  // given next is its backlog.
  std::unique_ptr<PostgresJournal> OpenThenLosePostgres() {
    auto journal = Open(options_);
    if (journal == nullptr || !AppendAndWait(*journal, Allocation(1))) {
      ADD_FAILURE() << "allocation 1 was not committed";
      return nullptr;
    }
    journal->Flush();
    db_.Kill();
    return journal;
  }
  std::vector<std::filesystem::path> Files() const {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(options_.spill_dir)) {
      files.push_back(e.path());
    }
    return files;
  }

  std::filesystem::path dir_;
  PostgresOptions options_;
};

// An instance stopped while PostgreSQL is down (kill -9 alike: every append was copied before it
// was acknowledged) leaves its backlog in its file; the next journal opened on the directory
// writes it first, degraded meanwhile, and deletes the file.
TEST_F(PostgresSpillTest, ABacklogLeftWhilePostgresWasDownIsWrittenByTheNextJournal) {
  auto journal = OpenThenLosePostgres();
  ASSERT_NE(journal, nullptr);
  constexpr std::uint64_t kDuringOutage = 100;
  for (std::uint64_t id = 2; id <= kDuringOutage + 1; ++id) {
    ASSERT_THAT(AppendAndWait(*journal, Allocation(id)), IsOk()) << id;
    journal->AppendLog(Log(static_cast<int>(id)));
  }
  ASSERT_THAT(AppendAndWait(*journal, {Released(2, kT0 + seconds(5))}), IsOk());
  EXPECT_TRUE(journal->Degraded());
  journal.reset();  // gives up the backlog in memory
  ASSERT_GT(Files().size(), 3u) << "left for the next start, in several files";

  db_.Restart();
  auto next = Open(options_);
  ASSERT_NE(next, nullptr);
  CatchUp(*next);
  EXPECT_TRUE(next->Healthy());
  EXPECT_EQ(Count("reservations"), static_cast<std::int64_t>(kDuringOutage + 1));
  EXPECT_EQ(Count("caller_ids"), static_cast<std::int64_t>(kDuringOutage + 1));
  EXPECT_EQ(Count("api_logs"), static_cast<std::int64_t>(kDuringOutage));
  EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM reservations WHERE released_at IS NOT NULL"), 1);
  EXPECT_EQ(next->LostEntries(), 0u);
  ASSERT_GT(Files().size(), 1u) << "the old files stay until the store checked their allocations";
  const RecoveredAllocations allocations = Check(*next);
  EXPECT_EQ(allocations.allocations, kDuringOutage);
  EXPECT_EQ(allocations.newest.size(), kDuringOutage);  // one number each
  EXPECT_EQ(allocations.oldest, kT0);
  ASSERT_EQ(Files().size(), 1u) << "the old files are gone; the next journal's own remains";
  next.reset();
  EXPECT_TRUE(Files().empty()) << "nothing left to write";
}

// An instance that wrote a recovered backlog and died before its store checked Redis against it
// (RedisStore::CheckRecoveredBacklog: a Redis reloaded meanwhile lacks it) leaves the check to the
// next start: the files stay until the check, and the next journal, with nothing to write, gives
// their allocations to check.
TEST_F(PostgresSpillTest, ARecoveredBacklogWrittenButNotCheckedIsCheckedByTheNextStart) {
  auto journal = OpenThenLosePostgres();
  ASSERT_NE(journal, nullptr);
  for (std::uint64_t id = 2; id <= 21; ++id) {
    ASSERT_THAT(AppendAndWait(*journal, Allocation(id)), IsOk()) << id;
  }
  journal.reset();
  db_.Restart();
  auto writer = Open(options_);
  ASSERT_NE(writer, nullptr);
  std::atomic<int> announced{0};  // OnRecoveredBacklogWritten's calls: the store's cue to check
  writer->OnRecoveredBacklogWritten([&] { ++announced; });
  CatchUp(*writer);
  ASSERT_EQ(Count("reservations"), 21);
  // Once, or twice if the commit came as it was being set: a check more, which finds nothing.
  EXPECT_GE(announced.load(), 1) << "the commit that wrote it announces it";
  writer.reset();  // killed before its store checked
  ASSERT_FALSE(Files().empty());

  auto next = Open(options_);
  ASSERT_NE(next, nullptr);
  EXPECT_TRUE(next->Healthy()) << "nothing to write";
  const int before = announced.load();
  next->OnRecoveredBacklogWritten([&] { ++announced; });
  EXPECT_EQ(announced.load(), before + 1) << "written already: announced at once";
  next->OnRecoveredBacklogWritten(nullptr);
  const RecoveredAllocations allocations = Check(*next);
  EXPECT_EQ(allocations.allocations, 20u);
  EXPECT_EQ(allocations.oldest, kT0);
  EXPECT_EQ(Count("reservations"), 21);
  EXPECT_EQ(Count("caller_ids"), 21);
  EXPECT_EQ(Files().size(), 1u) << "checked: forgotten; the journal's own file remains";
}

// An instance killed while writing a backlog it recovered has checkpointed its progress in that
// backlog's files, in their own numbering: the next start writes only the rest, so the api_logs
// rows (which a replay cannot tell from new ones) are written once.
TEST_F(PostgresSpillTest, ARecoveredBacklogCutOffMidwayIsTakenUpWhereItStopped) {
  auto journal = OpenThenLosePostgres();
  ASSERT_NE(journal, nullptr);
  for (std::uint64_t id = 2; id <= 61; ++id) {
    ASSERT_THAT(AppendAndWait(*journal, Allocation(id)), IsOk()) << id;
    journal->AppendLog(Log(static_cast<int>(id)));
  }
  journal.reset();
  db_.Restart();
  // The batch that inserts reservation 40 loses its connection, every time it is sent.
  db_.Exec(
      "CREATE FUNCTION cut_off() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id = 40 THEN "
      "PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$");
  db_.Exec(
      "CREATE TRIGGER cut_off BEFORE INSERT ON reservations FOR EACH ROW EXECUTE FUNCTION "
      "cut_off()");
  PostgresOptions small = options_;
  small.max_batch_entries = 4;  // two allocations a batch
  small.max_batch_log_rows = 4;
  {
    auto cut = Open(small);
    ASSERT_NE(cut, nullptr);
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (Count("reservations") < 39 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(Count("reservations"), 39);  // 1 to 39
    ASSERT_EQ(Count("api_logs"), 60);      // every row: they go 4 a batch, ahead of the appends
  }                                        // stopped with the batch of 40 and 41 unwritten
  db_.Exec("DROP TRIGGER cut_off ON reservations");
  auto next = Open(options_);
  ASSERT_NE(next, nullptr);
  CatchUp(*next);
  EXPECT_TRUE(next->Healthy());
  EXPECT_EQ(Count("reservations"), 61);
  EXPECT_EQ(Count("api_logs"), 60) << "rows written again";
  Check(*next);
  next.reset();
  EXPECT_TRUE(Files().empty());
}

// A directory that cannot be written when the journal opens is no error (allocation must go on):
// the journal tries to make its file again once it degrades.
TEST_F(PostgresSpillTest, ADirectoryThatCannotBeWrittenAtOpenIsTriedAgainWhenDegraded) {
  std::ofstream(options_.spill_dir) << "in the way";
  auto journal = Open(options_);
  ASSERT_NE(journal, nullptr);
  ASSERT_THAT(AppendAndWait(*journal, Allocation(1)), IsOk());
  journal->Flush();
  std::filesystem::remove(options_.spill_dir);
  db_.Kill();
  for (std::uint64_t id = 2; id <= 11; ++id) {
    ASSERT_THAT(AppendAndWait(*journal, Allocation(id)), IsOk()) << id;
  }
  journal.reset();
  ASSERT_FALSE(Files().empty());
  db_.Restart();
  auto next = Open(options_);
  CatchUp(*next);
  EXPECT_EQ(Count("reservations"), 11);
}

// Appends acknowledged while no copy could be made (the directory unusable) are copied, with
// everything else still queued, once the file can be made: killed then, the instance loses none.
TEST_F(PostgresSpillTest, WhatWasAcknowledgedWithoutACopyIsCopiedOnceTheFileCanBeMade) {
  options_.spill_retry = std::chrono::milliseconds(50);
  std::ofstream(options_.spill_dir) << "in the way";
  auto journal = Open(options_);
  ASSERT_NE(journal, nullptr);
  ASSERT_THAT(AppendAndWait(*journal, Allocation(1)), IsOk());
  journal->Flush();
  db_.Kill();
  for (std::uint64_t id = 2; id <= 11; ++id) {
    ASSERT_THAT(AppendAndWait(*journal, Allocation(id)), IsOk()) << id;  // in memory only
  }
  EXPECT_GE(journal->BacklogCopyFailures(), 1u);
  std::filesystem::remove(options_.spill_dir);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_THAT(AppendAndWait(*journal, Allocation(12)), IsOk());
  journal.reset();
  db_.Restart();
  auto next = Open(options_);
  ASSERT_NE(next, nullptr);
  CatchUp(*next);
  EXPECT_EQ(Count("reservations"), 12);
}

// The api_logs rows of requests that change nothing (a 503, a 429) are acknowledged by nobody:
// they are copied as they come, not when the writer's reconnect backoff ends.
TEST_F(PostgresSpillTest, LogRowsAloneAreCopiedAsTheyCome) {
  options_.reconnect_min = std::chrono::seconds(5);
  options_.reconnect_max = std::chrono::seconds(5);
  auto journal = OpenThenLosePostgres();
  ASSERT_NE(journal, nullptr);
  ASSERT_THAT(AppendAndWait(*journal, Allocation(2)), IsOk());  // degraded, backing off
  for (int i = 0; i < 10; ++i) journal->AppendLog(Log(i));
  const auto copy = dir_ / "copy";
  std::size_t copied = 0;
  const auto deadline = std::chrono::steady_clock::now() + seconds(2);
  while (copied < 10 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::filesystem::remove_all(copy);
    std::filesystem::create_directories(copy);
    for (const auto& file : Files()) std::filesystem::copy_file(file, copy / file.filename());
    auto read = postgres::RecoverBacklogs(copy.string());
    ASSERT_THAT(read, IsOk());
    copied = read->logs.size();
  }
  EXPECT_EQ(copied, 10u) << "the rows waited for the backoff";
  db_.Restart();
}

// A backlog whose instance died while writing it is in part in PostgreSQL already: it is written
// as a replay (a reservation already stored is skipped, not a failed batch), and what was missing
// is written.
TEST_F(PostgresSpillTest, ARecoveredBacklogWrittenInPartAlreadyIsWrittenAsAReplay) {
  auto journal = OpenThenLosePostgres();
  ASSERT_NE(journal, nullptr);
  for (std::uint64_t id = 2; id <= 51; ++id) {
    ASSERT_THAT(AppendAndWait(*journal, Allocation(id)), IsOk()) << id;
  }
  const auto files = Files();
  ASSERT_GT(files.size(), 1u);
  // The files as an instance killed before its first checkpoint would have left them.
  for (const auto& file : files) {
    const std::string name = file.filename().string();
    std::filesystem::copy_file(
        file, file.parent_path() / ("backlog-0-copy" + name.substr(name.rfind('-'))));
  }
  db_.Restart();
  CatchUp(*journal);
  ASSERT_TRUE(journal->Healthy());
  journal.reset();
  ASSERT_EQ(Files().size(), files.size()) << "only the copies";
  ASSERT_EQ(Count("reservations"), 51);
  db_.Exec("DELETE FROM reservations WHERE id > 30");  // the part its writes had not reached

  auto next = Open(options_);
  ASSERT_NE(next, nullptr);
  CatchUp(*next);
  EXPECT_TRUE(next->Healthy());
  EXPECT_EQ(Count("reservations"), 51);
  EXPECT_EQ(next->BatchesFailed(), 0u);
  EXPECT_EQ(next->LostEntries(), 0u);
  Check(*next);
  next.reset();
  EXPECT_TRUE(Files().empty());
}

}  // namespace
}  // namespace cidrotor::store::journal_test

namespace cidrotor::store::journal_test {
namespace {

// A scan of every call of a window (here the answer rates, held up by a lock on reservations)
// runs on a connection of its own: a history page is answered meanwhile, and the scan may run
// past the statement timeout of the point reads (at millions of calls a day it takes seconds).
TEST_F(PostgresJournalTest, AScanNeitherHoldsUpPointReadsNorEndsAtTheirTimeout) {
  PostgresOptions options;
  options.connection = db_.settings();
  options.connection.statement_timeout = std::chrono::milliseconds(300);
  options.scan_statement_timeout = std::chrono::milliseconds(20'000);
  auto journal = OpenAsIs(options);
  ASSERT_NE(journal, nullptr);
  ASSERT_THAT(AppendAndWait(*journal, Allocation(1)), IsOk());

  auto locker = postgres::Connection::Open(db_.settings());
  ASSERT_THAT(locker, IsOk());
  ASSERT_THAT(locker->Exec("BEGIN; LOCK TABLE reservations IN ACCESS EXCLUSIVE MODE", "lock"),
              IsOk());
  std::promise<core::Result<AnswerStats>> scanned;
  auto scan = scanned.get_future();
  journal->QueryAnswerStats({.since = kT0 - std::chrono::hours(24), .now = kT0},
                            [&](core::Result<AnswerStats> r) { scanned.set_value(std::move(r)); });
  std::promise<core::Result<std::vector<StoredLog>>> listed;
  auto page = listed.get_future();
  journal->ListLogs(
      Logs(10), [&](core::Result<std::vector<StoredLog>> r) { listed.set_value(std::move(r)); });
  const bool page_came = page.wait_for(seconds(10)) == std::future_status::ready;
  const bool scan_waited = scan.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
  // Held past the point reads' 300 ms timeout (and their 1 s of slack on the client's side).
  std::this_thread::sleep_for(std::chrono::milliseconds(1'800));
  const bool scan_still_waited =
      scan.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
  ASSERT_THAT(locker->Exec("COMMIT", "unlock"), IsOk());

  ASSERT_TRUE(page_came) << "the history page waited behind the scan";
  EXPECT_THAT(page.get(), IsOk());
  EXPECT_TRUE(scan_waited && scan_still_waited) << "the lock did not hold the scan up";
  ASSERT_EQ(scan.wait_for(seconds(20)), std::future_status::ready);
  EXPECT_THAT(scan.get(), IsOk()) << "the scan ended at the point reads' timeout";
}

}  // namespace
}  // namespace cidrotor::store::journal_test
