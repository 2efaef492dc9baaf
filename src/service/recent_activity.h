// Campaigns and agents of the last 24 hours, for the dashboard: allocations and last allocation
// per name, kept in 24 hourly buckets so that old hours fall off without a sweep.
//
// Why a mutex here when the metrics counters are lock-free: names are open-ended strings, so this
// is a hash map; the critical section is one lookup and two stores (well under a microsecond,
// beside an allocation that already takes the store's lock). Each bucket holds at most
// kMaxNamesPerHour names per kind; further new names that hour are tallied under "(other)", so a
// flood of distinct agent names cannot grow memory without bound.
// In-process, like MinuteSeries: starts empty with the process.
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

class RecentActivity {
 public:
  static constexpr std::size_t kHours = 24;
  static constexpr std::size_t kMaxNamesPerHour = 1024;
  static constexpr std::string_view kOther = "(other)";

  void Record(std::string_view campaign, std::string_view agent, core::TimePoint now);

  // Totals over the 24 hourly buckets ending with the hour of `now`.
  ActivitySnapshot Last24Hours(core::TimePoint now) const;

 private:
  struct Tally {
    std::uint64_t allocations = 0;
    core::TimePoint last{};
  };
  // Looked up by string_view without building a std::string (C++20 heterogeneous lookup): the
  // hot path allocates only for a name new this hour.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const {
      return std::hash<std::string_view>{}(name);
    }
  };
  using Tallies = std::unordered_map<std::string, Tally, NameHash, std::equal_to<>>;
  struct Bucket {
    std::int64_t hour = -1;  // hours since the Unix epoch; -1 = empty
    Tallies campaigns;
    Tallies agents;
  };

  static void Count(Tallies& tallies, std::string_view name, core::TimePoint now);

  mutable std::mutex mu_;
  std::array<Bucket, kHours> buckets_;  // guarded by mu_
};

}  // namespace cidrotor::service
