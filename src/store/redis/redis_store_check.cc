// RedisStore::CheckAgainstJournal (store/redis/redis_store.h): a Redis that comes back with older
// data than it had (restored from an older snapshot, or a replica that lagged and was promoted)
// still holds the generation key, so the generation check cannot see it; yet it lacks the latest
// allocations, and would hand their numbers out again while the calls still hold them. Such a
// server has an empty script cache (Redis 7 neither persists nor replicates SCRIPT LOAD), so
// ScriptRunner runs this check before loading scripts into it: at this instance's first load and
// after any NOSCRIPT. The journal's newest reservations, ended ones too, are looked up in Redis,
// and one that Redis never saw makes it rebuild from the journal.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "store/redis/redis_store.h"
#include "store/redis/script_args.h"

namespace cidrotor::store {

using redis::RedisConnection;
using redis::RedisReply;

namespace {

// The journal's answer is awaited this long; then the check fails (kUnavailable) and the next
// script load runs it again. Loading the scripts unchecked would let every instance skip it.
constexpr std::chrono::seconds kJournalWait{2};

// Whether Redis lacks `r`, judged from its replies to EXISTS of the reservation's hash and HMGET
// of the number's `act` and `lu`. A reservation ended since (released, expired) is gone from
// Redis too, but its allocation set the number's last use: older than the reservation (never
// used reads 0), Redis never saw it. A number missing from Redis (no `act`: deleted, or moved to
// another pool) says nothing either way.
bool Lacks(const core::Reservation& r, const RedisReply& exists, const RedisReply& number) {
  if (exists.type != RedisReply::Type::kInteger || exists.integer != 0) return false;
  if (number.Text(0).empty()) return false;  // no `act`: the number is not in this pool
  return number.Int(1) < static_cast<long long>(core::ToCompact(r.reserved_at));  // nil lu: 0
}

}  // namespace

core::Result<std::vector<ReservationRecord>> RedisStore::AwaitJournal(ReservationQuery query) {
  auto promise = std::make_shared<std::promise<core::Result<std::vector<ReservationRecord>>>>();
  auto future = promise->get_future();
  journal_->ListReservations(query, clock_.Now(), [promise](auto records) {
    promise->set_value(std::move(records));
  });
  if (future.wait_for(kJournalWait) != std::future_status::ready) {
    return core::Fail(core::Error::Unavailable(
        "redis changed servers and the journal did not answer in time to check it"));
  }
  return future.get();
}

core::Result<void> RedisStore::RequireRedis7(RedisConnection& connection) {
  auto info = connection.Run({"INFO", "server"});
  if (!info) return core::Fail(info.error());
  const auto major = redis::ServerMajorVersion(info->str);
  if (major && *major < 7) {
    return core::Fail(core::Error::InvalidArgument(
        "REDIS_URL", "redis " + std::to_string(*major) + ".x is too old: cidrotor needs Redis 7"));
  }
  return {};
}

core::Result<void> RedisStore::CheckAgainstJournal(RedisConnection& connection) {
  if (auto recent = RequireRedis7(connection); !recent) {
    if (recent.error().code() != core::ErrorCode::kInvalidArgument) return recent;
    // A server switched since Open. Every allocation checks again: logged once a minute.
    static std::atomic<std::int64_t> next_log_s{0};
    const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count();
    std::int64_t due = next_log_s.load();
    if (now_s >= due && next_log_s.compare_exchange_strong(due, now_s + 60)) {
      spdlog::error("redis store: {}", recent.error().detail());
    }
    return core::Fail(core::Error::Unavailable(recent.error().detail()));
  }
  auto generation = connection.Run({"GET", redis::kGenerationKey});
  if (!generation) return core::Fail(generation.error());
  if (generation->is_nil()) return {};  // lost everything: the generation check rebuilds it
  if (!journal_->Healthy()) {
    spdlog::warn("redis store: loading scripts into redis unchecked: the journal is down");
    return JumpReservationIds(connection);
  }
  // The newest in time, which a server that lags lacks first: the live reservations ending last,
  // and the newest made, ended ones too (Lacks judges those by their number's last use). Dialers
  // hold numbers for seconds and a restart takes about one, so an older snapshot's lost
  // allocations have mostly ended by the check, and the caps they counted against are short.
  std::vector<core::Reservation> newest;
  std::unordered_set<std::uint64_t> ids;
  std::uint64_t top = 0;  // the highest id among them
  for (const bool live_only : {true, false}) {
    ReservationQuery query;
    query.live_only = live_only;
    query.limit = 1000;
    auto records = AwaitJournal(query);
    if (!records) return core::Fail(records.error());
    for (const ReservationRecord& record : *records) {
      if (!ids.insert(record.reservation.id).second) continue;
      newest.push_back(record.reservation);
      top = std::max(top, record.reservation.id);
    }
  }
  auto counted = CountLacking(connection, newest);
  if (!counted) return core::Fail(counted.error());
  const std::size_t lacking = *counted;
  if (lacking == 0) {
    // An older snapshot can hold an older id counter: blocks taken from it would repeat ids.
    return RaiseReservationIds(connection, top + kIdMargin);
  }
  spdlog::error(
      "redis store: redis lacks {} of the journal's {} newest reservations (restored from an "
      "older snapshot, or a lagging replica promoted): reloading it from the journal",
      lacking, newest.size());
  if (auto dropped = DropGeneration(connection, generation->str); !dropped) return dropped;
  StartRebuild();
  return core::Fail(core::Error::Unavailable(
      "redis came back with older data than the journal's: reloading it from the journal"));
}

core::Result<void> RedisStore::JumpReservationIds(RedisConnection& connection) {
  spdlog::warn(
      "redis store: reservation ids jump by {} to stay clear of any an older snapshot lost",
      kUncheckedIdJump);
  auto jumped =
      connection.Run({"INCRBY", redis::kReservationIdKey, std::to_string(kUncheckedIdJump)});
  if (!jumped) return core::Fail(jumped.error());
  if (jumped->is_error()) return core::Fail(core::Error::Unavailable("redis: " + jumped->str));
  return {};
}

core::Result<std::size_t> RedisStore::CountLacking(
    RedisConnection& connection, const std::vector<core::Reservation>& reservations) {
  if (reservations.empty()) return std::size_t{0};
  std::vector<redis::Command> commands;
  commands.reserve(reservations.size() * 2);
  for (const core::Reservation& r : reservations) {
    const std::string prefix = redis::PoolPrefix(r.pool);
    commands.push_back({"EXISTS", prefix + "r:" + std::to_string(r.id)});
    commands.push_back({"HMGET", prefix + "n:" + r.caller_id.ToString(), "act", "lu"});
  }
  auto replies = connection.Pipeline(commands);
  if (!replies) return core::Fail(replies.error());
  std::size_t lacking = 0;
  for (std::size_t i = 0; i < reservations.size(); ++i) {
    if (Lacks(reservations[i], (*replies)[2 * i], (*replies)[2 * i + 1])) ++lacking;
  }
  return lacking;
}

void RedisStore::CheckRecoveredBacklog(RedisConnection& connection) {
  std::lock_guard lock(recovered_mu_);
  if (recovered_to_check_.empty()) {
    recovered_to_check_ = journal_->TakeRecoveredAllocations();
    if (recovered_to_check_.empty()) return;
    // Taken after they were written (up to a tick after, when the journal's call found the
    // queue full), when a load that waited for them (this instance's, or one that waited for its
    // announcement) may have begun already: dated back.
    const auto since = std::chrono::steady_clock::now() - recovered_to_check_.written;
    recovered_written_at_ = clock_.Now();
    if (recovered_to_check_.written != std::chrono::steady_clock::time_point{}) {
      recovered_written_at_ -= std::chrono::duration_cast<core::Milliseconds>(since);
    }
  }
  auto generation =
      connection.Pipeline({{"GET", redis::kGenerationKey}, {"GET", redis::kGenerationLoadedKey}});
  // Down, or being rebuilt (perhaps from before the backlog was written): looked at again at the
  // next tick.
  if (!generation || (*generation)[0].is_nil()) return;
  // A load that began after the oldest allocation (so not the generation they were made in: a
  // rebuild publishes a new one, and none is allocated from while it runs) and before the backlog
  // was written read PostgreSQL without them. Its counts are short even where Redis has given
  // each number out since, so that Lacks no longer sees it. Instances' clocks a few ms apart blur
  // only loads that began within those ms of the allocations; Lacks still looks.
  const std::string& loaded = (*generation)[1].str;  // "" when nil: not dated
  long long loaded_ms = 0;
  std::from_chars(loaded.data(), loaded.data() + loaded.size(), loaded_ms);
  const bool loaded_without = loaded_ms > 0 &&
                              loaded_ms > recovered_to_check_.oldest.time_since_epoch().count() &&
                              loaded_ms < recovered_written_at_.time_since_epoch().count();
  std::size_t lacking = 0;
  if (!loaded_without) {
    auto counted = CountLacking(connection, recovered_to_check_.newest);
    if (!counted) return;
    if (*counted == 0) {
      recovered_to_check_ = {};
      journal_->RecoveredBacklogChecked();
      return;
    }
    lacking = *counted;
  }
  if (loaded_without) {
    spdlog::error(
        "redis store: redis was loaded while the backlog written at start-up was in no journal "
        "({} allocations, the oldest at {} ms): reloading it from the journal",
        recovered_to_check_.allocations, recovered_to_check_.oldest.time_since_epoch().count());
  } else {
    spdlog::error(
        "redis store: redis lacks {} of the {} newest allocations of the backlog written at "
        "start-up (reloaded by another instance while they were in no journal): reloading it "
        "from the journal",
        lacking, recovered_to_check_.newest.size());
  }
  if (auto dropped = DropGeneration(connection, (*generation)[0].str); dropped) {
    recovered_to_check_ = {};
    journal_->RecoveredBacklogChecked();
  }
}

core::Result<void> RedisStore::DropGeneration(RedisConnection& connection,
                                              const std::string& checked) {
  // Only the generation that was checked: another instance may have started (or finished) the
  // rebuild meanwhile, and its keys must stay. WATCH makes the read and the DEL one step.
  const auto busy = [] {
    return core::Error::Unavailable("redis is being reloaded from the journal");
  };
  if (auto watched = connection.Run({"WATCH", redis::kGenerationKey}); !watched) {
    return core::Fail(watched.error());
  }
  auto now = connection.Run({"GET", redis::kGenerationKey});
  if (!now) return core::Fail(now.error());
  if (now->is_nil() || now->str != checked) {
    (void)connection.Run({"UNWATCH"});
    return core::Fail(busy());
  }
  auto pools = connection.Run({"SMEMBERS", redis::kPoolsKey});
  if (!pools) return core::Fail(pools.error());
  // The generation key and every pool's, at once: a script that checks its pool's key against
  // the generation it knows never runs on the old data again, on any instance.
  redis::Command drop = {"DEL", redis::kGenerationKey};
  for (const RedisReply& pool : pools->elements) {
    drop.push_back(redis::PoolPrefix(pool.str) + "gen");
  }
  auto done = connection.Pipeline({{"MULTI"}, drop, {"EXEC"}});
  if (!done) return core::Fail(done.error());
  if (done->back().is_nil()) return core::Fail(busy());  // the generation changed meanwhile
  return {};
}

}  // namespace cidrotor::store
