// What the Redis store keeps of deleted numbers (store/deleted_usage.h), in one global hash,
// cid:deleted: number → "last_used hour_start hourly_used day_start daily_used warm_from
// rest_until keep_until" (docs/redis-keys.md). A delete writes it, adding a number (add-number,
// an import) reads it, a rebuild writes it back from the journal's deleted_numbers, and a sweep
// from Tick drops what is past its time. Single-key commands and scripts only (script_args.h).
// A number that is in a pool ignores what is kept of it; its next delete replaces it.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "core/phone_number.h"
#include "core/result.h"
#include "store/journal.h"
#include "store/redis/redis_connection.h"

namespace cidrotor::store::redis {

inline constexpr const char* kDeletedKey = "cid:deleted";

// The command that keeps `kept` of `caller_id`, or (keep_until 0) forgets what was kept of it.
Command KeepDeletedCommand(core::PhoneNumber caller_id, const DeletedUsage& kept);

// What is kept of each of `numbers` at `now` (nullopt: nothing, or no longer), in their order:
// HMGET in chunks of `chunk`, or nothing at all read when the hash is empty (an import's usual
// case). Errors: the connection's.
core::Result<std::vector<std::optional<DeletedUsage>>> ReadDeleted(
    RedisConnection& connection, std::span<const core::PhoneNumber> numbers, core::CompactTime now,
    std::size_t chunk);

// One step of a sweep: reads a page of the hash from `cursor` (HSCAN), drops its entries past
// their time at `now` (unless rewritten meanwhile) and returns the next cursor ("0": the pass is
// over). Errors: the connection's.
core::Result<std::string> SweepDeletedPage(RedisConnection& connection, const std::string& cursor,
                                           core::CompactTime now);

}  // namespace cidrotor::store::redis
