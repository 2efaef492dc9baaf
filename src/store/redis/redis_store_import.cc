// RedisStore::ImportNumbers (store/redis/redis_store.h): the bulk import on one worker.
//
// Rows are sorted by number and grouped by pool; each pool's rows go to Redis as upsert.lua calls
// of options.import_chunk numbers, several calls per round trip (pipelined), and each chunk is
// one journal append. `done` runs once every chunk is durable. A chunk the journal refuses is
// undone in Redis (new numbers removed, changed ones restored) and the import reports
// kUnavailable; chunks committed before it stay, as in the embedded store. A number that already
// exists in another pool is moved one at a time (rare: an import that changes pools).
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

// One upsert call's rows (positions in the input).
struct Chunk {
  std::string pool;
  std::vector<std::size_t> items;
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

  // Where each number lives now (cid:pool_of), one round trip per chunk of numbers.
  std::vector<std::optional<std::string>> existing(items.size());
  for (std::size_t begin = 0; begin < items.size(); begin += options_.import_chunk) {
    const std::size_t end = std::min(items.size(), begin + options_.import_chunk);
    redis::Command hmget = {"HMGET", redis::kPoolOfKey};
    for (std::size_t i = begin; i < end; ++i) hmget.push_back(items[i].spec.caller_id.ToString());
    auto reply = connection.Run(hmget);
    if (!reply) {
      progress->Fail(reply.error());
      progress->FinishOne();
      return;
    }
    if (reply->elements.size() != end - begin) {
      progress->Fail(core::Error::Internal("import: unexpected HMGET reply: " + reply->str));
      progress->FinishOne();
      return;
    }
    for (std::size_t i = begin; i < end; ++i) {
      const RedisReply& e = reply->elements[i - begin];
      if (!e.is_nil()) existing[i] = e.str;
    }
  }

  std::map<std::string, std::vector<std::size_t>> by_pool;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (existing[i] && on_duplicate == OnDuplicate::kSkip) {
      ++progress->result.skipped;
    } else if (existing[i] && on_duplicate == OnDuplicate::kFail) {
      progress->result.duplicates.push_back(i);
    } else if (existing[i] && *existing[i] != items[i].spec.pool) {
      // A move between pools: one number at a time, journaled like an update.
      auto before = ReadNumber(connection, *existing[i], items[i].spec.caller_id, now);
      auto moved = PutNumber(connection, items[i].spec, std::nullopt, *existing[i], now);
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
      by_pool[items[i].spec.pool].push_back(i);
    }
  }

  std::vector<Chunk> chunks;
  for (auto& [pool, positions] : by_pool) {
    // Creates the pool's generation key if it is new (after checking cid:generation).
    auto created = RunPoolScript(connection, Script::kUpsert, pool, now, {"update", "0"},
                                 redis::CreatePool::kYes);
    if (!created) {
      progress->Fail(created.error());
      progress->FinishOne();
      return;
    }
    std::sort(positions.begin(), positions.end(), [&](std::size_t a, std::size_t b) {
      return items[a].spec.caller_id < items[b].spec.caller_id;
    });
    for (std::size_t begin = 0; begin < positions.size(); begin += options_.import_chunk) {
      Chunk chunk;
      chunk.pool = pool;
      chunk.items.assign(positions.begin() + static_cast<std::ptrdiff_t>(begin),
                         positions.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                 positions.size(), begin + options_.import_chunk)));
      chunks.push_back(std::move(chunk));
    }
  }

  for (std::size_t first = 0; first < chunks.size(); first += kCallsPerRoundTrip) {
    const std::size_t last = std::min(chunks.size(), first + kCallsPerRoundTrip);
    const redis::ScriptContext context = Context(now);
    // Previous state of numbers this round changes, for the undo.
    std::vector<redis::ScriptCall> reads;
    for (std::size_t c = first; c < last; ++c) {
      std::vector<std::string> numbers;
      for (std::size_t i : chunks[c].items) {
        if (existing[i]) numbers.push_back(items[i].spec.caller_id.ToString());
      }
      reads.push_back(redis::PoolCall(Script::kGet, chunks[c].pool, context, std::move(numbers)));
    }
    std::vector<redis::ScriptCall> writes;
    for (std::size_t c = first; c < last; ++c) {
      std::vector<std::string> args = {"update", "0"};
      for (std::size_t i : chunks[c].items) {
        redis::AppendNumberArgs(args, items[i].spec, std::nullopt, items[i].last_used);
      }
      writes.push_back(redis::PoolCall(Script::kUpsert, chunks[c].pool, context, std::move(args)));
    }
    auto read = scripts_.RunAll(connection, reads);
    auto written = read ? scripts_.RunAll(connection, writes)
                        : core::Result<std::vector<RedisReply>>(core::Fail(read.error()));
    if (!written) {
      progress->Fail(written.error());
      break;
    }
    redis::Command map_numbers = {"HSET", redis::kPoolOfKey};
    std::vector<redis::Command> globals;
    std::vector<std::pair<std::vector<JournalEntry>, std::shared_ptr<redis::ImportUndo>>> appends;
    for (std::size_t c = first; c < last; ++c) {
      const Chunk& chunk = chunks[c];
      const RedisReply& before = (*read)[c - first];
      const RedisReply& reply = (*written)[c - first];
      if (reply.Status() != "OK" || before.Status() != "OK") {
        progress->Fail(core::Error::Unavailable("redis generation changed during the import"));
        continue;
      }
      auto undo = std::make_shared<redis::ImportUndo>();
      undo->pool = chunk.pool;
      for (std::size_t k = 1; k < before.elements.size(); ++k) {
        if (before.elements[k].type != RedisReply::Type::kArray) continue;
        undo->changed.push_back(
            redis::ViewFromReply(before.elements[k], chunk.pool, context.windows, options_.index));
      }
      std::vector<JournalEntry> entries;
      entries.reserve(chunk.items.size());
      for (std::size_t k = 0; k < chunk.items.size(); ++k) {
        ImportItem& item = items[chunk.items[k]];
        const std::string status = reply.Text(1 + k * 6);
        if (status == "new") {
          ++progress->result.imported;
          undo->added.push_back(item.spec.caller_id);
          map_numbers.push_back(item.spec.caller_id.ToString());
          map_numbers.push_back(chunk.pool);
        } else if (status == "upd") {
          ++progress->result.updated;
        } else {
          continue;
        }
        entries.emplace_back(NumberUpserted{item.spec, redis::UsageFromUpsert(reply, k)});
      }
      globals.push_back({"SADD", redis::kPoolsKey, chunk.pool});
      appends.emplace_back(std::move(entries), std::move(undo));
    }
    if (map_numbers.size() > 2) globals.push_back(std::move(map_numbers));
    if (auto mapped = connection.Pipeline(globals); !mapped) progress->Fail(mapped.error());
    for (auto& [entries, undo] : appends) {
      progress->Add();
      journal_->Append(std::move(entries), [this, progress,
                                            undo = undo](core::Result<void> durable) {
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
