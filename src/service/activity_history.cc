#include "service/activity_history.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>

namespace cidrotor::service {
namespace {

std::int64_t MinuteOf(core::TimePoint t) {
  return std::chrono::floor<std::chrono::minutes>(t.time_since_epoch()).count();
}

}  // namespace

store::ActivityQuery ActivityQueryAt(core::TimePoint cut) {
  const auto minutes_back = std::chrono::minutes(MinuteSeries::kMinutes);
  return store::ActivityQuery{
      .pairs_since = cut - kActivityNamesWindow, .minutes_since = cut - minutes_back, .until = cut};
}

LiveActivity MergeActivity(const ActivityHistoryRead* history, const AllocationTelemetry& live,
                           core::TimePoint now) {
  LiveActivity view;
  view.per_minute = live.per_minute().Last(now);
  view.first_minute =
      MinuteSeries::MinuteStart(now) - static_cast<std::int64_t>(view.per_minute.size() - 1) * 60;
  std::unordered_map<std::string, ActivityRow> campaigns;
  std::unordered_map<std::string, ActivityRow> agents;
  core::TimePoint live_since = now - kActivityNamesWindow;
  if (history != nullptr) {
    // The minutes before the cut are the history's (every instance's); from the cut on, this
    // process's own.
    const std::int64_t cut_minute = MinuteOf(history->cut);
    auto counted = history->data.minutes.begin();
    for (std::size_t i = 0; i < view.per_minute.size(); ++i) {
      const std::int64_t minute = view.first_minute / 60 + static_cast<std::int64_t>(i);
      if (minute >= cut_minute) break;
      while (counted != history->data.minutes.end() && counted->minute < minute) ++counted;
      const bool has = counted != history->data.minutes.end() && counted->minute == minute;
      view.per_minute[i] =
          has ? static_cast<std::uint32_t>(std::min<std::uint64_t>(
                    counted->allocations, std::numeric_limits<std::uint32_t>::max()))
              : 0;
    }
    for (const auto& pair : history->data.pairs) {
      AddActivity(campaigns, pair.campaign, pair.allocations, pair.last);
      AddActivity(agents, pair.agent, pair.allocations, pair.last);
    }
    if (history->data.unlisted > 0) {
      AddActivity(campaigns, RecentActivity::kOther, history->data.unlisted, {});
      AddActivity(agents, RecentActivity::kOther, history->data.unlisted, {});
    }
    live_since = history->cut;
  }
  const ActivitySnapshot recent = live.activity().Since(live_since, now);
  for (const auto& row : recent.campaigns) {
    AddActivity(campaigns, row.name, row.allocations, row.last_allocation);
  }
  for (const auto& row : recent.agents) {
    AddActivity(agents, row.name, row.allocations, row.last_allocation);
  }
  view.names =
      ActivitySnapshot{SortedActivity(std::move(campaigns)), SortedActivity(std::move(agents))};
  return view;
}

void ActivityHistory::Get(core::TimePoint now, const Fetch& fetch,
                          std::function<void(ReadPtr)> done) {
  std::unique_lock lock(state_->mu);
  // A clock stepped back reads again rather than keep a history from the future.
  const bool due =
      !state_->last_read_start || now >= state_->next_read_due || now < *state_->last_read_start;
  const bool start = due && !state_->reading;
  if (start) state_->reading = true;
  ReadPtr latest = state_->latest;
  const bool wait = latest == nullptr && state_->reading;
  if (wait) state_->waiting.push_back(std::move(done));
  lock.unlock();
  // Read's callback may run at once, on this thread: the lock is released first.
  if (start) Read(state_, now, fetch);
  if (!wait) done(std::move(latest));
}

void ActivityHistory::Read(const std::shared_ptr<State>& state, core::TimePoint now,
                           const Fetch& fetch) {
  const core::TimePoint cut = std::chrono::floor<std::chrono::minutes>(now - kSettle);
  fetch(ActivityQueryAt(cut), [state, now, cut](core::Result<store::ActivityData> data) {
    std::vector<std::function<void(ReadPtr)>> waiting;
    ReadPtr latest;
    {
      std::lock_guard lock(state->mu);
      state->reading = false;
      state->last_read_start = now;
      state->next_read_due = now + (data ? kMaxAge : kRetryAfter);
      if (data) {
        state->latest =
            std::make_shared<const ActivityHistoryRead>(ActivityHistoryRead{cut, std::move(*data)});
      }
      latest = state->latest;
      waiting.swap(state->waiting);
    }
    if (!data) {
      spdlog::warn("dashboard: cannot read the allocation history ({}); {}", data.error().detail(),
                   latest ? "showing the last one read" : "showing this process's own counts");
    }
    for (const auto& callback : waiting) callback(latest);
  });
}

}  // namespace cidrotor::service
