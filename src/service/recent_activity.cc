#include "service/recent_activity.h"

#include <algorithm>

namespace cidrotor::service {
namespace {

std::int64_t MinuteOf(core::TimePoint t) {
  return std::chrono::floor<std::chrono::minutes>(t.time_since_epoch()).count();
}

}  // namespace

void AddActivity(std::unordered_map<std::string, ActivityRow>& rows, std::string_view name,
                 std::uint64_t allocations, core::TimePoint last) {
  auto [it, inserted] = rows.try_emplace(std::string(name));
  ActivityRow& row = it->second;
  if (inserted) row.name = it->first;
  row.allocations += allocations;
  row.last_allocation = std::max(row.last_allocation, last);
}

std::vector<ActivityRow> SortedActivity(std::unordered_map<std::string, ActivityRow> rows) {
  std::vector<ActivityRow> out;
  out.reserve(rows.size());
  for (auto& [name, row] : rows) out.push_back(std::move(row));
  std::sort(out.begin(), out.end(), [](const ActivityRow& a, const ActivityRow& b) {
    return a.allocations != b.allocations ? a.allocations > b.allocations : a.name < b.name;
  });
  return out;
}

void RecentActivity::Count(Tallies& tallies, std::string_view name, core::TimePoint now) {
  auto it = tallies.find(name);
  if (it == tallies.end()) {
    const std::string_view key = tallies.size() < kMaxNamesPerMinute ? name : kOther;
    it = tallies.find(key);
    if (it == tallies.end()) it = tallies.try_emplace(std::string(key)).first;
  }
  ++it->second.allocations;
  it->second.last = std::max(it->second.last, now);
}

void RecentActivity::Record(std::string_view campaign, std::string_view agent,
                            core::TimePoint now) {
  const std::int64_t minute = MinuteOf(now);
  std::lock_guard lock(mu_);
  Bucket& bucket = buckets_[static_cast<std::size_t>(minute) % kMinutes];
  if (bucket.minute != minute) {
    bucket.minute = minute;
    bucket.campaigns.clear();
    bucket.agents.clear();
  }
  Count(bucket.campaigns, campaign, now);
  Count(bucket.agents, agent, now);
}

ActivitySnapshot RecentActivity::Since(core::TimePoint since, core::TimePoint now) const {
  const std::int64_t last = MinuteOf(now);
  const std::int64_t first = std::max(MinuteOf(since), last - std::int64_t{kMinutes} + 1);
  std::unordered_map<std::string, ActivityRow> campaigns;
  std::unordered_map<std::string, ActivityRow> agents;
  {
    std::lock_guard lock(mu_);
    for (const Bucket& bucket : buckets_) {
      if (bucket.minute < first || bucket.minute > last) continue;
      for (const auto& [name, t] : bucket.campaigns)
        AddActivity(campaigns, name, t.allocations, t.last);
      for (const auto& [name, t] : bucket.agents) AddActivity(agents, name, t.allocations, t.last);
    }
  }
  return ActivitySnapshot{SortedActivity(std::move(campaigns)), SortedActivity(std::move(agents))};
}

}  // namespace cidrotor::service
