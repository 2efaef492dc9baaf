// `cidrotor import`'s PostgreSQL path on its own: ROWS generated numbers (realistic columns, a
// shuffled order, as a CSV would bring them) through postgres::BulkImporter (COPY, its default
// batch size) into an empty schema, timed from the first row to the last commit, then the time to
// read them back (ScanNumbers, the start-up scan). The server comes from DATABASE_URL;
// bench/import/pg_run.sh starts a private one. Prints one line per run.
//
//   pg_import_bench ROWS [RUNS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/phone_number.h"
#include "store/postgres/bulk_import.h"

namespace {

using namespace cidrotor;

std::vector<store::ImportItem> Rows(std::size_t count) {
  static const char* kCarriers[] = {"AT&T", "Verizon", "T-Mobile", "Lumen", "Bandwidth"};
  static const char* kStates[] = {"CA", "NY", "TX", "FL", "IL", "WA"};
  std::vector<store::ImportItem> rows;
  rows.reserve(count);
  for (std::uint64_t npa = 201; npa <= 989 && rows.size() < count; ++npa) {
    if (!core::IsValidAreaCode(static_cast<std::uint32_t>(npa))) continue;
    for (std::uint64_t nxx = 201; nxx <= 989 && rows.size() < count; ++nxx) {
      if (!core::IsValidAreaCode(static_cast<std::uint32_t>(nxx))) continue;
      for (std::uint64_t line = 0; line < 100 && rows.size() < count; ++line) {
        store::ImportItem item;
        item.spec.caller_id = core::PhoneNumber::FromValidDigits(npa * 10'000'000 + nxx * 10'000 +
                                                                 line * 97 % 10'000);
        item.spec.carrier = kCarriers[rows.size() % 5];
        item.spec.state = kStates[npa % 6];
        item.spec.pool = "default";
        rows.push_back(std::move(item));
      }
    }
  }
  std::shuffle(rows.begin(), rows.end(), std::mt19937_64(42));
  return rows;
}

class CountNumbers final : public store::LoadSink {
 public:
  void OnNumber(const core::NumberSpec&, const core::NumberUsage&) override { ++numbers; }
  void OnLiveReservation(const core::Reservation&) override {}
  std::uint64_t numbers = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const std::size_t count = argc > 1 ? std::stoul(argv[1]) : 1'000'000;
  const int runs = argc > 2 ? std::stoi(argv[2]) : 3;
  const char* url = std::getenv("DATABASE_URL");
  if (url == nullptr) {
    std::fprintf(stderr, "pg_import_bench: set DATABASE_URL\n");
    return 2;
  }
  const std::vector<store::ImportItem> rows = Rows(count);
  for (int run = 1; run <= runs; ++run) {
    store::postgres::BulkImportOptions options;
    options.connection.url = url;
    {
      auto reset = store::postgres::Connection::Open(options.connection);  // 5 s statements
      if (!reset || !reset->Exec("DROP TABLE IF EXISTS caller_ids, reservations, api_logs, "
                                 "campaign_pools, pool_settings, schema_migrations",
                                 "reset")) {
        std::fprintf(stderr, "pg_import_bench: cannot reach %s\n", url);
        return 1;
      }
    }
    const auto start = std::chrono::steady_clock::now();
    auto importer = store::postgres::BulkImporter::Open(options);
    if (!importer) {
      std::fprintf(stderr, "pg_import_bench: %s\n", importer.error().ToString().c_str());
      return 1;
    }
    for (const store::ImportItem& row : rows) {
      if (auto ok = (*importer)->Add(row); !ok) {
        std::fprintf(stderr, "pg_import_bench: %s\n", ok.error().ToString().c_str());
        return 1;
      }
    }
    if (auto ok = (*importer)->Finish(); !ok) {
      std::fprintf(stderr, "pg_import_bench: %s\n", ok.error().ToString().c_str());
      return 1;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    importer->reset();
    // Reading them back, as a start-up or a Redis rebuild does (PostgresJournal::Load).
    CountNumbers counter;
    const auto scan_start = std::chrono::steady_clock::now();
    auto scanned = store::postgres::ScanNumbers(options.connection, core::TimePoint{}, counter);
    const double scan_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - scan_start).count();
    if (!scanned) {
      std::fprintf(stderr, "pg_import_bench: %s\n", scanned.error().ToString().c_str());
      return 1;
    }
    std::printf(
        "run %d: %zu rows imported into PostgreSQL in %.2f s (%.0f rows/s); "
        "%llu read back in %.2f s\n",
        run, count, seconds, static_cast<double>(count) / seconds,
        static_cast<unsigned long long>(counter.numbers), scan_seconds);
  }
  return 0;
}
