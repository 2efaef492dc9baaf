// Cost of one allocate+release cycle in the core index as the pool grows (1k → 1M numbers), and
// with 90 % of the destination's area code reserved. SPEC's target: 1,000,000 numbers keep at
// least 80 % of the throughput at 1,000. The ratios are printed at the end; absolute times depend
// on the (shared, noisy) machine and are not the point.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/calendar.h"
#include "core/number_index.h"

namespace cidrotor::core {
namespace {

constexpr std::uint32_t kAreaCodes[] = {201, 202, 203, 205, 206, 207, 208, 209, 210, 212,
                                        213, 214, 215, 216, 217, 218, 219, 224, 225, 228};

// A pool of `count` numbers over 20 area codes, 100 exchanges each, caps high enough never to bind.
struct Pool {
  FixedOffsetCalendar calendar;
  std::unique_ptr<NumberIndex> index;
  TimePoint now = TimePoint(Seconds(1'795'615'200));
  std::uint64_t next_id = 1;

  explicit Pool(std::size_t count) {
    index = std::make_unique<NumberIndex>(calendar, IndexOptions{65535, 65535, Seconds(300)});
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint64_t npa = kAreaCodes[i % 20];
      const std::uint64_t nxx = 200 + (i / 20) % 100;
      const std::uint64_t line = (i / 2000) % 10'000;
      NumberSpec spec;
      spec.caller_id = PhoneNumber::FromValidDigits(npa * 10'000'000 + nxx * 10'000 + line);
      (void)index->Load(spec, NumberUsage{}, now);
    }
  }

  // Reserves `share` of area code 212's numbers for an hour.
  void ReserveShareOf212(double share) {
    const std::size_t in_212 = index->size() / 20;
    AllocationRequest request;
    request.destination = PhoneNumber::FromValidDigits(2'122'000'000);
    request.ttl = Seconds(3600);
    for (std::size_t i = 0; i < static_cast<std::size_t>(share * static_cast<double>(in_212));
         ++i) {
      (void)index->Allocate(request, now, next_id++);
    }
  }
};

void AllocateRelease(benchmark::State& state, double reserved_share) {
  Pool pool(static_cast<std::size_t>(state.range(0)));
  pool.ReserveShareOf212(reserved_share);
  std::mt19937 rng(42);
  AllocationRequest request;
  ReleaseRequest release;
  for (auto _ : state) {
    // Destinations in 212 (where the reserved share is) and spread over the other area codes.
    const std::uint64_t npa = reserved_share > 0 ? 212 : kAreaCodes[rng() % 20];
    request.destination =
        PhoneNumber::FromValidDigits(npa * 10'000'000 + (200 + rng() % 100) * 10'000 + 9999);
    auto allocation = pool.index->Allocate(request, pool.now, pool.next_id++);
    if (!allocation) {
      state.SkipWithError("allocation failed");
      break;
    }
    release.reservation_id = allocation->reservation.id;
    benchmark::DoNotOptimize(pool.index->Release(release, pool.now));
    pool.now += Milliseconds(1);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_AllocateRelease(benchmark::State& state) { AllocateRelease(state, 0.0); }
void BM_AllocateRelease90PercentReserved(benchmark::State& state) { AllocateRelease(state, 0.9); }

BENCHMARK(BM_AllocateRelease)
    ->Arg(1'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AllocateRelease90PercentReserved)
    ->Arg(1'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMicrosecond);

// Prints each run as usual, then throughput at every size relative to the smallest.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      // With --benchmark_repetitions the median aggregate is what counts; else the single run.
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.error_occurred || !(median || run.run_type == Run::RT_Iteration)) continue;
      auto it = run.counters.find("items_per_second");
      if (it == run.counters.end()) continue;
      auto& slot = throughput_[run.run_name.function_name][run.run_name.args];
      if (median || slot == 0) slot = it->second;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nthroughput relative to the 1k pool (SPEC target for 1M: >= 0.80)\n");
    for (const auto& [name, by_size] : throughput_) {
      auto base = by_size.find("1000");
      if (base == by_size.end()) continue;
      for (const auto& [size, value] : by_size) {
        std::printf("  %-40s %8s numbers: %.2f\n", name.c_str(), size.c_str(),
                    value / base->second);
      }
    }
  }

 private:
  std::map<std::string, std::map<std::string, double>> throughput_;
};

}  // namespace
}  // namespace cidrotor::core

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  cidrotor::core::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
