#include "service/recent_activity.h"

#include <algorithm>

namespace cidrotor::service {
namespace {

std::int64_t HourOf(core::TimePoint now) {
  return std::chrono::duration_cast<std::chrono::hours>(now.time_since_epoch()).count();
}

std::vector<ActivityRow> Sorted(std::unordered_map<std::string, ActivityRow>& rows) {
  std::vector<ActivityRow> out;
  out.reserve(rows.size());
  for (auto& [name, row] : rows) out.push_back(std::move(row));
  std::sort(out.begin(), out.end(), [](const ActivityRow& a, const ActivityRow& b) {
    return a.allocations != b.allocations ? a.allocations > b.allocations : a.name < b.name;
  });
  return out;
}

}  // namespace

void RecentActivity::Count(Tallies& tallies, std::string_view name, core::TimePoint now) {
  auto it = tallies.find(name);
  if (it == tallies.end()) {
    const std::string_view key = tallies.size() < kMaxNamesPerHour ? name : kOther;
    it = tallies.find(key);
    if (it == tallies.end()) it = tallies.try_emplace(std::string(key)).first;
  }
  ++it->second.allocations;
  it->second.last = std::max(it->second.last, now);
}

void RecentActivity::Record(std::string_view campaign, std::string_view agent,
                            core::TimePoint now) {
  const std::int64_t hour = HourOf(now);
  std::lock_guard lock(mu_);
  Bucket& bucket = buckets_[static_cast<std::size_t>(hour) % kHours];
  if (bucket.hour != hour) {
    bucket.hour = hour;
    bucket.campaigns.clear();
    bucket.agents.clear();
  }
  Count(bucket.campaigns, campaign, now);
  Count(bucket.agents, agent, now);
}

ActivitySnapshot RecentActivity::Last24Hours(core::TimePoint now) const {
  const std::int64_t hour = HourOf(now);
  std::unordered_map<std::string, ActivityRow> campaigns;
  std::unordered_map<std::string, ActivityRow> agents;
  auto merge = [](std::unordered_map<std::string, ActivityRow>& into, const Tallies& tallies) {
    for (const auto& [name, tally] : tallies) {
      ActivityRow& row = into[name];
      row.name = name;
      row.allocations += tally.allocations;
      row.last_allocation = std::max(row.last_allocation, tally.last);
    }
  };
  {
    std::lock_guard lock(mu_);
    for (const Bucket& bucket : buckets_) {
      if (bucket.hour < 0 || bucket.hour > hour || hour - bucket.hour >= std::int64_t{kHours}) {
        continue;
      }
      merge(campaigns, bucket.campaigns);
      merge(agents, bucket.agents);
    }
  }
  return ActivitySnapshot{Sorted(campaigns), Sorted(agents)};
}

}  // namespace cidrotor::service
