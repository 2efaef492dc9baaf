// Journal backlogs announced in Redis. An instance whose journal holds appends PostgreSQL has not
// committed yet (degraded: allocations answered while PostgreSQL was down, still being written)
// says so in `cid:backlog:<instance>` (value: the queue's depth), written at every tick with a
// short expiry and deleted once the journal is healthy again. A rebuild loads Redis only while no
// other instance announces one: the journal it loads from lacks those allocations, so their
// numbers would come back free and their counters short (redis_store_rebuild.cc).
// Redis losing its data loses these keys too: the instances write them again at their next tick,
// and a rebuild checks again once kBacklogGrace has passed since it began, before publishing.
// Single-key commands only (script_args.h); a rebuild keeps these keys.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/redis/redis_connection.h"

namespace cidrotor::store::redis {

inline constexpr std::string_view kBacklogKeyPrefix = "cid:backlog:";
// An announcement outlives a few missed ticks (1 s each), not an instance that died with it.
inline constexpr std::chrono::milliseconds kBacklogNoticeLife{5'000};

struct BacklogNotice {
  std::string instance;
  std::size_t depth = 0;  // the journal's queue depth when it was written
};

// Writes (or refreshes) `instance`'s announcement. Errors: the connection's.
core::Result<void> AnnounceBacklog(RedisConnection& connection, std::string_view instance,
                                   std::size_t depth);
// Deletes it. Errors: the connection's.
core::Result<void> WithdrawBacklog(RedisConnection& connection, std::string_view instance);
// Every announcement but `instance`'s own (SCAN). Errors: the connection's.
core::Result<std::vector<BacklogNotice>> OtherBacklogs(RedisConnection& connection,
                                                       std::string_view instance);

}  // namespace cidrotor::store::redis
