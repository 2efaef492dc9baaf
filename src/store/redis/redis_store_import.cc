// RedisStore::ImportNumbers (store/redis/redis_store.h): the bulk import, on two workers.
//
// First cid:pool_of says where each number lives, and claims those in no pool for the import
// (HSETNX, one script call per chunk, pipelined): no other writer can add one of them to another
// pool before the import writes it, and the claims of numbers a failed import did not write are
// dropped again. Rows are then sorted by number and grouped by pool into chunks of
// options.import_chunk numbers, each chunk one script call, a few calls per round trip
// (import_round.h), each chunk one journal append. `done` runs once every chunk is durable.
// Numbers in no pool go to insert.lua, which writes a number with one HSET and reads nothing
// back: in a first import that is every row, and the per-number reads and replies of upsert.lua
// were most of its time. Numbers already in the pool, and a chunk that insert.lua refused because
// one of its numbers appeared meanwhile, go to upsert.lua after their previous state was read
// (get.lua) for the undo. A chunk the journal refuses is undone in Redis (new numbers removed,
// changed ones restored) and the import reports kUnavailable; chunks committed before it stay, as
// in the embedded store. A number that already exists in another pool is moved one at a time
// (rare: an import that changes pools).
//
// Two lanes take the rounds in turn, each on its own worker's connection: while one builds a
// round or reads its replies, Redis runs the other's, so Redis, the bottleneck, never waits for
// this client (about 1 s of a 1,000,000-row import here). Chunks are independent, so their order
// does not matter.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "store/deleted_usage.h"
#include "store/redis/deleted_numbers.h"
#include "store/redis/import_round.h"
#include "store/redis/redis_store.h"

namespace cidrotor::store {

using redis::ImportChunk;
using redis::RedisConnection;
using redis::Script;

namespace {

struct ImportProgress {
  std::mutex mu;
  std::size_t pending = 1;           // guarded by mu; lanes and chunks in the journal, +1 queuing
  std::optional<core::Error> error;  // guarded by mu; the first failure
  ImportResult result;               // guarded by mu once the lanes run
  Callback<ImportResult> done;

  void Fail(core::Error e) {
    std::lock_guard lock(mu);
    if (!error) error = std::move(e);
  }
  bool failed() {
    std::lock_guard lock(mu);
    return error.has_value();
  }
  void Count(const ImportResult& counts) {
    std::lock_guard lock(mu);
    result.imported += counts.imported;
    result.updated += counts.updated;
    result.refused.insert(result.refused.end(), counts.refused.begin(), counts.refused.end());
  }
  void Add() {
    std::lock_guard lock(mu);
    ++pending;
  }
  void FinishOne() {
    std::unique_lock lock(mu);
    if (--pending > 0) return;
    auto e = std::move(error);
    lock.unlock();
    if (e) {
      done(core::Fail(std::move(*e)));
    } else {
      done(std::move(result));
    }
  }
};

// What the lanes of one import share. `items` and `chunks` are not changed once they run.
struct ImportWork {
  std::vector<ImportItem> items;
  std::vector<ImportChunk> chunks;
  std::atomic<std::size_t> next{0};  // first chunk of the next round a lane takes
};

}  // namespace

void RedisStore::ImportNumbers(std::vector<ImportItem> items, OnDuplicate on_duplicate,
                               Callback<ImportResult> on_done) {
  Submit<ImportResult>(std::move(on_done), [this, items = std::move(items), on_duplicate](
                                               RedisConnection& connection, auto& done) mutable {
    ImportOnWorker(connection, items, on_duplicate, done);
  });
}

void RedisStore::ImportOnWorker(RedisConnection& connection, std::vector<ImportItem>& items,
                                OnDuplicate on_duplicate, Callback<ImportResult>& done) {
  const core::TimePoint now = clock_.Now();
  auto progress = std::make_shared<ImportProgress>();
  progress->done = std::move(done);
  for (ImportItem& item : items) {
    if (item.spec.pool.empty()) item.spec.pool = core::kDefaultPool;
  }

  // Nothing is claimed in a Redis without its data or being reloaded (the load publishes the
  // generation last): a failed import drops its claims, and with them the cid:pool_of entries
  // that the loader wrote meanwhile for the same numbers. Such a Redis is reloaded
  // (ResolveGeneration), and the import answers kUnavailable, to be offered again.
  if (auto current = ResolveGeneration(connection, Epoch()); !current) {
    progress->Fail(current.error());
    progress->FinishOne();
    return;
  }

  // Claims the numbers in no pool for the import: no other writer adds them meanwhile.
  auto existing = redis::ClaimPools(connection, items, options_.import_chunk);
  if (!existing) {
    progress->Fail(existing.error());
    progress->FinishOne();
    return;
  }

  // Numbers in no pool that were deleted while their usage still matters take it back
  // (store/deleted_usage.h): upsert.lua writes a number's whole usage, insert.lua does not.
  if (auto revived = Revive(connection, items, *existing, now); !revived) {
    std::vector<std::size_t> claimed;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!(*existing)[i]) claimed.push_back(i);
    }
    redis::DropClaims(connection, items, claimed);
    progress->Fail(revived.error());
    progress->FinishOne();
    return;
  }

  // A move between pools: one number at a time, under the number's edit lock (as a PATCH of its
  // pool), journaled like an update. Two imports moving one number at the same time, or an
  // import and a PATCH, left it in both pools (a review); a number not (or no longer) where the
  // lookup found it is refused for its row, not the import's end (it was a 404 half-way).
  // By value: the claim adoption below runs on the second lane too, after this function returned.
  const auto refuse_row = [progress](std::size_t row) {
    std::lock_guard lock(progress->mu);
    progress->result.refused.emplace_back(row, redis::ChangedDuringImport());
  };
  // Takes `number`'s edit lock on `lane` (as a PATCH does): what lets it go again, or nullopt
  // when it could not be taken (the import has failed).
  const auto lock_number = [this, progress](
                               RedisConnection& lane,
                               core::PhoneNumber number) -> std::optional<std::function<void()>> {
    const EditSubject subject = NumberEdit(number);
    auto token = LockEdit(lane, subject);
    if (!token) {
      progress->Fail(token.error());
      return std::nullopt;
    }
    return [this, key = subject.key, token = *token] { UnlockEditThen(key, token, [] {}); };
  };
  const auto move_imported = [&](std::size_t i, const std::string& from) {
    const core::PhoneNumber number = items[i].spec.caller_id;
    auto locked = lock_number(connection, number);
    if (!locked) return;
    auto unlock = std::move(*locked);
    // Under the lock: still where the lookup found it (kNotFound: moved or deleted since)?
    auto before = ReadNumber(connection, from, number, now);
    if (!before) {
      unlock();
      if (before.error().code() == core::ErrorCode::kNotFound) {
        refuse_row(i);
      } else {
        progress->Fail(before.error());
      }
      return;
    }
    // Its usage moves with it; a last_used, rest_until or warm_from column sets that field, as
    // for any update.
    core::NumberUsage usage = before->usage;
    if (items[i].last_used) core::SetLastUsed(usage, *items[i].last_used);
    if (items[i].rest_until) usage.rest_until = *items[i].rest_until;
    if (items[i].warm_from) usage.warm_from = *items[i].warm_from;
    auto moved = PutNumber(connection, MergedSpec(before->spec, items[i]), usage, from, now);
    auto after = moved ? ReadNumber(connection, items[i].spec.pool, number, now)
                       : core::Result<core::NumberView>(core::Fail(moved.error()));
    if (!after) {
      unlock();
      progress->Fail(after.error());
      return;
    }
    {
      std::lock_guard lock(progress->mu);
      ++progress->result.updated;
    }
    std::vector<JournalEntry> entries;
    entries.push_back(NumberUpserted{after->spec, after->usage, moved->version});
    progress->Add();
    journal_->Append(std::move(entries), [progress, unlock](core::Result<void> durable) {
      unlock();  // after the commit: the next change of the number reads what this one wrote
      if (!durable) progress->Fail(durable.error());
      progress->FinishOne();
    });
  };

  // Per pool: the numbers in no pool (insert.lua), those taking back a deleted number's usage
  // (upsert.lua) and those already in it (upsert.lua, never creating one gone since).
  struct PoolRows {
    std::vector<std::size_t> fresh, revived, known;
  };
  std::map<std::string, PoolRows> by_pool;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::optional<std::string>& pool = (*existing)[i];
    // A row without a pool leaves a number where it is.
    if (pool && (items[i].given & kImportPool) == 0) items[i].spec.pool = *pool;
    if (pool && on_duplicate == OnDuplicate::kSkip) {
      ++progress->result.skipped;
    } else if (pool && on_duplicate == OnDuplicate::kFail) {
      progress->result.duplicates.push_back(i);
    } else if (pool && *pool != items[i].spec.pool) {
      move_imported(i, *pool);
    } else {
      PoolRows& rows = by_pool[items[i].spec.pool];
      (pool ? rows.known : items[i].revived ? rows.revived : rows.fresh).push_back(i);
    }
  }

  auto work = std::make_shared<ImportWork>();
  const auto by_number = [&](std::size_t a, std::size_t b) {
    return items[a].spec.caller_id < items[b].spec.caller_id;
  };
  for (auto& [pool, rows] : by_pool) {
    // Creates the pool's generation key if it is new (after checking cid:generation).
    auto created = RunPoolScript(connection, Script::kUpsert, pool, now, {"update", "0"},
                                 redis::CreatePool::kYes);
    if (!created) {
      std::vector<std::size_t> claimed;  // in no pool, claimed (ClaimPools, Revive)
      for (const auto& [name, claims] : by_pool) {
        claimed.insert(claimed.end(), claims.fresh.begin(), claims.fresh.end());
        claimed.insert(claimed.end(), claims.revived.begin(), claims.revived.end());
      }
      redis::DropClaims(connection, items, claimed);
      progress->Fail(created.error());
      progress->FinishOne();
      return;
    }
    for (auto* positions : {&rows.fresh, &rows.revived, &rows.known}) {
      std::sort(positions->begin(), positions->end(), by_number);
    }
    AppendChunks(work->chunks, pool, rows.fresh, redis::ChunkPath::kInsert, options_.import_chunk);
    AppendChunks(work->chunks, pool, rows.revived, redis::ChunkPath::kUpsert,
                 options_.import_chunk);
    AppendChunks(work->chunks, pool, rows.known, redis::ChunkPath::kUpdate, options_.import_chunk);
  }
  work->items = std::move(items);

  // Journals a written chunk; the journal refusing it undoes it in Redis.
  const auto journal = [this, progress](redis::ChunkOutcome& chunk) {
    progress->Add();
    journal_->Append(
        std::move(chunk.entries), [this, progress, undo = chunk.undo](core::Result<void> durable) {
          if (durable) {
            progress->FinishOne();
            return;
          }
          spdlog::error("store: import chunk not durable, undone: {}", durable.error().ToString());
          progress->Fail(durable.error());
          SubmitTask(
              [this, progress, undo](RedisConnection& worker) {
                UndoImport(worker, *undo);
                progress->FinishOne();
              },
              [progress](core::Error) { progress->FinishOne(); });
        });
  };
  // A row whose number its pool no longer held when written (RoundOutcome::gone). Where
  // cid:pool_of still names that pool and the pool still lacks the number, under the number's
  // edit lock (which PATCH, DELETE and moves take), the entry is a claim an import left that was
  // killed between claiming and writing (a DELETE takes the entry away, a move points it
  // elsewhere, and another import of the number into this pool writes it all the same): the
  // number is written as new. Left, the claim made it unknown to every read and every add (409)
  // until a rebuild, and reruns of the file refused it. Otherwise the row is refused as before.
  const auto adopt = [this, now, progress, refuse_row, lock_number](
                         RedisConnection& lane, const ImportItem& item, std::size_t row) {
    const core::PhoneNumber number = item.spec.caller_id;
    auto locked = lock_number(lane, number);
    if (!locked) return;
    auto unlock = std::move(*locked);
    auto state =
        lane.Pipeline({{"HGET", redis::kPoolOfKey, number.ToString()},
                       {"EXISTS", redis::PoolPrefix(item.spec.pool) + "n:" + number.ToString()}});
    if (!state) {
      unlock();
      progress->Fail(state.error());
      return;
    }
    if ((*state)[0].is_nil() || (*state)[0].str != item.spec.pool || (*state)[1].integer != 0) {
      unlock();
      refuse_row(row);
      return;
    }
    const core::NumberUsage usage = redis::InsertedUsage(item, Context(now));
    auto put = PutNumber(lane, item.spec, usage, item.spec.pool, now);
    if (!put) {
      unlock();
      progress->Fail(put.error());
      return;
    }
    spdlog::info("import: {} was claimed for pool '{}' by an import that did not write it: added",
                 number.ToString(), item.spec.pool);
    {
      std::lock_guard lock(progress->mu);
      ++progress->result.imported;
    }
    std::vector<JournalEntry> entries;
    entries.push_back(NumberUpserted{item.spec, usage, put->version});
    progress->Add();
    journal_->Append(std::move(entries), [progress, unlock](core::Result<void> durable) {
      unlock();
      if (!durable) progress->Fail(durable.error());
      progress->FinishOne();
    });
  };
  // Writes `round`, journals what it wrote; returns the chunks insert.lua refused.
  const auto write = [this, now, work, progress, journal, adopt](
                         RedisConnection& lane, std::span<const ImportChunk> round) {
    auto outcome =
        redis::RunImportRound(lane, scripts_, Context(now), options_.index, work->items, round);
    progress->Count(outcome.counts);
    if (outcome.error) progress->Fail(*outcome.error);
    redis::DropClaims(lane, work->items, outcome.unwritten_claims);
    for (redis::ChunkOutcome& chunk : outcome.written) journal(chunk);
    for (std::size_t row : outcome.gone) adopt(lane, work->items[row], row);
    return std::move(outcome.refused);
  };
  // Takes rounds until none is left or the import failed.
  const auto run_lane = [work, progress, write](RedisConnection& lane) {
    const std::vector<ImportChunk>& chunks = work->chunks;
    while (!progress->failed()) {
      const std::size_t first = work->next.fetch_add(redis::kImportCallsPerRoundTrip);
      if (first >= chunks.size()) return;
      const std::size_t count = std::min(redis::kImportCallsPerRoundTrip, chunks.size() - first);
      const auto refused = write(lane, std::span(chunks).subspan(first, count));
      if (!refused.empty()) (void)write(lane, refused);  // upserts are never refused
    }
    // The import failed: the chunks no lane took are not written, and their numbers' claims go
    // (the other lane finds none left).
    std::vector<std::size_t> claimed;
    for (std::size_t c = work->next.exchange(chunks.size()); c < chunks.size(); ++c) {
      redis::AppendClaimed(chunks[c], work->items, claimed);
    }
    redis::DropClaims(lane, work->items, claimed);
  };
  if (work->chunks.size() > redis::kImportCallsPerRoundTrip) {
    // The second lane; if it cannot start (queue full), this one takes every round.
    progress->Add();
    SubmitTask(
        [run_lane, progress](RedisConnection& lane) {
          run_lane(lane);
          progress->FinishOne();
        },
        [progress](core::Error) { progress->FinishOne(); });
  }
  run_lane(connection);
  progress->FinishOne();
}

core::Result<void> RedisStore::Revive(RedisConnection& connection, std::vector<ImportItem>& items,
                                      const std::vector<std::optional<std::string>>& pools,
                                      core::TimePoint now) {
  std::vector<core::PhoneNumber> numbers;
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (pools[i]) continue;
    numbers.push_back(items[i].spec.caller_id);
    positions.push_back(i);
  }
  auto kept = redis::ReadDeleted(connection, numbers, core::ToCompact(now), options_.import_chunk);
  if (!kept) return core::Fail(kept.error());
  for (std::size_t k = 0; k < positions.size(); ++k) {
    ImportItem& item = items[positions[k]];
    if ((*kept)[k]) item.revived = RevivedUsage((*kept)[k]->usage, item);
  }
  return {};
}

void RedisStore::UndoImport(RedisConnection& connection, const redis::ImportUndo& undo) {
  const core::TimePoint now = clock_.Now();
  for (const core::PhoneNumber number : undo.added) {
    (void)RemoveNumber(connection, undo.pool, number, now);
  }
  for (const core::NumberView& view : undo.changed) {
    (void)PutNumber(connection, view.spec, view.usage, undo.pool, now);
  }
}

}  // namespace cidrotor::store
