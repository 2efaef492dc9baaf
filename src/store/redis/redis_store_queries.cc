// RedisStore's reads of current state and its housekeeping (store/redis/redis_store.h): live
// reservations, stats and area-code availability from every pool's scripts, history from the
// journal, health, and Tick.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "store/live_reservations.h"
#include "store/redis/deleted_numbers.h"
#include "store/redis/number_codec.h"
#include "store/redis/redis_store.h"

namespace cidrotor::store {

using redis::RedisConnection;
using redis::RedisReply;
using redis::Script;

namespace {

constexpr std::chrono::milliseconds kTickBudget{300};  // Redis work per Tick() (once a second)
// How often the sweep of deleted numbers' usage starts a pass over cid:deleted (a page a tick).
constexpr std::chrono::minutes kDeletedSweepEvery{10};

}  // namespace

void RedisStore::ListReservations(ReservationQuery query,
                                  Callback<std::vector<ReservationRecord>> on_done) {
  if (!query.live_only) {
    journal_->ListReservations(query, clock_.Now(), std::move(on_done));
    return;
  }
  Submit<std::vector<ReservationRecord>>(
      std::move(on_done), [this, query](RedisConnection& connection, auto& done) {
        const core::TimePoint now = clock_.Now();
        auto pools = Pools(connection);
        if (!pools) {
          done(core::Fail(pools.error()));
          return;
        }
        std::vector<core::Reservation> live;
        for (const std::string& pool : *pools) {
          auto reply =
              RunPoolScript(connection, Script::kLive, pool, now, {std::to_string(query.limit)});
          if (!reply) {
            done(core::Fail(reply.error()));
            return;
          }
          if (reply->Status() != "OK") continue;
          for (std::size_t at = 1; at + 9 < reply->elements.size(); at += 10) {
            // Made in another pool, when its number moved since (live.lua).
            const std::string made_in = reply->Text(at + 9);
            live.push_back(
                redis::ReservationFromReply(*reply, at, made_in.empty() ? pool : made_in));
          }
        }
        done(NewestLiveRecords(std::move(live), query.limit));
      });
}

void RedisStore::ListLogs(LogQuery query, Callback<std::vector<StoredLog>> on_done) {
  journal_->ListLogs(query, std::move(on_done));
}

void RedisStore::GetStats(Callback<StoreStats> on_done) {
  Submit<StoreStats>(std::move(on_done), [this](RedisConnection& connection, auto& done) {
    const core::TimePoint now = clock_.Now();
    auto pools = Pools(connection);
    if (!pools) {
      done(core::Fail(pools.error()));
      return;
    }
    StoreStats stats;
    std::map<std::uint32_t, AreaCodeAvailability> areas;
    std::uint64_t inactive = 0;
    for (const std::string& pool : *pools) {
      auto reply = RunPoolScript(connection, Script::kStats, pool, now, {});
      if (!reply) {
        done(core::Fail(reply.error()));
        return;
      }
      if (reply->Status() != "OK") continue;
      PoolAvailability pool_counts;
      pool_counts.pool = pool;
      pool_counts.total = static_cast<std::uint32_t>(reply->Int(1));
      pool_counts.available = static_cast<std::uint32_t>(reply->Int(2));
      stats.total_numbers += pool_counts.total;
      stats.available_numbers += pool_counts.available;
      const auto pool_reserved = static_cast<std::uint64_t>(reply->Int(3));
      const auto pool_parked = static_cast<std::uint64_t>(reply->Int(4));
      const auto pool_not_capped = pool_reserved + static_cast<std::uint64_t>(reply->Int(5));
      stats.reserved_numbers += pool_reserved;
      // Parked numbers are the reserved ones, the capped ones and those parked for a rest
      // (stats.lua: a capped number that also rests counts as capped until its window comes, as
      // embedded). Per pool, so that one pool's stray entry cannot hide another's capped ones.
      stats.capped_numbers += pool_parked > pool_not_capped ? pool_parked - pool_not_capped : 0;
      stats.resting_numbers += static_cast<std::uint64_t>(reply->Int(6));
      std::uint32_t pool_inactive = 0;
      for (std::size_t at = 7; at + 3 < reply->elements.size(); at += 4) {
        const auto npa = static_cast<std::uint32_t>(reply->Int(at));
        AreaCodeAvailability& area = areas[npa];
        area.area_code = npa;
        area.total += static_cast<std::uint32_t>(reply->Int(at + 1));
        area.active += static_cast<std::uint32_t>(reply->Int(at + 1) - reply->Int(at + 2));
        area.available += static_cast<std::uint32_t>(reply->Int(at + 3));
        pool_inactive += static_cast<std::uint32_t>(reply->Int(at + 2));
      }
      inactive += pool_inactive;
      pool_counts.active = pool_counts.total - pool_inactive;
      stats.pools.push_back(std::move(pool_counts));  // Pools() lists them by name
    }
    stats.active_numbers = stats.total_numbers - inactive;
    stats.allocations_total = allocations_;
    stats.releases_total = releases_;
    stats.no_caller_id_total = no_caller_id_;
    for (auto& [npa, area] : areas) stats.area_codes.push_back(area);
    std::stable_sort(stats.area_codes.begin(), stats.area_codes.end(),
                     [](const AreaCodeAvailability& a, const AreaCodeAvailability& b) {
                       return a.available < b.available;
                     });
    stats.journal_queue_depth = journal_->QueueDepth();
    stats.journal_backlog_copy_failures = journal_->BacklogCopyFailures();
    done(std::move(stats));
  });
}

void RedisStore::AppendLog(ApiLogEntry entry) { journal_->AppendLog(std::move(entry)); }

StoreHealth RedisStore::Health() const {
  StoreHealth health;
  health.mode = "cluster";
  // Up, and with its data: while Redis is reloaded from the journal every allocation is refused.
  health.can_allocate = redis_up_ && !reloading_;
  health.degraded = !journal_->Healthy();
  health.database = health.degraded ? "unavailable: queueing changes until it is back" : "healthy";
  return health;
}

void RedisStore::Tick() {
  pruner_.Tick(clock_.Now());
  Submit<bool>(
      [](core::Result<bool>) {},
      [this](RedisConnection& connection, auto& done) {
        const core::TimePoint now = clock_.Now();
        NoteBacklog(connection);  // first: a rebuild elsewhere may be waiting to read it
        CheckRecoveredBacklog(connection);
        auto pools = Pools(connection);
        NoteRedis(pools ? core::Result<void>{} : core::Result<void>(core::Fail(pools.error())));
        if (!pools) {
          done(core::Fail(pools.error()));
          return;
        }
        // Another instance's settings changes: here within a tick, whatever the pools do.
        if (auto loaded = LoadSettings(connection); !loaded) {
          spdlog::debug("redis store: settings not read this tick: {}", loaded.error().ToString());
        }
        // Each call settles at most 256 numbers (a few ms of Redis time, so allocations slip in
        // between); calls repeat while a full batch came back, within a time budget per tick:
        // an hour roll-over of a million capped numbers drains over a few ticks.
        const auto deadline = std::chrono::steady_clock::now() + kTickBudget;
        for (const std::string& pool : *pools) {
          while (std::chrono::steady_clock::now() < deadline) {
            auto reply = RunPoolScript(connection, Script::kTick, pool, now, {});
            if (!reply) {
              done(core::Fail(reply.error()));
              return;
            }
            if (reply->Status() != "OK" || reply->Int(1) < 256) break;
          }
        }
        SweepDeleted(connection, now);
        MeasureRedisClock(connection);
        done(true);
      });
}

void RedisStore::SweepDeleted(RedisConnection& connection, core::TimePoint now) {
  std::unique_lock lock(sweep_mu_, std::try_to_lock);
  if (!lock) return;
  const auto steady = std::chrono::steady_clock::now();
  if (sweep_cursor_ == "0" && steady < next_sweep_) return;
  auto next = redis::SweepDeletedPage(connection, sweep_cursor_, core::ToCompact(now));
  if (!next) return;  // the same page again next tick
  sweep_cursor_ = *next;
  if (sweep_cursor_ == "0") next_sweep_ = steady + kDeletedSweepEvery;
}

}  // namespace cidrotor::store
