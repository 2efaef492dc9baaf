#include "store/redis/import_round.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ranges>
#include <utility>

#include "core/warm_up.h"

namespace cidrotor::store::redis {
namespace {

// The usage a number in no pool starts with: its last_used, rest end and warm-up start if the
// row has them; else the warm-up start of core::ArrivingUsage (today's local midnight unless it
// comes with a last_used).
}  // namespace

core::NumberUsage InsertedUsage(const ImportItem& item, const ScriptContext& context) {
  core::NumberUsage usage;
  usage.last_used = item.last_used.value_or(0);
  usage.rest_until = item.rest_until.value_or(0);
  if (item.warm_from) {
    usage.warm_from = *item.warm_from;
    return usage;
  }
  return core::ArrivingUsage(
      usage, item.warm_from_day.value_or(core::ToCompact(context.windows.day_start)));
}

namespace {

// insert.lua's 9 fields of one number: the warm-up start is sent as decided here, so the journal
// gets the very value Redis holds.
void AppendInsertArgs(std::vector<std::string>& args, const ImportItem& item,
                      const ScriptContext& context) {
  const core::NumberUsage usage = InsertedUsage(item, context);
  AppendSpecArgs(args, item.spec);
  args.push_back(std::to_string(usage.last_used));
  args.push_back(std::to_string(usage.warm_from));
  args.push_back(std::to_string(usage.rest_until));
}

// The specs an upsert chunk writes, one per row: the row's, over the number's own (get.lua's
// `before`, read in this round) for the fields the row does not give (ImportItem::given).
std::vector<core::NumberSpec> UpsertSpecs(const ImportChunk& chunk,
                                          const std::vector<ImportItem>& items,
                                          const RedisReply& before, const ScriptContext& context,
                                          const core::IndexOptions& index) {
  std::vector<core::NumberSpec> specs;
  specs.reserve(chunk.items.size());
  for (std::size_t k = 0; k < chunk.items.size(); ++k) {
    const ImportItem& item = items[chunk.items[k]];
    const RedisReply* view = k + 1 < before.elements.size() ? &before.elements[k + 1] : nullptr;
    if (view != nullptr && view->type == RedisReply::Type::kArray) {
      specs.push_back(MergedSpec(
          ViewFromReply(*view, chunk.pool, context.now, context.windows, index).spec, item));
    } else {
      specs.push_back(item.spec);
    }
  }
  return specs;
}

// The script call that writes `chunk`; `specs`: an upsert chunk's (UpsertSpecs).
ScriptCall WriteCall(const ImportChunk& chunk, const std::vector<ImportItem>& items,
                     const std::vector<core::NumberSpec>& specs, const ScriptContext& context) {
  std::vector<std::string> args;
  if (chunk.path == ChunkPath::kInsert) {
    args.reserve(chunk.items.size() * 9);
    for (std::size_t i : chunk.items) AppendInsertArgs(args, items[i], context);
    return PoolCall(Script::kInsert, chunk.pool, context, std::move(args));
  }
  args.reserve(2 + chunk.items.size() * 14);
  args.push_back(chunk.path == ChunkPath::kUpdate ? "known" : "update");
  args.push_back("0");
  for (std::size_t k = 0; k < chunk.items.size(); ++k) {
    const ImportItem& item = items[chunk.items[k]];
    AppendNumberArgs(args, specs[k], item.revived, item.last_used, item.rest_until, item.warm_from);
  }
  return PoolCall(Script::kUpsert, chunk.pool, context, std::move(args));
}

// The Take* functions read a written chunk's reply into `outcome` and its counts into `result`;
// the undo of a number the chunk added removes it (and its cid:pool_of claim).
// insert.lua answered OK (`reply`): every number of the chunk is new (claimed by ClaimPools), with
// no usage but its last_used and its warm-up start (InsertedUsage).
void TakeInserted(const ImportChunk& chunk, const std::vector<ImportItem>& items,
                  const RedisReply& reply, const ScriptContext& context, ChunkOutcome& outcome,
                  ImportResult& result) {
  outcome.entries.reserve(chunk.items.size());
  const ChangeVersion version = ChangeVersionOf(reply);
  for (std::size_t i : chunk.items) {
    const ImportItem& item = items[i];
    outcome.undo->added.push_back(item.spec.caller_id);
    outcome.entries.emplace_back(NumberUpserted{item.spec, InsertedUsage(item, context), version});
  }
  result.imported += chunk.items.size();
}

// upsert.lua answered `reply` (a status and the usage per number) to the writing of `specs`;
// `before` is get.lua's reply. A number it added (one this import claimed: ChunkPath::kUpsert)
// goes into `pool_of`, an HSET of cid:pool_of; one gone (ChunkPath::kUpdate) into `gone`.
void TakeUpserted(const ImportChunk& chunk, const std::vector<ImportItem>& items,
                  const std::vector<core::NumberSpec>& specs, const RedisReply& before,
                  const RedisReply& reply, const ScriptContext& context,
                  const core::IndexOptions& index, ChunkOutcome& outcome, Command& pool_of,
                  ImportResult& result, std::vector<std::size_t>& gone) {
  for (std::size_t k = 1; k < before.elements.size(); ++k) {
    if (before.elements[k].type != RedisReply::Type::kArray) continue;
    outcome.undo->changed.push_back(
        ViewFromReply(before.elements[k], chunk.pool, context.now, context.windows, index));
  }
  outcome.entries.reserve(chunk.items.size());
  const ChangeVersion version = ChangeVersionOf(reply);
  for (std::size_t k = 0; k < chunk.items.size(); ++k) {
    const ImportItem& item = items[chunk.items[k]];
    const std::string status = reply.Text(1 + k * kUpsertReplyFields);
    if (status == "new") {
      ++result.imported;
      outcome.undo->added.push_back(item.spec.caller_id);
      pool_of.push_back(item.spec.caller_id.ToString());
      pool_of.push_back(chunk.pool);
    } else if (status == "upd") {
      ++result.updated;
    } else {
      if (status == "gone") gone.push_back(chunk.items[k]);
      continue;
    }
    outcome.entries.emplace_back(NumberUpserted{specs[k], UsageFromUpsert(reply, k), version});
  }
}

// ClaimPools' script: ARGV holds number, pool pairs; the reply, per number, nil where it was
// claimed for that pool now, else the pool it is in.
constexpr const char* kClaim =
    "local out = {} for i = 1, #ARGV, 2 do "
    "if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then out[#out + 1] = false "
    "else out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i]) end end return out";

// DropClaims' script: ARGV as kClaim's; a claim that names another pool is not the import's.
constexpr const char* kDropClaims =
    "for i = 1, #ARGV, 2 do if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then "
    "redis.call('HDEL', KEYS[1], ARGV[i]) end end return 1";

// `script` over the numbers of `items` at `positions` (a range of indices), with their pools.
template <class Positions>
Command PoolOfScript(const char* script, const std::vector<ImportItem>& items,
                     const Positions& positions) {
  Command call = {"EVAL", script, "1", kPoolOfKey};
  call.reserve(4 + 2 * static_cast<std::size_t>(std::ranges::size(positions)));
  for (std::size_t i : positions) {
    call.push_back(items[i].spec.caller_id.ToString());
    call.push_back(items[i].spec.pool);
  }
  return call;
}

}  // namespace

core::Result<std::vector<std::optional<std::string>>> ClaimPools(
    RedisConnection& connection, const std::vector<ImportItem>& items, std::size_t chunk) {
  std::vector<std::optional<std::string>> pools(items.size());
  std::vector<std::size_t> claimed;  // known to be claimed by this call
  const auto fail = [&](core::Error error) {
    DropClaims(connection, items, claimed);
    return core::Fail(std::move(error));
  };
  const std::size_t per_round = chunk * kImportCallsPerRoundTrip;
  for (std::size_t first = 0; first < items.size(); first += per_round) {
    const std::size_t last = std::min(items.size(), first + per_round);
    std::vector<Command> claims;
    for (std::size_t begin = first; begin < last; begin += chunk) {
      const std::size_t end = std::min(last, begin + chunk);
      claims.push_back(PoolOfScript(kClaim, items, std::views::iota(begin, end)));
    }
    auto replies = connection.Pipeline(claims);
    if (!replies) return fail(replies.error());
    std::size_t i = first;
    for (const RedisReply& reply : *replies) {
      if (reply.type != RedisReply::Type::kArray) {
        return fail(core::Error::Internal("import: unexpected claim reply: " + reply.str));
      }
      for (const RedisReply& pool : reply.elements) {
        if (i < last && !pool.is_nil()) pools[i] = pool.str;
        if (i < last && pool.is_nil()) claimed.push_back(i);
        ++i;
      }
    }
    if (i != last) return fail(core::Error::Internal("import: short claim reply"));
  }
  return pools;
}

void DropClaims(RedisConnection& connection, const std::vector<ImportItem>& items,
                std::span<const std::size_t> positions) {
  constexpr std::size_t kPerCall = 1'000;
  std::vector<Command> drops;
  for (std::size_t begin = 0; begin < positions.size(); begin += kPerCall) {
    const std::size_t count = std::min(kPerCall, positions.size() - begin);
    drops.push_back(PoolOfScript(kDropClaims, items, positions.subspan(begin, count)));
  }
  if (drops.empty()) return;
  if (auto dropped = connection.Pipeline(drops); !dropped) {
    spdlog::warn(
        "import: could not drop the claims of {} numbers not written ({}); importing "
        "them again writes them",
        positions.size(), dropped.error().ToString());
  }
}

core::Error ChangedDuringImport() {
  return core::Error::InvalidArgument(
      "caller_id",
      "moved to another pool, deleted or being added elsewhere while the import ran (another "
      "import, a PATCH or a DELETE at the same time): import the row again");
}

void AppendChunks(std::vector<ImportChunk>& chunks, const std::string& pool,
                  const std::vector<std::size_t>& positions, ChunkPath path, std::size_t size) {
  for (std::size_t begin = 0; begin < positions.size(); begin += size) {
    const auto from = positions.begin() + static_cast<std::ptrdiff_t>(begin);
    const auto to =
        positions.begin() + static_cast<std::ptrdiff_t>(std::min(positions.size(), begin + size));
    chunks.push_back(ImportChunk{pool, std::vector<std::size_t>(from, to), path});
  }
}

void AppendClaimed(const ImportChunk& chunk, const std::vector<ImportItem>& items,
                   std::vector<std::size_t>& claimed) {
  for (const std::size_t i : chunk.items) {
    if (chunk.path == ChunkPath::kInsert || items[i].revived) claimed.push_back(i);
  }
}

RoundOutcome RunImportRound(RedisConnection& connection, ScriptRunner& scripts,
                            const ScriptContext& context, const core::IndexOptions& index,
                            const std::vector<ImportItem>& items,
                            std::span<const ImportChunk> round) {
  RoundOutcome outcome;
  // Previous state of the numbers upserts may change: for the fields their rows do not give, and
  // for the undo.
  std::vector<ScriptCall> reads;
  for (const ImportChunk& chunk : round) {
    if (chunk.path != ChunkPath::kInsert) {
      std::vector<std::string> numbers;
      for (std::size_t i : chunk.items) numbers.push_back(items[i].spec.caller_id.ToString());
      reads.push_back(PoolCall(Script::kGet, chunk.pool, context, std::move(numbers)));
    }
  }
  // On an error, the claims of the chunks not written (their numbers are in no pool).
  const auto unwritten = [&](const ImportChunk& chunk) {
    AppendClaimed(chunk, items, outcome.unwritten_claims);
  };
  auto read =
      reads.empty() ? core::Result<std::vector<RedisReply>>() : scripts.RunAll(connection, reads);
  if (!read) {
    outcome.error = read.error();
    for (const ImportChunk& chunk : round) unwritten(chunk);
    return outcome;
  }
  std::vector<const RedisReply*> befores;  // per chunk: get.lua's reply (upserts), or null
  std::vector<std::vector<core::NumberSpec>> specs;  // per chunk: what upserts write
  std::vector<ScriptCall> writes;
  std::size_t next_read = 0;
  for (const ImportChunk& chunk : round) {
    const RedisReply* before = chunk.path != ChunkPath::kInsert ? &(*read)[next_read++] : nullptr;
    befores.push_back(before);
    specs.push_back(before != nullptr ? UpsertSpecs(chunk, items, *before, context, index)
                                      : std::vector<core::NumberSpec>{});
    writes.push_back(WriteCall(chunk, items, specs.back(), context));
  }
  auto written = scripts.RunAll(connection, writes);
  if (!written) {
    // Some calls may have run: their claims stay (a claim without its number only refuses adding
    // the number elsewhere; a number without its claim could be added to a second pool).
    outcome.error = written.error();
    return outcome;
  }
  Command pool_of = {"HSET", kPoolOfKey};
  std::vector<Command> globals;
  for (std::size_t c = 0; c < round.size(); ++c) {
    const ImportChunk& chunk = round[c];
    const RedisReply& reply = (*written)[c];
    const RedisReply* before = befores[c];
    if (chunk.path == ChunkPath::kInsert && reply.Status() == "EXISTS") {
      outcome.refused.push_back(ImportChunk{chunk.pool, chunk.items, ChunkPath::kUpsert});
      continue;
    }
    if (reply.Status() != "OK" || (before != nullptr && before->Status() != "OK")) {
      if (!outcome.error) {
        outcome.error = core::Error::Unavailable("redis generation changed during the import");
      }
      unwritten(chunk);
      continue;
    }
    ChunkOutcome& taken = outcome.written.emplace_back();
    taken.undo->pool = chunk.pool;
    if (before == nullptr) {
      TakeInserted(chunk, items, reply, context, taken, outcome.counts);
    } else {
      TakeUpserted(chunk, items, specs[c], *before, reply, context, index, taken, pool_of,
                   outcome.counts, outcome.gone);
    }
    globals.push_back({"SADD", kPoolsKey, chunk.pool});
  }
  if (pool_of.size() > 2) globals.push_back(std::move(pool_of));
  if (!globals.empty()) {
    if (auto mapped = connection.Pipeline(globals); !mapped && !outcome.error) {
      outcome.error = mapped.error();
    }
  }
  return outcome;
}

}  // namespace cidrotor::store::redis
