// RedisStore's admin side (store/redis/redis_store.h): add, update, delete, read and list numbers,
// and the bulk import. Every change is a script on the number's pool, then a journal append; the
// caller hears of it once the journal has it, and a change the journal refuses is undone in
// Redis. `cid:pool_of` (number → pool) makes a caller-ID unique across pools: HSETNX claims it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <utility>

#include "core/probation.h"
#include "store/deleted_usage.h"
#include "store/redis/deleted_numbers.h"
#include "store/redis/number_codec.h"
#include "store/redis/redis_store.h"

namespace cidrotor::store {

using redis::AppendNumberArgs;
using redis::RedisConnection;
using redis::RedisReply;
using redis::Script;
using redis::ViewFromReply;

namespace {

core::Error NoNumber(core::PhoneNumber caller_id) {
  return core::Error::NotFound("no caller_id " + caller_id.ToString(), "caller_id");
}

// delete.lua's reply: 'OK', the number's view (16 fields, lib.lua view), its newest reservation
// ('lr'), the live reservation it ended (0: none), then when one, that reservation's other 8
// fields (the last: the pool it was made in, '' for that one), and last the delete's version
// (redis::ChangeVersionOf).
constexpr std::size_t kDeletedNewest = 17;
constexpr std::size_t kDeletedEnded = 18;
constexpr std::size_t kDeletedWithHeld = 27;

// A moved reservation's fields (lib.lua hold's, delete.lua's order) for the pool that will hold
// it: the pool it was made in is named only when it is another one.
std::vector<std::string> HeldIn(std::vector<std::string> carried, const std::string& pool) {
  if (!carried.empty() && carried.back() == pool) carried.back().clear();
  return carried;
}

// Sets a moved number's newest reservation in its new pool, unless an allocation there set one
// already, or the number is gone again.
constexpr const char* kCarryNewest =
    "if redis.call('HEXISTS', KEYS[1], 'act') == 1 then "
    "redis.call('HSETNX', KEYS[1], 'lr', ARGV[1]) end return 1";

// A page of numbers without the active or resting filter, over `pools`, found by rank: each
// pool's `numbers` zset (score 0, so lexical order, and the 10-digit strings sort as numbers)
// answers how many of its numbers lie below any number (ZLEXCOUNT, O(log n)), so a binary search
// over the number space finds the page's first number in ~34 pipelined rounds, and each pool
// gives at most `limit` from there. Listing every number up to offset + limit instead held Redis
// ~0.3 s at offset 500,000, past every instance's allocation timeout. Returns the page's
// (number, pool) pairs in order and sets `total`.
core::Result<std::vector<std::pair<std::string, std::string>>> PageByRank(
    RedisConnection& connection, const std::vector<std::string>& pools,
    std::optional<std::uint32_t> area_code, std::uint64_t after, std::size_t offset,
    std::size_t limit, std::size_t& total) {
  std::uint64_t lo = area_code ? std::uint64_t{*area_code} * 10'000'000 : 0;
  std::uint64_t hi = area_code ? lo + 9'999'999 : 9'999'999'999;
  total = 0;
  if (after >= hi) return std::vector<std::pair<std::string, std::string>>();
  lo = std::max(lo, after + 1);
  // A lexical bound "[NNNNNNNNNN" (inclusive) of a number.
  const auto bound = [](std::uint64_t n) { return fmt::format("[{:010}", n); };
  const std::string from = bound(lo);
  // How many numbers of all pools lie in [lo, up_to].
  const auto count = [&](std::uint64_t up_to) -> core::Result<std::size_t> {
    std::vector<redis::Command> counts;
    for (const std::string& pool : pools) {
      counts.push_back({"ZLEXCOUNT", redis::PoolPrefix(pool) + "numbers", from, bound(up_to)});
    }
    auto replies = connection.Pipeline(counts);
    if (!replies) return core::Fail(replies.error());
    std::size_t sum = 0;
    for (const RedisReply& reply : *replies) {
      if (reply.is_error()) return core::Fail(core::Error::Unavailable("redis: " + reply.str));
      sum += static_cast<std::size_t>(std::max<long long>(reply.integer, 0));
    }
    return sum;
  };
  auto all = count(hi);
  if (!all) return core::Fail(all.error());
  total = *all;
  std::vector<std::pair<std::string, std::string>> page;
  if (offset >= total || limit == 0 || pools.empty()) return page;
  // The smallest number with offset + 1 numbers up to it: the page's first.
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    auto below = count(mid);
    if (!below) return core::Fail(below.error());
    if (*below >= offset + 1) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  std::vector<redis::Command> ranges;
  const std::string last =
      bound(area_code ? std::uint64_t{*area_code} * 10'000'000 + 9'999'999 : 9'999'999'999);
  for (const std::string& pool : pools) {
    ranges.push_back({"ZRANGEBYLEX", redis::PoolPrefix(pool) + "numbers", bound(lo), last, "LIMIT",
                      "0", std::to_string(limit)});
  }
  auto replies = connection.Pipeline(ranges);
  if (!replies) return core::Fail(replies.error());
  for (std::size_t i = 0; i < pools.size(); ++i) {
    for (const RedisReply& number : (*replies)[i].elements) page.emplace_back(number.str, pools[i]);
  }
  std::sort(page.begin(), page.end());
  if (page.size() > limit) page.resize(limit);
  return page;
}

// Takes `number`'s cid:pool_of entry off when it names `pool`. Only then: an add or an import
// undoing its own number must not unmap one that a concurrent import has moved to another pool
// meanwhile (the add's clean-up after its read found the number gone from its pool did, leaving
// the number in the import's pool with no entry, so it could be added to a second pool).
core::Result<void> Unmap(RedisConnection& connection, const std::string& number,
                         const std::string& pool) {
  static constexpr const char* kUnmap =
      "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then "
      "return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";
  auto unmapped = connection.Run({"EVAL", kUnmap, "1", redis::kPoolOfKey, number, pool});
  if (!unmapped) return core::Fail(unmapped.error());
  return {};
}

}  // namespace

core::Result<core::NumberView> RedisStore::ReadNumber(RedisConnection& connection,
                                                      const std::string& pool,
                                                      core::PhoneNumber caller_id,
                                                      core::TimePoint now) {
  auto reply = RunPoolScript(connection, Script::kGet, pool, now, {caller_id.ToString()});
  if (!reply) return core::Fail(reply.error());
  if (reply->Status() != "OK" || reply->elements.size() < 2 ||
      reply->elements[1].type != RedisReply::Type::kArray) {
    return core::Fail(NoNumber(caller_id));
  }
  return ViewFromReply(reply->elements[1], pool, now, calendar_.WindowsAt(now), options_.index);
}

core::Result<void> RedisStore::RemoveNumber(RedisConnection& connection, const std::string& pool,
                                            core::PhoneNumber caller_id, core::TimePoint now) {
  auto reply = RunPoolScript(connection, Script::kDelete, pool, now, {caller_id.ToString()});
  if (!reply) return core::Fail(reply.error());
  return Unmap(connection, caller_id.ToString(), pool);
}

core::Result<RedisStore::Put> RedisStore::PutNumber(RedisConnection& connection,
                                                    const core::NumberSpec& spec,
                                                    const std::optional<core::NumberUsage>& usage,
                                                    const std::string& from_pool,
                                                    core::TimePoint now,
                                                    std::optional<core::CompactTime> rest_until) {
  std::uint64_t ended = 0;
  std::vector<std::string> carried;  // lib.lua hold's fields of a live reservation that moves
  std::optional<core::NumberUsage> keep = usage;
  std::string newest = "0";      // the number's newest reservation ('lr'), which moves too
  std::optional<core::NumberView> left;  // the number as it was in from_pool, once moved out
  // Takes the number's move mark (kMovingKey) away however the move ends, once cid:pool_of names
  // where it is. A mark that cannot be taken away lapses by itself.
  struct MoveMark {
    RedisConnection& connection;
    std::string number;
    MoveMark(RedisConnection& c, std::string n) : connection(c), number(std::move(n)) {}
    MoveMark(const MoveMark&) = delete;
    MoveMark& operator=(const MoveMark&) = delete;
    // The count first: a release that finds the mark gone finds the count changed
    // (ReleaseOnWorker).
    ~MoveMark() {
      (void)connection.Pipeline({{"INCR", redis::kMovesKey}, {"ZREM", redis::kMovingKey, number}});
    }
  };
  std::optional<MoveMark> moving;
  if (from_pool != spec.pool) {  // a move: out of the old pool's keys, into the new one's
    // Marked while it is in neither pool's keys, with its call's reservation: a release of that
    // call meanwhile finds it nowhere, and looks again once the mark is gone (ReleaseOnWorker).
    const std::string number = spec.caller_id.ToString();
    const auto lapses = (now + kMoveMark).time_since_epoch().count();
    // (And the marks that lapsed go: an instance died moving.)
    if (auto marked =
            connection.Pipeline({{"ZREMRANGEBYSCORE", redis::kMovingKey, "-inf",
                                  std::to_string(now.time_since_epoch().count())},
                                 {"ZADD", redis::kMovingKey, std::to_string(lapses), number},
                                 {"INCR", redis::kMovesKey}});
        !marked) {
      return core::Fail(marked.error());
    }
    moving.emplace(connection, number);
    auto removed =
        RunPoolScript(connection, Script::kDelete, from_pool, now, {spec.caller_id.ToString()});
    if (!removed) return core::Fail(removed.error());
    if (removed->Status() == "OK") {
      const RedisReply& r = *removed;
      RedisReply view;
      view.type = RedisReply::Type::kArray;
      view.elements.assign(r.elements.begin() + 1,
                           r.elements.begin() + static_cast<std::ptrdiff_t>(kDeletedNewest));
      left = redis::ViewFromReply(view, from_pool, now, calendar_.WindowsAt(now), options_.index);
      if (!keep) {
        keep = core::NumberUsage{.last_used = static_cast<core::CompactTime>(r.Int(7)),
                                 .hour_start = static_cast<core::CompactTime>(r.Int(8)),
                                 .day_start = static_cast<core::CompactTime>(r.Int(10)),
                                 .hourly_used = static_cast<std::uint16_t>(r.Int(9)),
                                 .daily_used = static_cast<std::uint16_t>(r.Int(11)),
                                 .warm_from = static_cast<core::CompactTime>(r.Int(14)),
                                 .rest_until = static_cast<core::CompactTime>(r.Int(15)),
                                 .last_used_ms = static_cast<std::uint16_t>(r.Int(16))};
      }
      newest = r.Text(kDeletedNewest);
      ended = static_cast<std::uint64_t>(r.Int(kDeletedEnded));
      if (ended != 0 && r.elements.size() == kDeletedWithHeld + 1) {  // and the version
        for (std::size_t i = kDeletedEnded; i < kDeletedWithHeld; ++i) carried.push_back(r.Text(i));
        if (carried.back().empty()) carried.back() = from_pool;  // made in the pool it leaves
      }
    }
  }
  // The call holding the number goes on: its reservation moves too, held in the same script
  // that puts the number into its new pool (as in the embedded index), or the number would be
  // free there while still on the line.
  std::vector<std::string> args = {carried.empty() ? "update" : "move", "0"};
  AppendNumberArgs(args, spec, keep, std::nullopt, rest_until);
  const std::vector<std::string> held = HeldIn(carried, spec.pool);
  args.insert(args.end(), held.begin(), held.end());
  if (!carried.empty()) ended = 0;
  auto put =
      RunPoolScript(connection, Script::kUpsert, spec.pool, now, args, redis::CreatePool::kYes);
  if (!put) {
    // Out of the old pool and not in the new one: in no pool at all, and no later change could
    // find it (cid:pool_of still names the old one). Back where it was, with its call, once Redis
    // says the new pool does not have it (a lost answer may hide an upsert that ran).
    if (left && AbsentFrom(connection, spec.pool, spec.caller_id, now)) {
      PutBack(connection, *left, carried, newest, now, put.error());
    } else if (left) {
      spdlog::error(
          "store: {} left pool '{}'; whether pool '{}' took it is unknown ({}): a "
          "reload of redis from PostgreSQL settles it",
          spec.caller_id.ToString(), from_pool, spec.pool, put.error().ToString());
    }
    return core::Fail(put.error());
  }
  std::vector<redis::Command> globals = {
      {"HSET", redis::kPoolOfKey, spec.caller_id.ToString(), spec.pool},
      {"SADD", redis::kPoolsKey, spec.pool}};
  if (!newest.empty() && newest != "0") {
    // Its next allocation links to it, not only (through the journal's row) to whatever the
    // journal has committed by then.
    globals.push_back({"EVAL", kCarryNewest, "1",
                       redis::PoolPrefix(spec.pool) + "n:" + spec.caller_id.ToString(), newest});
  }
  auto mapped = connection.Pipeline(globals);
  if (!mapped) return core::Fail(mapped.error());
  return Put{ended, redis::ChangeVersionOf(*put)};
}

bool RedisStore::AbsentFrom(RedisConnection& connection, const std::string& pool,
                            core::PhoneNumber caller_id, core::TimePoint now) {
  auto read = scripts_.Run(
      connection, redis::PoolCall(Script::kGet, pool, Context(now), {caller_id.ToString()}));
  if (!read || read->is_error()) return false;  // unknown
  const std::string_view status = read->Status();
  if (status == "NOPOOL" || status == "GEN") return true;  // nothing there to allocate from
  return status == "OK" && read->elements.size() > 1 && read->elements[1].is_nil();
}

void RedisStore::PutBack(RedisConnection& connection, const core::NumberView& left,
                         const std::vector<std::string>& carried, const std::string& newest,
                         core::TimePoint now, const core::Error& why) {
  std::vector<std::string> args = {carried.empty() ? "update" : "move", "0"};
  AppendNumberArgs(args, left.spec, left.usage, std::nullopt, std::nullopt);
  const std::vector<std::string> held = HeldIn(carried, left.spec.pool);
  args.insert(args.end(), held.begin(), held.end());
  const std::string number = left.spec.caller_id.ToString();
  auto back = RunPoolScript(connection, Script::kUpsert, left.spec.pool, now, args,
                            redis::CreatePool::kYes);
  if (!back || back->Status() != "OK") {
    spdlog::error(
        "store: {} left pool '{}' for another that refused it ({}), and could not be put back "
        "({}): it is in no pool until redis is reloaded from PostgreSQL",
        number, left.spec.pool, why.ToString(),
        back ? std::string(back->Status()) : back.error().ToString());
    return;
  }
  if (!newest.empty() && newest != "0") {
    (void)connection.Run(
        {"EVAL", kCarryNewest, "1", redis::PoolPrefix(left.spec.pool) + "n:" + number, newest});
  }
  spdlog::warn("store: {} could not move from pool '{}' ({}): put back", number, left.spec.pool,
               why.ToString());
}

void RedisStore::AddNumber(core::NumberSpec spec, Callback<core::NumberView> on_done) {
  if (spec.pool.empty()) spec.pool = core::kDefaultPool;
  Submit<core::NumberView>(
      std::move(on_done), [this, spec](RedisConnection& connection, auto& done) {
        const core::TimePoint now = clock_.Now();
        const std::string number = spec.caller_id.ToString();
        auto claimed = connection.Run({"HSETNX", redis::kPoolOfKey, number, spec.pool});
        if (!claimed) {
          done(core::Fail(claimed.error()));
          return;
        }
        if (claimed->integer == 0) {
          done(core::Fail(
              core::Error::Conflict("caller_id " + number + " already exists", "caller_id")));
          return;
        }
        // Deleted while its usage still matters: it comes back with it (store/deleted_usage.h).
        auto kept =
            redis::ReadDeleted(connection, std::span(&spec.caller_id, 1), core::ToCompact(now), 1);
        if (!kept) {
          (void)Unmap(connection, number, spec.pool);
          done(core::Fail(kept.error()));
          return;
        }
        std::vector<std::string> args = {"add", "0"};
        AppendNumberArgs(args, spec,
                         kept->front() ? std::optional(kept->front()->usage) : std::nullopt);
        auto added = RunPoolScript(connection, Script::kUpsert, spec.pool, now, args,
                                   redis::CreatePool::kYes);
        if (added && added->Text(1) == "dup") {
          // It exists after all (Redis was rebuilt from the journal meanwhile): the claim is its.
          done(core::Fail(
              core::Error::Conflict("caller_id " + number + " already exists", "caller_id")));
          return;
        }
        if (added) {
          auto listed = connection.Run({"SADD", redis::kPoolsKey, spec.pool});
          if (!listed) added = core::Fail(listed.error());
        }
        auto view = added ? ReadNumber(connection, spec.pool, spec.caller_id, now)
                          : core::Result<core::NumberView>(core::Fail(added.error()));
        if (!view) {  // leave nothing half-added (best effort: Redis may be what failed)
          if (added) {
            (void)RemoveNumber(connection, spec.pool, spec.caller_id, now);
          } else {
            (void)Unmap(connection, number, spec.pool);
          }
          done(core::Fail(view.error()));
          return;
        }
        std::vector<JournalEntry> entries;
        entries.push_back(NumberUpserted{view->spec, view->usage, redis::ChangeVersionOf(*added)});
        journal_->Append(std::move(entries), [this, view = *view, done = std::move(done)](
                                                 core::Result<void> durable) mutable {
          if (durable) {
            done(std::move(view));
            return;
          }
          spdlog::error("store: add not durable, undone: {}", durable.error().ToString());
          UndoThenFail<core::NumberView>(
              [this, view](RedisConnection& worker) {
                (void)RemoveNumber(worker, view.spec.pool, view.spec.caller_id, clock_.Now());
              },
              durable.error(), std::move(done));
        });
      });
}

void RedisStore::UpdateNumber(core::PhoneNumber caller_id, core::NumberPatch patch,
                              Callback<core::NumberView> on_done) {
  SubmitEdit<core::NumberView>(
      NumberEdit(caller_id), std::move(on_done),
      [this, caller_id, patch](RedisConnection& connection, auto& done) {
        const core::TimePoint now = clock_.Now();
        auto pool = PoolOf(connection, caller_id);
        if (!pool || !*pool) {
          done(core::Fail(pool ? NoNumber(caller_id) : pool.error()));
          return;
        }
        auto before = ReadNumber(connection, **pool, caller_id, now);
        if (!before) {
          done(core::Fail(before.error()));
          return;
        }
        core::NumberSpec spec = before->spec;
        if (patch.carrier) spec.carrier = *patch.carrier;
        if (patch.pool) spec.pool = patch.pool->empty() ? core::kDefaultPool : *patch.pool;
        if (patch.state) spec.state = *patch.state;
        if (patch.hourly_cap) spec.hourly_cap = *patch.hourly_cap;
        if (patch.daily_cap) spec.daily_cap = *patch.daily_cap;
        if (patch.active) spec.active = *patch.active;
        // The rest as patched (core::PatchedRestUntil), else the number's own, kept by upsert.lua
        // (or carried by a move).
        std::optional<core::CompactTime> rest_until;
        if (patch.rest_until) {
          rest_until = core::PatchedRestUntil(before->usage.rest_until, *patch.rest_until,
                                              core::ToCompact(now), patch.rest_unless_resting);
        }
        auto put = PutNumber(connection, spec, std::nullopt, **pool, now, rest_until);
        auto view = put ? ReadNumber(connection, spec.pool, caller_id, now)
                        : core::Result<core::NumberView>(core::Fail(put.error()));
        if (!view) {
          done(core::Fail(view.error()));
          return;
        }
        std::vector<JournalEntry> entries;
        if (put->ended != 0)
          entries.push_back(ReservationReleased{put->ended, now, core::CallOutcome::kUnknown, {}});
        entries.push_back(NumberUpserted{view->spec, view->usage, put->version});
        journal_->Append(
            std::move(entries), [this, view = *view, previous = *before,
                                 done = std::move(done)](core::Result<void> durable) mutable {
              if (durable) {
                done(std::move(view));
                return;
              }
              spdlog::error("store: update not durable, undone: {}", durable.error().ToString());
              UndoThenFail<core::NumberView>(
                  [this, view, previous](RedisConnection& worker) {
                    (void)PutNumber(worker, previous.spec, previous.usage, view.spec.pool,
                                    clock_.Now());
                  },
                  durable.error(), std::move(done));
            });
      });
}

void RedisStore::DeleteNumber(core::PhoneNumber caller_id, Callback<void> on_done) {
  SubmitEdit<void>(
      NumberEdit(caller_id), std::move(on_done),
      [this, caller_id](RedisConnection& connection, auto& done) {
        const core::TimePoint now = clock_.Now();
        auto pool = PoolOf(connection, caller_id);
        if (!pool || !*pool) {
          done(core::Fail(pool ? NoNumber(caller_id) : pool.error()));
          return;
        }
        auto removed =
            RunPoolScript(connection, Script::kDelete, **pool, now, {caller_id.ToString()});
        if (!removed) {
          done(core::Fail(removed.error()));
          return;
        }
        if (removed->Status() != "OK") {
          done(core::Fail(NoNumber(caller_id)));
          return;
        }
        const core::NumberView previous = ViewFromReply(
            RedisReply{RedisReply::Type::kArray,
                       0,
                       {},
                       {removed->elements.begin() + 1, removed->elements.begin() + kDeletedNewest}},
            **pool, now, calendar_.WindowsAt(now), options_.index);
        // What it leaves is kept (store/deleted_usage.h), in the same round trip as the unmapping.
        const DeletedUsage kept =
            KeepOnDelete(previous.usage, core::ToCompact(now), options_.index.probation);
        (void)connection.Pipeline({{"HDEL", redis::kPoolOfKey, caller_id.ToString()},
                                   redis::KeepDeletedCommand(caller_id, kept)});
        if (const auto ended = static_cast<std::uint64_t>(removed->Int(kDeletedEnded));
            ended != 0) {
          std::vector<JournalEntry> entries;
          entries.push_back(ReservationReleased{ended, now, core::CallOutcome::kUnknown, {}});
          journal_->Append(std::move(entries), {});
        }
        std::vector<JournalEntry> entries;
        entries.push_back(NumberDeleted{caller_id, kept, now, redis::ChangeVersionOf(*removed)});
        journal_->Append(std::move(entries), [this, previous, done = std::move(done)](
                                                 core::Result<void> durable) mutable {
          if (durable) {
            done(std::move(durable));
            return;
          }
          spdlog::error("store: delete not durable, undone: {}", durable.error().ToString());
          UndoThenFail<void>(
              [this, previous](RedisConnection& worker) {
                (void)worker.Run({"HSET", redis::kPoolOfKey, previous.spec.caller_id.ToString(),
                                  previous.spec.pool});
                (void)PutNumber(worker, previous.spec, previous.usage, previous.spec.pool,
                                clock_.Now());
              },
              durable.error(), std::move(done));
        });
      });
}

void RedisStore::GetNumber(core::PhoneNumber caller_id, Callback<core::NumberView> on_done) {
  Submit<core::NumberView>(std::move(on_done),
                           [this, caller_id](RedisConnection& connection, auto& done) {
                             auto pool = PoolOf(connection, caller_id);
                             if (!pool || !*pool) {
                               done(core::Fail(pool ? NoNumber(caller_id) : pool.error()));
                               return;
                             }
                             done(ReadNumber(connection, **pool, caller_id, clock_.Now()));
                           });
}

void RedisStore::ListNumbers(NumberFilter filter, Callback<NumberPage> on_done) {
  Submit<NumberPage>(std::move(on_done), [this, filter](RedisConnection& connection, auto& done) {
    const core::TimePoint now = clock_.Now();
    std::vector<std::string> pools;
    if (filter.pool) {
      pools.push_back(*filter.pool);
    } else {
      auto all = Pools(connection);
      if (!all) {
        done(core::Fail(all.error()));
        return;
      }
      pools = std::move(*all);
    }
    const std::size_t wanted = filter.offset + filter.limit;
    NumberPage page;
    // `after` within the area code's range, or none below it; above it nothing is left.
    std::uint64_t after = filter.after ? filter.after->digits() : 0;
    if (filter.area_code) {
      const std::uint64_t first_of_area = std::uint64_t{*filter.area_code} * 10'000'000;
      if (after >= first_of_area + 9'999'999) pools.clear();
      if (after < first_of_area) after = 0;
    }
    std::vector<std::pair<std::string, std::string>> matches;  // number, pool
    std::size_t first = filter.offset;                         // of the page in `matches`
    if (!filter.active && !filter.resting) {
      auto ranked = PageByRank(connection, pools, filter.area_code, after, filter.offset,
                               filter.limit, page.total);
      if (!ranked) {
        done(core::Fail(ranked.error()));
        return;
      }
      matches = std::move(*ranked);
      first = 0;
      pools.clear();  // nothing left to list below
    }
    for (const std::string& pool : pools) {
      // With the active or resting filter, list.lua looks at list_slice numbers a call (see
      // there).
      std::size_t taken = 0;  // of this pool
      std::string cursor = after == 0 ? std::string() : fmt::format("{:010}", after);
      do {
        const std::vector<std::string> args = {
            filter.area_code ? std::to_string(*filter.area_code) : std::string(),
            filter.active ? (*filter.active ? "1" : "0") : "",
            std::to_string(wanted - std::min(wanted, taken)),
            cursor,
            std::to_string(std::max<std::size_t>(options_.list_slice, 1)),
            filter.resting ? (*filter.resting ? "1" : "0") : ""};
        auto reply = RunPoolScript(connection, Script::kList, pool, now, args);
        if (!reply) {
          done(core::Fail(reply.error()));
          return;
        }
        if (reply->Status() != "OK") break;
        page.total += static_cast<std::size_t>(reply->Int(1));
        for (std::size_t i = 3; i < reply->elements.size(); ++i) {
          matches.emplace_back(reply->Text(i), pool);
          ++taken;
        }
        cursor = reply->Text(2);
      } while (!cursor.empty());
    }
    std::sort(matches.begin(), matches.end());
    // The page's numbers, read with one get call per pool.
    const std::size_t end = std::min(matches.size(), first + filter.limit);
    std::map<std::string, std::vector<std::string>> by_pool;
    for (std::size_t i = first; i < end; ++i) {
      by_pool[matches[i].second].push_back(matches[i].first);
    }
    const core::Windows windows = calendar_.WindowsAt(now);
    std::map<std::string, core::NumberView> views;
    for (auto& [pool, numbers] : by_pool) {
      auto reply = RunPoolScript(connection, Script::kGet, pool, now, numbers);
      if (!reply) {
        done(core::Fail(reply.error()));
        return;
      }
      for (std::size_t k = 1; k < reply->elements.size(); ++k) {
        if (reply->elements[k].type != RedisReply::Type::kArray) continue;  // deleted meanwhile
        core::NumberView view =
            ViewFromReply(reply->elements[k], pool, now, windows, options_.index);
        views.emplace(view.spec.caller_id.ToString(), std::move(view));
      }
    }
    for (std::size_t i = first; i < end; ++i) {
      if (auto it = views.find(matches[i].first); it != views.end()) {
        page.numbers.push_back(std::move(it->second));
      }
    }
    done(std::move(page));
  });
}

}  // namespace cidrotor::store
