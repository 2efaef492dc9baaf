// RedisStore::ImportNumbers (store/redis/redis_store.h): the bulk import on one worker.
//
// First cid:pool_of says where each number lives (pipelined HMGETs). Rows are then sorted by
// number and grouped by pool into chunks of options.import_chunk numbers, each chunk one script
// call, several calls per round trip (pipelined), each chunk one journal append. `done` runs once
// every chunk is durable. Numbers in no pool go to insert.lua, which writes a number with one
// HSET and reads nothing back: in a first import that is every row, and the per-number reads and
// replies of upsert.lua were most of its time. Numbers already in the pool, and a chunk that
// insert.lua refused because one of its numbers appeared meanwhile, go to upsert.lua after their
// previous state was read (get.lua) for the undo. A chunk the journal refuses is undone in Redis
// (new numbers removed, changed ones restored) and the import reports kUnavailable; chunks
// committed before it stay, as in the embedded store. A number that already exists in another
// pool is moved one at a time (rare: an import that changes pools).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "store/redis/number_codec.h"
#include "store/redis/redis_store.h"

namespace cidrotor::store {

using redis::RedisConnection;
using redis::RedisReply;
using redis::Script;

namespace {

constexpr std::size_t kCallsPerRoundTrip = 8;

struct ImportProgress {
  std::mutex mu;
  std::size_t pending = 1;           // guarded by mu; chunks in the journal, +1 while queuing
  std::optional<core::Error> error;  // guarded by mu; the first failure
  ImportResult result;
  Callback<ImportResult> done;

  void Fail(core::Error e) {
    std::lock_guard lock(mu);
    if (!error) error = std::move(e);
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

// Which script writes a chunk.
enum class ChunkPath : std::uint8_t {
  kInsert,  // numbers in no pool when looked up: insert.lua
  kUpsert,  // numbers that may exist: get.lua (for the undo), then upsert.lua
};

// One script call's rows (positions in the input).
struct Chunk {
  std::string pool;
  std::vector<std::size_t> items;
  ChunkPath path = ChunkPath::kUpsert;
};

// The pool each item's number is in now (cid:pool_of), nullopt when in none.
// Errors: kUnavailable, kInternal (a malformed reply).
core::Result<std::vector<std::optional<std::string>>> LookUpPools(
    RedisConnection& connection, const std::vector<ImportItem>& items, std::size_t chunk) {
  std::vector<std::optional<std::string>> pools(items.size());
  const std::size_t per_round = chunk * kCallsPerRoundTrip;
  for (std::size_t first = 0; first < items.size(); first += per_round) {
    const std::size_t last = std::min(items.size(), first + per_round);
    std::vector<redis::Command> lookups;
    for (std::size_t begin = first; begin < last; begin += chunk) {
      redis::Command hmget = {"HMGET", redis::kPoolOfKey};
      for (std::size_t i = begin; i < std::min(last, begin + chunk); ++i) {
        hmget.push_back(items[i].spec.caller_id.ToString());
      }
      lookups.push_back(std::move(hmget));
    }
    auto replies = connection.Pipeline(lookups);
    if (!replies) return core::Fail(replies.error());
    std::size_t i = first;
    for (const RedisReply& reply : *replies) {
      if (reply.type != RedisReply::Type::kArray) {
        return core::Fail(core::Error::Internal("import: unexpected HMGET reply: " + reply.str));
      }
      for (const RedisReply& pool : reply.elements) {
        if (i < last && !pool.is_nil()) pools[i] = pool.str;
        ++i;
      }
    }
    if (i != last) return core::Fail(core::Error::Internal("import: short HMGET reply"));
  }
  return pools;
}

// Appends `positions` (sorted by number) to `chunks` as chunks of at most `size` rows.
void AppendChunks(std::vector<Chunk>& chunks, const std::string& pool,
                  const std::vector<std::size_t>& positions, ChunkPath path, std::size_t size) {
  for (std::size_t begin = 0; begin < positions.size(); begin += size) {
    const auto from = positions.begin() + static_cast<std::ptrdiff_t>(begin);
    const auto to =
        positions.begin() + static_cast<std::ptrdiff_t>(std::min(positions.size(), begin + size));
    chunks.push_back(Chunk{pool, std::vector<std::size_t>(from, to), path});
  }
}

// insert.lua's 7 fields of one number.
void AppendInsertArgs(std::vector<std::string>& args, const ImportItem& item) {
  const core::NumberSpec& spec = item.spec;
  args.push_back(spec.caller_id.ToString());
  args.push_back(spec.carrier);
  args.push_back(spec.state);
  args.push_back(std::to_string(spec.hourly_cap));
  args.push_back(std::to_string(spec.daily_cap));
  args.push_back(spec.active ? "1" : "0");
  args.push_back(std::to_string(item.last_used.value_or(0)));
}

// The script call that writes `chunk`.
redis::ScriptCall WriteCall(const Chunk& chunk, const std::vector<ImportItem>& items,
                            const redis::ScriptContext& context) {
  std::vector<std::string> args;
  if (chunk.path == ChunkPath::kInsert) {
    args.reserve(chunk.items.size() * 7);
    for (std::size_t i : chunk.items) AppendInsertArgs(args, items[i]);
    return redis::PoolCall(Script::kInsert, chunk.pool, context, std::move(args));
  }
  args.reserve(2 + chunk.items.size() * 12);
  args.push_back("update");
  args.push_back("0");
  for (std::size_t i : chunk.items) {
    redis::AppendNumberArgs(args, items[i].spec, std::nullopt, items[i].last_used);
  }
  return redis::PoolCall(Script::kUpsert, chunk.pool, context, std::move(args));
}

// One written chunk's journal entries, and what undoes it should the journal refuse them.
struct ChunkOutcome {
  std::vector<JournalEntry> entries;
  std::shared_ptr<redis::ImportUndo> undo = std::make_shared<redis::ImportUndo>();
};

// A number the chunk added: the undo removes it, and cid:pool_of (the HSET `pool_of`) maps it.
void NoteAdded(core::PhoneNumber number, const std::string& pool, ChunkOutcome& outcome,
               redis::Command& pool_of) {
  outcome.undo->added.push_back(number);
  pool_of.push_back(number.ToString());
  pool_of.push_back(pool);
}

// The Take* functions read a written chunk's reply into `outcome`, its counts into `result` and
// its new numbers into `pool_of`.
// insert.lua answered OK: every number of the chunk is new, with no usage but its last_used.
void TakeInserted(const Chunk& chunk, const std::vector<ImportItem>& items, ChunkOutcome& outcome,
                  redis::Command& pool_of, ImportResult& result) {
  outcome.entries.reserve(chunk.items.size());
  for (std::size_t i : chunk.items) {
    const ImportItem& item = items[i];
    NoteAdded(item.spec.caller_id, chunk.pool, outcome, pool_of);
    core::NumberUsage usage;
    usage.last_used = item.last_used.value_or(0);
    outcome.entries.emplace_back(NumberUpserted{item.spec, usage});
  }
  result.imported += chunk.items.size();
}

// upsert.lua answered `reply` (a status and the usage per number); `before` is get.lua's reply.
void TakeUpserted(const Chunk& chunk, const std::vector<ImportItem>& items,
                  const RedisReply& before, const RedisReply& reply,
                  const redis::ScriptContext& context, const core::IndexOptions& index,
                  ChunkOutcome& outcome, redis::Command& pool_of, ImportResult& result) {
  for (std::size_t k = 1; k < before.elements.size(); ++k) {
    if (before.elements[k].type != RedisReply::Type::kArray) continue;
    outcome.undo->changed.push_back(
        redis::ViewFromReply(before.elements[k], chunk.pool, context.windows, index));
  }
  outcome.entries.reserve(chunk.items.size());
  for (std::size_t k = 0; k < chunk.items.size(); ++k) {
    const ImportItem& item = items[chunk.items[k]];
    const std::string status = reply.Text(1 + k * 6);
    if (status == "new") {
      ++result.imported;
      NoteAdded(item.spec.caller_id, chunk.pool, outcome, pool_of);
    } else if (status == "upd") {
      ++result.updated;
    } else {
      continue;
    }
    outcome.entries.emplace_back(NumberUpserted{item.spec, redis::UsageFromUpsert(reply, k)});
  }
}

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

  auto existing = LookUpPools(connection, items, options_.import_chunk);
  if (!existing) {
    progress->Fail(existing.error());
    progress->FinishOne();
    return;
  }

  // Per pool: the numbers in no pool (insert.lua) and those already in it (upsert.lua).
  std::map<std::string, std::pair<std::vector<std::size_t>, std::vector<std::size_t>>> by_pool;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::optional<std::string>& pool = (*existing)[i];
    if (pool && on_duplicate == OnDuplicate::kSkip) {
      ++progress->result.skipped;
    } else if (pool && on_duplicate == OnDuplicate::kFail) {
      progress->result.duplicates.push_back(i);
    } else if (pool && *pool != items[i].spec.pool) {
      // A move between pools: one number at a time, journaled like an update.
      auto before = ReadNumber(connection, *pool, items[i].spec.caller_id, now);
      auto moved = PutNumber(connection, items[i].spec, std::nullopt, *pool, now);
      auto after = moved ? ReadNumber(connection, items[i].spec.pool, items[i].spec.caller_id, now)
                         : core::Result<core::NumberView>(core::Fail(moved.error()));
      if (!after) {
        progress->Fail(after.error());
        continue;
      }
      ++progress->result.updated;
      std::vector<JournalEntry> entries;
      entries.push_back(NumberUpserted{after->spec, after->usage});
      progress->Add();
      journal_->Append(std::move(entries), [progress](core::Result<void> durable) {
        if (!durable) progress->Fail(durable.error());
        progress->FinishOne();
      });
    } else {
      auto& [fresh, known] = by_pool[items[i].spec.pool];
      (pool ? known : fresh).push_back(i);
    }
  }

  std::vector<Chunk> chunks;
  const auto by_number = [&](std::size_t a, std::size_t b) {
    return items[a].spec.caller_id < items[b].spec.caller_id;
  };
  for (auto& [pool, positions] : by_pool) {
    // Creates the pool's generation key if it is new (after checking cid:generation).
    auto created = RunPoolScript(connection, Script::kUpsert, pool, now, {"update", "0"},
                                 redis::CreatePool::kYes);
    if (!created) {
      progress->Fail(created.error());
      progress->FinishOne();
      return;
    }
    auto& [fresh, known] = positions;
    std::sort(fresh.begin(), fresh.end(), by_number);
    std::sort(known.begin(), known.end(), by_number);
    AppendChunks(chunks, pool, fresh, ChunkPath::kInsert, options_.import_chunk);
    AppendChunks(chunks, pool, known, ChunkPath::kUpsert, options_.import_chunk);
  }

  // Chunks insert.lua refused are appended to `chunks` as upserts, for a later round.
  for (std::size_t first = 0, last = 0; first < chunks.size(); first = last) {
    last = std::min(chunks.size(), first + kCallsPerRoundTrip);
    const redis::ScriptContext context = Context(now);
    // Previous state of the numbers upserts may change, for the undo.
    std::vector<redis::ScriptCall> reads;
    std::vector<redis::ScriptCall> writes;
    for (std::size_t c = first; c < last; ++c) {
      if (chunks[c].path == ChunkPath::kUpsert) {
        std::vector<std::string> numbers;
        for (std::size_t i : chunks[c].items) numbers.push_back(items[i].spec.caller_id.ToString());
        reads.push_back(redis::PoolCall(Script::kGet, chunks[c].pool, context, std::move(numbers)));
      }
      writes.push_back(WriteCall(chunks[c], items, context));
    }
    auto read = reads.empty() ? core::Result<std::vector<RedisReply>>()
                              : scripts_.RunAll(connection, reads);
    auto written = read ? scripts_.RunAll(connection, writes)
                        : core::Result<std::vector<RedisReply>>(core::Fail(read.error()));
    if (!written) {
      progress->Fail(written.error());
      break;
    }
    redis::Command pool_of = {"HSET", redis::kPoolOfKey};
    std::vector<redis::Command> globals;
    std::vector<ChunkOutcome> outcomes;
    std::size_t next_read = 0;
    for (std::size_t c = first; c < last; ++c) {
      const RedisReply& reply = (*written)[c - first];
      const RedisReply* before = nullptr;
      if (chunks[c].path == ChunkPath::kUpsert) before = &(*read)[next_read++];
      if (chunks[c].path == ChunkPath::kInsert && reply.Status() == "EXISTS") {
        Chunk retry = chunks[c];
        retry.path = ChunkPath::kUpsert;
        chunks.push_back(std::move(retry));
        continue;
      }
      if (reply.Status() != "OK" || (before != nullptr && before->Status() != "OK")) {
        progress->Fail(core::Error::Unavailable("redis generation changed during the import"));
        continue;
      }
      ChunkOutcome& outcome = outcomes.emplace_back();
      outcome.undo->pool = chunks[c].pool;
      if (before == nullptr) {
        TakeInserted(chunks[c], items, outcome, pool_of, progress->result);
      } else {
        TakeUpserted(chunks[c], items, *before, reply, context, options_.index, outcome, pool_of,
                     progress->result);
      }
      globals.push_back({"SADD", redis::kPoolsKey, chunks[c].pool});
    }
    if (pool_of.size() > 2) globals.push_back(std::move(pool_of));
    if (!globals.empty()) {
      if (auto mapped = connection.Pipeline(globals); !mapped) progress->Fail(mapped.error());
    }
    for (ChunkOutcome& outcome : outcomes) {
      progress->Add();
      journal_->Append(std::move(outcome.entries), [this, progress, undo = outcome.undo](
                                                       core::Result<void> durable) {
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
    }
  }
  progress->FinishOne();
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
