// This process's campaigns and agents of the last minutes, for the dashboard: allocations and last
// allocation per name, in a ring of minute buckets (old minutes fall off without a sweep). The
// dashboard's 24 hours come from the store's history (service/activity_history.h), which this
// tops up with the minutes since the history was read.
//
// Why a mutex here when the metrics counters are lock-free: names are open-ended strings, so this
// is a hash map; the critical section is one lookup and two stores (well under a microsecond,
// beside an allocation that already takes the store's lock). Each bucket holds at most
// kMaxNamesPerMinute names per kind; further new names that minute are tallied under "(other)",
// so a flood of distinct agent names cannot grow memory without bound.
// Thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"

namespace cidrotor::service {

struct ActivityRow {
  std::string name;
  std::uint64_t allocations = 0;
  core::TimePoint last_allocation{};
};

struct ActivitySnapshot {
  std::vector<ActivityRow> campaigns;  // most allocations first, then by name
  std::vector<ActivityRow> agents;
};

// Adds one name's allocations to `rows` (by name).
void AddActivity(std::unordered_map<std::string, ActivityRow>& rows, std::string_view name,
                 std::uint64_t allocations, core::TimePoint last);
// `rows` as a list, most allocations first, then by name.
std::vector<ActivityRow> SortedActivity(std::unordered_map<std::string, ActivityRow> rows);

class RecentActivity {
 public:
  // The store's history is read about once a minute: half an hour of minutes leaves room for
  // reads that fail for a while.
  static constexpr std::size_t kMinutes = 30;
  static constexpr std::size_t kMaxNamesPerMinute = 1024;
  static constexpr std::string_view kOther = "(other)";

  void Record(std::string_view campaign, std::string_view agent, core::TimePoint now);

  // Totals over the minutes from the one holding `since` to the one holding `now`; of those, the
  // last kMinutes only.
  ActivitySnapshot Since(core::TimePoint since, core::TimePoint now) const;

 private:
  struct Tally {
    std::uint64_t allocations = 0;
    core::TimePoint last{};
  };
  // Looked up by string_view without building a std::string (C++20 heterogeneous lookup): the
  // hot path allocates only for a name new this minute.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const {
      return std::hash<std::string_view>{}(name);
    }
  };
  using Tallies = std::unordered_map<std::string, Tally, NameHash, std::equal_to<>>;
  struct Bucket {
    std::int64_t minute = -1;  // minutes since the Unix epoch; -1 = empty
    Tallies campaigns;
    Tallies agents;
  };

  static void Count(Tallies& tallies, std::string_view name, core::TimePoint now);

  mutable std::mutex mu_;
  std::array<Bucket, kMinutes> buckets_;  // guarded by mu_
};

}  // namespace cidrotor::service
