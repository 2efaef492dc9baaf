// Helpers for the journal tests: builders for entries, a recording LoadSink, synchronous waits on
// the journal's callbacks (futures, never sleeps) and a temporary directory.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/allocation.h"
#include "core/clock.h"
#include "core/number.h"
#include "core/result.h"
#include "store/journal.h"
#include "store/store.h"
#include "support/matchers.h"

namespace cidrotor::store::journal_test {

// 2024-03-01T12:00:00Z: all test times are offsets from it.
inline constexpr core::TimePoint kT0{std::chrono::seconds(1'709'294'400)};

inline core::PhoneNumber Phone(std::uint64_t digits) {
  return core::PhoneNumber::FromValidDigits(digits);
}

inline core::NumberSpec Spec(std::uint64_t digits, std::uint16_t hourly_cap = 0,
                             std::uint16_t daily_cap = 0) {
  core::NumberSpec spec;
  spec.caller_id = Phone(digits);
  spec.carrier = "AT&T";
  spec.pool = "default";
  spec.state = "CA";
  spec.hourly_cap = hourly_cap;
  spec.daily_cap = daily_cap;
  return spec;
}

inline core::NumberUsage Usage(core::TimePoint last_used, std::uint16_t hourly_used,
                               std::uint16_t daily_used) {
  core::NumberUsage usage;
  usage.last_used = core::ToCompact(last_used);
  usage.hour_start = core::ToCompact(last_used) / 3600 * 3600;
  usage.day_start = core::ToCompact(last_used) / 86400 * 86400;
  usage.hourly_used = hourly_used;
  usage.daily_used = daily_used;
  return usage;
}

inline NumberUpserted Upsert(core::NumberSpec spec, core::NumberUsage usage = {}) {
  return NumberUpserted{std::move(spec), usage};
}

inline core::Reservation MakeReservation(std::uint64_t id, std::uint64_t caller_id,
                                         core::TimePoint at, std::chrono::seconds ttl) {
  core::Reservation r;
  r.id = id;
  r.caller_id = Phone(caller_id);
  r.destination = Phone(3'105'559'876);
  r.campaign = "sales";
  r.agent = "agent" + std::to_string(id);
  r.pool = "default";
  r.lead_id = 1'000 + id;
  r.match = core::MatchTier::kAreaCode;
  r.reserved_at = at;
  r.reserved_until = at + ttl;
  return r;
}

inline ReservationMade Made(core::Reservation r, core::NumberUsage usage = {}) {
  return ReservationMade{std::move(r), usage};
}

inline ReservationReleased Released(std::uint64_t id, core::TimePoint at,
                                    core::CallOutcome outcome = core::CallOutcome::kAnswered,
                                    std::optional<std::uint32_t> duration = 42) {
  return ReservationReleased{id, at, outcome, duration};
}

inline ApiLogEntry Log(int i) {
  ApiLogEntry e;
  e.timestamp = kT0 + std::chrono::milliseconds(i);
  e.endpoint = "/next-cid";
  e.method = "GET";
  e.agent = "agent" + std::to_string(i);
  e.campaign = "sales";
  e.caller_id_allocated = "3105550100";
  e.response_time_us = 1'234 + static_cast<std::uint32_t>(i);
  e.status_code = 200;
  return e;
}

class RecordingSink final : public LoadSink {
 public:
  void OnNumber(const core::NumberSpec& spec, const core::NumberUsage& usage) override {
    numbers.emplace_back(spec, usage);
  }
  void OnLiveReservation(const core::Reservation& reservation) override {
    live.push_back(reservation);
  }
  void OnCampaignPool(const CampaignPool& mapping) override { campaign_pools.push_back(mapping); }
  void OnPoolSettings(const PoolSettings& settings) override { pool_settings.push_back(settings); }
  core::Seconds LeadWindow() const override { return lead_window; }
  void OnLeadAllocation(const LeadAllocation& lead) override { leads.push_back(lead); }
  core::Seconds AgentWindow() const override { return agent_window; }
  void OnAgentAllocation(const AgentAllocation& allocation) override {
    agents.emplace_back(std::string(allocation.agent), allocation.at);
  }
  void OnDeletedNumber(core::PhoneNumber caller_id, const DeletedUsage& kept) override {
    deleted.emplace_back(caller_id, kept);
  }
  std::optional<core::Windows> CountedWindows() const override { return counted_windows; }
  core::Seconds lead_window{0};   // the allocations of leads wanted: none unless set
  core::Seconds agent_window{0};  // likewise, of agents
  std::optional<core::Windows> counted_windows;  // usage as stored unless set
  std::vector<std::pair<std::string, core::TimePoint>> agents;
  std::vector<LeadAllocation> leads;
  std::vector<std::pair<core::PhoneNumber, DeletedUsage>> deleted;
  std::vector<std::pair<core::NumberSpec, core::NumberUsage>> numbers;
  std::vector<core::Reservation> live;
  std::vector<CampaignPool> campaign_pools;
  std::vector<PoolSettings> pool_settings;
};

// Appends and waits for `on_durable`, whatever thread it runs on.
inline core::Result<void> AppendAndWait(Journal& journal, std::vector<JournalEntry> entries) {
  auto promise = std::make_shared<std::promise<core::Result<void>>>();
  auto future = promise->get_future();
  journal.Append(std::move(entries),
                 [promise](core::Result<void> r) { promise->set_value(std::move(r)); });
  return future.get();
}

inline LogQuery Logs(std::size_t limit, std::optional<std::uint64_t> before_id = std::nullopt) {
  LogQuery query;
  query.limit = limit;
  query.before_id = before_id;
  return query;
}

inline core::Result<std::vector<StoredLog>> ListLogsSync(Journal& journal, LogQuery query) {
  std::promise<core::Result<std::vector<StoredLog>>> promise;
  auto future = promise.get_future();
  journal.ListLogs(
      query, [&](core::Result<std::vector<StoredLog>> r) { promise.set_value(std::move(r)); });
  return future.get();
}

// Queries of the whole history (`live_only` false) and of the live reservations.
inline ReservationQuery AllReservations(std::size_t limit = 100) {
  ReservationQuery query;
  query.live_only = false;
  query.limit = limit;
  return query;
}
inline ReservationQuery LiveReservations(std::size_t limit = 100) {
  ReservationQuery query;
  query.limit = limit;
  return query;
}

inline core::Result<std::vector<ReservationRecord>> ListReservationsSync(Journal& journal,
                                                                         ReservationQuery query,
                                                                         core::TimePoint now) {
  std::promise<core::Result<std::vector<ReservationRecord>>> promise;
  auto future = promise.get_future();
  journal.ListReservations(query, now, [&](core::Result<std::vector<ReservationRecord>> r) {
    promise.set_value(std::move(r));
  });
  return future.get();
}

// A fresh directory under gtest's temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "cidrotor_store_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed for " << pattern;
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

using ::cidrotor::testing::HasError;
using ::cidrotor::testing::IsOk;

}  // namespace cidrotor::store::journal_test
