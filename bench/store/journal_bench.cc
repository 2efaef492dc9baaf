// Journal write throughput, SQLite (embedded) vs PostgreSQL (cluster), on the hot path's entries:
// INFLIGHT concurrent "requests", each an allocation (ReservationMade with its usage, plus an
// api_logs row) that waits for `on_durable`, then a release (ReservationReleased plus a row) that
// does not, then the next allocation. Reports committed allocations per second over SECONDS, and
// the PostgreSQL/SQLite ratio (issue 4's cluster target is >= 0.4 of embedded end to end; this
// is the system-of-record share of it). PostgreSQL from DATABASE_URL (bench/store/run.sh starts
// a private one); SQLite in a temp file with synchronous=FULL, as `serve` runs it.
//
//   journal_bench [SECONDS] [INFLIGHT]
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "store/journal.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/postgres_journal.h"
#include "store/sqlite/sqlite_journal.h"

namespace {

using namespace cidrotor;
constexpr std::uint64_t kNumbers = 10'000;
const core::TimePoint kT0{std::chrono::seconds(1'709'294'400)};

class Ignore final : public store::LoadSink {
 public:
  void OnNumber(const core::NumberSpec&, const core::NumberUsage&) override {}
  void OnLiveReservation(const core::Reservation&) override {}
};

core::PhoneNumber Number(std::uint64_t i) {
  return core::PhoneNumber::FromValidDigits(3'105'550'000 + i % kNumbers);
}

store::ApiLogEntry Log(const char* endpoint) {
  store::ApiLogEntry e;
  e.timestamp = kT0;
  e.endpoint = endpoint;
  e.method = "GET";
  e.agent = "agent7";
  e.campaign = "sales";
  e.caller_id_allocated = "3105550100";
  e.response_time_us = 850;
  e.status_code = 200;
  return e;
}

class Load {
 public:
  Load(store::Journal& journal, std::atomic<bool>& running)
      : journal_(journal), running_(running) {}
  void Next() {
    if (!running_.load()) return;
    const std::uint64_t id = next_id_.fetch_add(1);
    core::Reservation r;
    r.id = id;
    r.caller_id = Number(id);
    r.destination = core::PhoneNumber::FromValidDigits(2'125'559'876);
    r.agent = "agent7";
    r.campaign = "sales";
    r.pool = "default";
    r.reserved_at = kT0;
    r.reserved_until = kT0 + std::chrono::seconds(300);
    core::NumberUsage usage;
    usage.last_used = core::ToCompact(kT0);
    usage.hourly_used = 1;
    usage.daily_used = 1;
    std::vector<store::JournalEntry> entries;
    entries.push_back(store::ReservationMade{std::move(r), usage});
    journal_.Append(std::move(entries), [this, id](core::Result<void> ok) {
      if (!ok) return;
      allocations_.fetch_add(1);
      journal_.AppendLog(Log("/next-cid"));
      std::vector<store::JournalEntry> release;
      release.push_back(store::ReservationReleased{id, kT0, core::CallOutcome::kAnswered, 30});
      journal_.Append(std::move(release), {});
      journal_.AppendLog(Log("/release"));
      Next();
    });
  }
  std::uint64_t allocations() const { return allocations_.load(); }

 private:
  store::Journal& journal_;
  std::atomic<bool>& running_;
  std::atomic<std::uint64_t> next_id_{1};
  std::atomic<std::uint64_t> allocations_{0};
};

double Run(store::Journal& journal, double seconds, int inflight) {
  Ignore ignore;
  if (!journal.Load(kT0, ignore)) return 0;
  for (std::uint64_t i = 0; i < kNumbers; i += 1000) {
    std::vector<store::JournalEntry> numbers;
    for (std::uint64_t j = i; j < i + 1000; ++j) {
      core::NumberSpec spec;
      spec.caller_id = Number(j);
      spec.carrier = "AT&T";
      spec.pool = "default";
      spec.state = std::string("CA");
      numbers.push_back(store::NumberUpserted{spec, {}});
    }
    journal.Append(std::move(numbers), {});
  }
  journal.Flush();
  std::atomic<bool> running{true};
  Load load(journal, running);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < inflight; ++i) load.Next();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const std::uint64_t done = load.allocations();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  running.store(false);
  journal.Flush();
  return static_cast<double>(done) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::stod(argv[1]) : 5;
  const int inflight = argc > 2 ? std::stoi(argv[2]) : 64;
  const char* url = std::getenv("DATABASE_URL");
  if (url == nullptr) {
    std::fprintf(stderr, "journal_bench: set DATABASE_URL\n");
    return 2;
  }
  std::string dir = (std::filesystem::temp_directory_path() / "journal-bench-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) return 1;
  double sqlite_rate = 0;
  {
    auto journal = store::SqliteJournal::Open({.path = dir + "/bench.db"});
    if (!journal) return 1;
    sqlite_rate = Run(**journal, seconds, inflight);
  }
  std::filesystem::remove_all(dir);
  double pg_rate = 0;
  {
    store::PostgresOptions options;
    options.connection.url = url;
    auto journal = store::PostgresJournal::Open(options);
    if (!journal) return 1;
    pg_rate = Run(**journal, seconds, inflight);
    std::printf("postgres: %llu batches, %llu entries committed\n",
                static_cast<unsigned long long>((*journal)->BatchesCommitted()),
                static_cast<unsigned long long>((*journal)->EntriesCommitted()));
  }
  std::printf("allocate+release, %d in flight, %.0f s each:\n", inflight, seconds);
  std::printf("  sqlite journal      %9.0f allocations/s\n", sqlite_rate);
  std::printf("  postgres journal    %9.0f allocations/s\n", pg_rate);
  std::printf("  ratio postgres/sqlite %.2f\n", sqlite_rate > 0 ? pg_rate / sqlite_rate : 0.0);
  return 0;
}
