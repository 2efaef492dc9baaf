// The Redis side of one bulk import (RedisStore::ImportNumbers, redis_store_import.cc), in pieces
// that need no store: where numbers are (cid:pool_of), the rows cut into chunks of one script call
// each, and one round: a few chunks written in one round trip, with what journals and undoes them.
// Free functions over a caller's connection; thread-compatible (RunImportRound may run on several
// connections at once for one import: it changes nothing it is given).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/number_index.h"
#include "core/result.h"
#include "store/journal.h"
#include "store/redis/lua_scripts.h"
#include "store/redis/number_codec.h"
#include "store/redis/redis_connection.h"
#include "store/redis/script_args.h"
#include "store/store.h"

namespace cidrotor::store::redis {

// Script calls per round trip (pipelined), and HMGETs per round trip of the lookups.
inline constexpr std::size_t kImportCallsPerRoundTrip = 4;

// Which script writes a chunk.
enum class ChunkPath : std::uint8_t {
  kInsert,  // numbers in no pool when looked up: insert.lua
  // Numbers this import claimed that may exist (a deleted number taking back its usage, another
  // import's number written under the claim): get.lua (for the undo), then upsert.lua, which
  // creates those it does not find.
  kUpsert,
  // Numbers the chunk's pool held when looked up: get.lua, then upsert.lua in mode 'known',
  // which never creates one: moved to another pool or deleted since (another import, a PATCH, a
  // DELETE), the number is left where it is now (RoundOutcome::gone: its row refused, unless the
  // caller finds only a dead import's claim). Created again here, it could be in two pools at
  // once, both handing it out.
  kUpdate,
};

// One script call's rows (positions in the input), all of one pool.
struct ImportChunk {
  std::string pool;
  std::vector<std::size_t> items;
  ChunkPath path = ChunkPath::kUpsert;
};

// Per item, the pool its number is in (cid:pool_of), or nullopt where it was in none and is now
// claimed for the item's own pool (HSETNX, as adding one number does): from then on no other
// writer can add it to another pool, so the import may insert it without looking again. One
// script call per `chunk` numbers. On an error the claims it knows it made are dropped again
// (best effort: Redis may be what failed). Errors: kUnavailable, kInternal (a malformed reply).
[[nodiscard]] core::Result<std::vector<std::optional<std::string>>> ClaimPools(
    RedisConnection& connection, const std::vector<ImportItem>& items, std::size_t chunk);

// Drops the claims (ClaimPools) of `positions`' numbers, not written after all, where they still
// name the item's pool. Best effort: errors are logged. (Not exact against a second import of a
// number at the same time into the same pool: that one writes the number under this claim.)
void DropClaims(RedisConnection& connection, const std::vector<ImportItem>& items,
                std::span<const std::size_t> positions);

// Appends to `claimed` the items of `chunk` that this import claimed in cid:pool_of (ClaimPools):
// every item of an insert chunk, and the items of an upsert chunk that take back a deleted
// number's usage (ImportItem::revived: in no pool, claimed, written by upsert.lua). The others of
// an upsert chunk are in the pool already: their mapping is not the import's to drop.
void AppendClaimed(const ImportChunk& chunk, const std::vector<ImportItem>& items,
                   std::vector<std::size_t>& claimed);

// The usage a row gives a number new to Redis: its last_used and rest end, and its warm-up start
// (the row's, else from the import's day unless it has a last_used: core::ArrivingUsage).
core::NumberUsage InsertedUsage(const ImportItem& item, const ScriptContext& context);

// Why an import's row is refused when its number changed under it: moved to another pool,
// deleted, or being added elsewhere, by another import, a PATCH or a DELETE at the same moment.
core::Error ChangedDuringImport();

// Appends `positions` (sorted by number) to `chunks` as chunks of at most `size` rows.
void AppendChunks(std::vector<ImportChunk>& chunks, const std::string& pool,
                  const std::vector<std::size_t>& positions, ChunkPath path, std::size_t size);

// One written chunk's journal entries, and what undoes it should the journal refuse them.
struct ChunkOutcome {
  std::vector<JournalEntry> entries;
  std::shared_ptr<ImportUndo> undo = std::make_shared<ImportUndo>();
};

// What a round did. Chunks written are in `written` even when `error` is set (they are in Redis,
// and must be journaled or undone like the others).
struct RoundOutcome {
  std::vector<ChunkOutcome> written;
  ImportResult counts;               // imported / updated / refused of the chunks written
  std::vector<ImportChunk> refused;  // insert.lua found a number that appeared: upsert these
  // Rows of kUpdate chunks whose number their pool no longer held (upsert.lua 'gone'), not
  // counted: refused (ChangedDuringImport), unless the caller finds cid:pool_of still naming
  // that pool (RedisStore::AdoptClaims: a claim a killed import left).
  std::vector<std::size_t> gone;
  std::optional<core::Error> error;  // the first failure: kUnavailable, kInternal
  // With `error`: claimed rows (AppendClaimed) known not to be written (to DropClaims). When the
  // writes' round trip itself failed, none: some calls may have run.
  std::vector<std::size_t> unwritten_claims;
};

// Writes `round` (at most kImportCallsPerRoundTrip chunks): get.lua for the undo of its upserts,
// then its script calls, then cid:pool_of (for numbers an upsert found gone and added again: the
// insert chunks' numbers were claimed by ClaimPools) and cid:pools, one round trip each.
RoundOutcome RunImportRound(RedisConnection& connection, ScriptRunner& scripts,
                            const ScriptContext& context, const core::IndexOptions& index,
                            const std::vector<ImportItem>& items,
                            std::span<const ImportChunk> round);

}  // namespace cidrotor::store::redis
