// RedisStore::CheckAgainstJournal (store/redis/redis_store.h): a Redis that comes back with older
// data than it had (restored from an older snapshot, or a replica that lagged and was promoted)
// still holds the generation key, so the generation check cannot see it; yet it lacks the latest
// allocations, and would hand their numbers out again while the calls still hold them. Such a
// server has an empty script cache, so the first script call after the switch answers NOSCRIPT:
// before the scripts are loaded again, the journal's newest live reservations are looked up in
// Redis, and one that Redis never saw makes it rebuild from the journal.
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "store/redis/redis_store.h"
#include "store/redis/script_args.h"

namespace cidrotor::store {

using redis::RedisConnection;
using redis::RedisReply;

namespace {

// The journal's answer is awaited this long; then the check is skipped (the journal is down or
// hung: allocation goes on without it, as in degraded mode).
constexpr std::chrono::seconds kJournalWait{2};

// Whether Redis lacks `r`, judged from its replies to EXISTS of the reservation's hash and HGET
// of the number's last use. A reservation ended since (released, expired) is gone from Redis too,
// but its allocation set the number's last use: older than the reservation, Redis never saw it.
// A number missing from Redis (deleted, or moved to another pool) says nothing either way.
bool Lacks(const core::Reservation& r, const RedisReply& exists, const RedisReply& last_used) {
  if (exists.type != RedisReply::Type::kInteger || exists.integer != 0) return false;
  if (last_used.type != RedisReply::Type::kString) return false;
  long long lu = 0;
  const char* end = last_used.str.data() + last_used.str.size();
  if (std::from_chars(last_used.str.data(), end, lu).ptr != end) return false;
  return lu < static_cast<long long>(core::ToCompact(r.reserved_at));
}

}  // namespace

core::Result<void> RedisStore::CheckAgainstJournal(RedisConnection& connection) {
  auto generation = connection.Run({"GET", redis::kGenerationKey});
  if (!generation) return core::Fail(generation.error());
  if (generation->is_nil()) return {};  // lost everything: the generation check rebuilds it
  if (!journal_->Healthy()) {
    spdlog::warn("redis store: redis changed servers while the journal is down: not checked");
    return {};
  }
  auto promise = std::make_shared<std::promise<core::Result<std::vector<ReservationRecord>>>>();
  auto future = promise->get_future();
  ReservationQuery query;
  query.live_only = true;
  query.limit = 1000;  // the newest: a server that lags lacks those first
  journal_->ListReservations(query, clock_.Now(), [promise](auto records) {
    promise->set_value(std::move(records));
  });
  if (future.wait_for(kJournalWait) != std::future_status::ready) {
    spdlog::warn("redis store: redis changed servers; the journal did not answer: not checked");
    return {};
  }
  auto live = future.get();
  if (!live) {
    spdlog::warn("redis store: redis changed servers; not checked: {}", live.error().ToString());
    return {};
  }
  std::vector<redis::Command> commands;
  commands.reserve(live->size() * 2);
  for (const ReservationRecord& record : *live) {
    const core::Reservation& r = record.reservation;
    const std::string prefix = redis::PoolPrefix(r.pool);
    commands.push_back({"EXISTS", prefix + "r:" + std::to_string(r.id)});
    commands.push_back({"HGET", prefix + "n:" + r.caller_id.ToString(), "lu"});
  }
  if (commands.empty()) return {};
  auto replies = connection.Pipeline(commands);
  if (!replies) return core::Fail(replies.error());
  std::size_t lacking = 0;
  for (std::size_t i = 0; i < live->size(); ++i) {
    if (Lacks((*live)[i].reservation, (*replies)[2 * i], (*replies)[2 * i + 1])) ++lacking;
  }
  if (lacking == 0) return {};
  spdlog::error(
      "redis store: redis lacks {} of the journal's {} newest live reservations (restored from "
      "an older snapshot, or a lagging replica promoted): reloading it from the journal",
      lacking, live->size());
  // The generation key and every pool's, in one command: a script that checks its pool's key
  // against the generation it knows never runs on the old data again, on any instance.
  auto pools = connection.Run({"SMEMBERS", redis::kPoolsKey});
  if (!pools) return core::Fail(pools.error());
  redis::Command drop = {"DEL", redis::kGenerationKey};
  for (const RedisReply& pool : pools->elements) drop.push_back(redis::PoolPrefix(pool.str) + "gen");
  if (auto dropped = connection.Run(drop); !dropped) return core::Fail(dropped.error());
  StartRebuild();
  return core::Fail(core::Error::Unavailable(
      "redis came back with older data than the journal's: reloading it from the journal"));
}

}  // namespace cidrotor::store
