#include "app/cluster_init_db.h"

#include <fmt/format.h>

#include <future>
#include <ostream>
#include <vector>

#include "app/store_factory.h"
#include "cli/init_db.h"
#include "cli/sample_pool.h"

namespace cidrotor::app {
namespace {

// Runs one callback-style store call and waits for it (a command, not a server: blocking is fine).
template <class T, class Start>
core::Result<T> Wait(Start start) {
  std::promise<core::Result<T>> promise;
  start([&promise](core::Result<T> result) { promise.set_value(std::move(result)); });
  return promise.get_future().get();
}

}  // namespace

int RunClusterInitDb(const Config& config, const core::Clock& clock, const core::Calendar& calendar,
                     bool sample_data, std::ostream& out, std::ostream& err) {
  auto opened = OpenServeStore(config, clock, calendar);
  if (!opened) {
    err << "init-db: " << opened.error().ToString() << "\n";
    return opened.error().code() == core::ErrorCode::kInvalidArgument ? 2 : 1;
  }
  store::Store& store = *opened->store;
  auto stats = Wait<store::StoreStats>([&](auto done) { store.GetStats(std::move(done)); });
  if (!stats) {
    err << "init-db: " << stats.error().ToString() << "\n";
    return 1;
  }
  out << fmt::format("schema ready: PostgreSQL + {} ({} numbers)\n", opened->where,
                     stats->total_numbers);
  if (!sample_data) return 0;
  if (stats->total_numbers > 0) {
    out << fmt::format("sample data skipped: the store already has {} numbers\n",
                       stats->total_numbers);
    return 0;
  }
  // The sample pool is established (warm-up day 0), as the embedded init-db writes it: a demo
  // at full caps whatever WARMUP_DAYS says.
  std::vector<store::ImportItem> items;
  for (auto& spec : cli::GenerateSamplePool(cli::kSamplePoolSize)) {
    items.push_back(
        {std::move(spec), std::nullopt, core::CompactTime{0}, std::nullopt, std::nullopt});
  }
  auto imported = Wait<store::ImportResult>([&](auto done) {
    store.ImportNumbers(std::move(items), store::OnDuplicate::kSkip, std::move(done));
  });
  if (!imported) {
    err << "init-db: " << imported.error().ToString() << "\n";
    return 1;
  }
  if (!store.Flush()) {
    err << "init-db: the sample pool could not be written to PostgreSQL (see the log above)\n";
    return 1;
  }
  out << cli::SampleLoadedLine(imported->imported) << "\n";
  return 0;
}

}  // namespace cidrotor::app
