// RedisStore::Rebuild (store/redis/redis_store.h): Redis lost its data (restart without
// persistence, failover to an empty replica), so it is loaded again from the system of record.
//
// Only one instance rebuilds: it takes cid:rebuild_lock (SET NX PX); the others answer
// kUnavailable until cid:generation is back. The loader deletes whatever cid:* keys are left,
// streams Journal::Load into Redis (numbers with their usage counters, warm-up start 'wf' and rest
// end 'rs', in pipelined upsert calls that pass them explicitly, so an established number never
// starts warming and a resting one stays parked until its rest ends; then the live reservations
// and the settings tables), raises the reservation-id counter above the journal's highest id, and
// only then publishes the new generation: no instance allocates from a half-loaded Redis, and no
// live reservation of the journal is handed out again.
// Each number comes back with its 'lr' (its newest reservation, the lookup's link: the loader
// WantsNewest, so the journal reports caller_ids.last_reservation_id), one HSET per number
// pipelined after the upsert call that created its hash: the first allocation after the rebuild
// links to it as every other one does (docs/redis-keys.md).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <random>
#include <thread>
#include <utility>

#include "core/rate_limiter.h"
#include "store/redis/backlog_notices.h"
#include "store/redis/deleted_numbers.h"
#include "store/redis/number_codec.h"
#include "store/redis/redis_store.h"

namespace cidrotor::store {

using redis::RedisConnection;
using redis::RedisReply;
using redis::Script;

namespace {

constexpr const char* kLockMillis = "120000";
constexpr std::size_t kCallsPerRoundTrip = 8;

std::string RandomToken() {
  std::random_device device;
  std::mt19937_64 engine((static_cast<std::uint64_t>(device()) << 32) ^ device());
  return std::to_string(engine() | 1);
}

// Streams the journal into Redis for a new generation.
class RedisLoader final : public LoadSink {
 public:
  RedisLoader(RedisConnection& connection, redis::ScriptRunner& scripts,
              redis::ScriptContext context, std::size_t chunk, core::Seconds lead_window)
      : connection_(connection),
        scripts_(scripts),
        context_(std::move(context)),
        chunk_(chunk),
        lead_window_(lead_window) {}

  void OnNumber(const core::NumberSpec& spec, const core::NumberUsage& usage) override {
    if (error_) return;
    // The previous number's chunk is closed only now, after its OnNumberNewest: its HSET of
    // 'lr' goes out with the upsert call that creates its hash.
    if (last_.pool != nullptr && numbers_[*last_.pool].count >= chunk_) Close(*last_.pool);
    if (ready_.size() >= kCallsPerRoundTrip) FlushNumbers();
    const std::string pool = spec.pool.empty() ? std::string(core::kDefaultPool) : spec.pool;
    auto it = numbers_.try_emplace(pool).first;
    Pending& pending = it->second;
    if (pending.args.empty()) pending.args = {"update", "1"};
    redis::AppendNumberArgs(pending.args, spec, usage);
    pending.map.push_back(spec.caller_id.ToString());
    pending.map.push_back(pool);
    ++pending.count;
    last_ = {spec.caller_id, &it->first};
    ++loaded_;
  }

  bool WantsNewest() const override { return true; }
  // The stored counters may leave out a backlog written late (core/counted_usage.h).
  std::optional<core::Windows> CountedWindows() const override { return context_.windows; }
  void OnNumberNewest(core::PhoneNumber caller_id, std::uint64_t reservation_id) override {
    if (error_ || last_.pool == nullptr || last_.caller_id != caller_id) return;
    const std::string& pool = *last_.pool;
    numbers_[pool].newest.push_back({"HSET", redis::PoolPrefix(pool) + "n:" + caller_id.ToString(),
                                     "lr", std::to_string(reservation_id)});
  }

  void OnLiveReservation(const core::Reservation& r) override {
    if (!error_) reservations_.push_back(r);
  }

  core::Seconds LeadWindow() const override { return lead_window_; }
  void OnLeadAllocation(const LeadAllocation& lead) override {
    // Oldest first: the last one of a (pool, lead) is the number the lead keeps.
    const std::string pool = lead.pool.empty() ? std::string(core::kDefaultPool) : lead.pool;
    leads_.insert_or_assign({pool, lead.lead_id}, std::pair{lead.caller_id, lead.at});
  }

  // The agents' last minute, each allocation into the sliding window of the pool it was made in
  // (allocate.lua's cid:{P}:ag:AGENT): a Redis that lost its data keeps every agent's limit.
  core::Seconds AgentWindow() const override { return core::AgentRateLimiter::kWindow; }
  void OnAgentAllocation(const AgentAllocation& a) override {
    if (a.agent == core::kAutoAgent) return;  // never limited (allocate.lua)
    const std::string key = redis::PoolPrefix(a.pool.empty() ? core::kDefaultPool : a.pool) +
                            "ag:" + std::string(a.agent);
    agents_.push_back({"ZADD", key, std::to_string(a.at.time_since_epoch().count()),
                       std::to_string(a.reservation_id)});
    agents_.push_back({"PEXPIRE", key, "61000"});
  }

  void OnDeletedNumber(core::PhoneNumber caller_id, const DeletedUsage& kept) override {
    deleted_.push_back(redis::KeepDeletedCommand(caller_id, kept));
  }

  void OnCampaignPool(const CampaignPool& mapping) override {
    campaign_pools_.push_back(mapping.campaign);
    campaign_pools_.push_back(mapping.pool);
  }

  void OnPoolSettings(const PoolSettings& settings) override {
    pool_settings_.push_back(settings.pool);
    pool_settings_.push_back(FallbackName(settings.fallback_any));
  }

  // Writes what is still buffered, then the reservations, each into the pool its number is in
  // now (cid:pool_of; a reservation of a number that is gone is skipped). Errors: the first
  // failure.
  core::Result<std::uint64_t> Finish() {
    for (auto& [pool, pending] : numbers_) {
      if (pending.count > 0) Close(pool);
    }
    FlushNumbers();
    std::map<std::string, std::vector<core::Reservation>> by_pool;
    for (std::size_t begin = 0; begin < reservations_.size() && !error_; begin += chunk_) {
      const std::size_t end = std::min(reservations_.size(), begin + chunk_);
      redis::Command hmget = {"HMGET", redis::kPoolOfKey};
      for (std::size_t i = begin; i < end; ++i) {
        hmget.push_back(reservations_[i].caller_id.ToString());
      }
      auto pools = connection_.Run(hmget);
      if (!pools) {
        error_ = pools.error();
        break;
      }
      if (pools->elements.size() != end - begin) {
        error_ = core::Error::Internal("rebuild: unexpected HMGET reply: " + pools->str);
        break;
      }
      for (std::size_t i = begin; i < end; ++i) {
        const RedisReply& pool = pools->elements[i - begin];
        if (pool.is_nil()) {
          spdlog::warn("rebuild: reservation {} of a number that is gone, skipped",
                       reservations_[i].id);
          continue;
        }
        by_pool[pool.str].push_back(reservations_[i]);
      }
    }
    for (auto& [pool, list] : by_pool) {
      for (std::size_t begin = 0; begin < list.size() && !error_; begin += chunk_) {
        std::vector<std::string> args;
        for (std::size_t i = begin; i < list.size() && i < begin + chunk_; ++i) {
          const core::Reservation& r = list[i];
          args.push_back(std::to_string(r.id));
          args.push_back(r.caller_id.ToString());
          args.push_back(r.destination.ToString());
          args.push_back(r.campaign);
          args.push_back(r.agent);
          args.push_back(r.lead_id ? std::to_string(*r.lead_id) : std::string());
          args.push_back(std::to_string(static_cast<int>(r.match)));
          args.push_back(std::to_string(r.reserved_at.time_since_epoch().count()));
          args.push_back(std::to_string(redis::CeilCompact(r.reserved_until)));
          args.push_back(r.pool == pool ? std::string() : r.pool);  // made in another pool
        }
        auto reply = scripts_.Run(
            connection_, redis::PoolCall(Script::kRestore, pool, context_, std::move(args)));
        if (!reply) {
          error_ = reply.error();
        } else if (reply->Status() != "OK") {
          error_ = core::Error::Unavailable("rebuild: pool " + pool + " answered " +
                                            std::string(reply->Status()));
        } else if (reply->Int(2) != 0) {
          spdlog::warn("rebuild: skipped {} reservations of pool {}", reply->Int(2), pool);
        }
      }
    }
    WriteLeads();
    for (const std::vector<redis::Command>* commands : {&agents_, &deleted_}) {
      for (std::size_t begin = 0; begin < commands->size() && !error_; begin += chunk_) {
        std::vector<redis::Command> some(
            commands->begin() + static_cast<std::ptrdiff_t>(begin),
            commands->begin() +
                static_cast<std::ptrdiff_t>(std::min(commands->size(), begin + chunk_)));
        FlushCommands(some);
      }
    }
    WriteHash(redis::kCampaignPoolsKey, campaign_pools_);
    WriteHash(redis::kPoolSettingsKey, pool_settings_);
    if (error_) return core::Fail(*error_);
    return loaded_;
  }

 private:
  struct Pending {
    std::vector<std::string> args;
    redis::Command map;                  // number, pool pairs for cid:pool_of
    std::vector<redis::Command> newest;  // HSET n:NUMBER lr ID, after the upsert call
    std::size_t count = 0;
  };

  // The number OnNumber buffered last (its pool: a key of numbers_, which never moves).
  struct LastNumber {
    core::PhoneNumber caller_id = core::PhoneNumber::FromValidDigits(2'015'550'100);
    const std::string* pool = nullptr;
  };

  // The sticky tier's keys (docs/redis-keys.md: cid:{P}:lead:LEAD), each expiring when its
  // window ends, as allocate.lua writes them.
  void WriteLeads() {
    std::vector<redis::Command> sets;
    for (const auto& [key, number] : leads_) {
      const auto left =
          std::chrono::ceil<core::Seconds>(number.second + lead_window_ - context_.now);
      if (left.count() <= 0) continue;
      const core::CompactTime at = std::max<core::CompactTime>(core::ToCompact(number.second), 1);
      sets.push_back({"SET", redis::PoolPrefix(key.first) + "lead:" + std::to_string(key.second),
                      number.first.ToString() + " " + std::to_string(at), "EX",
                      std::to_string(left.count())});
      if (sets.size() >= chunk_) FlushCommands(sets);
    }
    FlushCommands(sets);
  }

  void FlushCommands(std::vector<redis::Command>& commands) {
    if (!commands.empty() && !error_) {
      Sent(connection_.Pipeline(commands));
    }
    commands.clear();
  }

  // HSETs `fields` (field, value, field, value, …) into `key`, a chunk of pairs per call.
  void WriteHash(const char* key, const std::vector<std::string>& fields) {
    for (std::size_t begin = 0; begin < fields.size() && !error_; begin += 2 * chunk_) {
      const std::size_t end = std::min(fields.size(), begin + 2 * chunk_);
      redis::Command hset = {"HSET", key};
      hset.insert(hset.end(), fields.begin() + static_cast<std::ptrdiff_t>(begin),
                  fields.begin() + static_cast<std::ptrdiff_t>(end));
      std::vector<redis::Command> one;
      one.push_back(std::move(hset));
      Sent(connection_.Pipeline(one));
    }
  }

  // Moves `pool`'s buffered numbers into a chunk ready to be sent.
  void Close(const std::string& pool) {
    Pending& pending = numbers_[pool];
    ready_.push_back({pool, std::move(pending)});
    pending = Pending{};
  }

  // Sends the ready chunks: their upsert calls in one round trip, then in another their numbers'
  // cid:pool_of fields, their pools and their numbers' 'lr'.
  void FlushNumbers() {
    std::vector<std::pair<std::string, Pending>> chunks;
    chunks.swap(ready_);
    if (chunks.empty() || error_) return;
    std::vector<redis::ScriptCall> calls;
    std::vector<redis::Command> after;
    for (auto& [pool, chunk] : chunks) {
      calls.push_back(redis::PoolCall(Script::kUpsert, pool, context_, std::move(chunk.args)));
      redis::Command map = {"HSET", redis::kPoolOfKey};
      map.insert(map.end(), chunk.map.begin(), chunk.map.end());
      after.push_back(std::move(map));
      after.push_back({"SADD", redis::kPoolsKey, pool});
      std::move(chunk.newest.begin(), chunk.newest.end(), std::back_inserter(after));
    }
    auto replies = scripts_.RunAll(connection_, calls);
    if (!replies) {
      error_ = replies.error();
      return;
    }
    for (const RedisReply& reply : *replies) {
      if (reply.Status() != "OK") {
        error_ =
            core::Error::Unavailable("rebuild: upsert answered " +
                                     (reply.is_error() ? reply.str : std::string(reply.Status())));
        return;
      }
    }
    Sent(connection_.Pipeline(after));
  }

  // Records the first failure of a pipeline in error_: its own, or an error reply (e.g. OOM
  // under maxmemory), which a reply list carries without failing.
  void Sent(const core::Result<std::vector<RedisReply>>& replies) {
    if (!replies) {
      error_ = replies.error();
      return;
    }
    for (const RedisReply& reply : *replies) {
      if (reply.is_error()) {
        error_ = core::Error::Unavailable("rebuild: redis answered " + reply.str);
        return;
      }
    }
  }

  RedisConnection& connection_;
  redis::ScriptRunner& scripts_;
  redis::ScriptContext context_;
  std::size_t chunk_;
  std::map<std::string, Pending> numbers_;
  std::vector<std::pair<std::string, Pending>> ready_;  // closed chunks (pool, numbers)
  LastNumber last_;
  std::vector<core::Reservation> reservations_;
  core::Seconds lead_window_;
  // (pool, lead) -> the number the lead was last given and when.
  std::map<std::pair<std::string, std::uint64_t>, std::pair<core::PhoneNumber, core::TimePoint>>
      leads_;
  std::vector<redis::Command> agents_;       // the agents' last minute (cid:{P}:ag:AGENT)
  std::vector<redis::Command> deleted_;      // deleted numbers' kept usage (cid:deleted)
  std::vector<std::string> campaign_pools_;  // campaign, pool, campaign, pool, …
  std::vector<std::string> pool_settings_;   // pool, fallback, …
  std::uint64_t loaded_ = 0;
  std::optional<core::Error> error_;
};

// Deletes every cid:* key but the locks (the rebuild's, and the numbers' edit locks, which changes
// under way still hold) and the other instances' backlog announcements (SCAN, then UNLINK in
// batches).
core::Result<void> DeleteStaleKeys(RedisConnection& connection) {
  std::string cursor = "0";
  do {
    auto page = connection.Run({"SCAN", cursor, "MATCH", "cid:*", "COUNT", "1000"});
    if (!page) return core::Fail(page.error());
    if (page->type != RedisReply::Type::kArray || page->elements.size() != 2) {
      return core::Fail(core::Error::Internal("unexpected SCAN reply"));
    }
    cursor = page->elements[0].str;
    redis::Command unlink = {"UNLINK"};
    for (const RedisReply& key : page->elements[1].elements) {
      if (key.str != redis::kRebuildLockKey && !key.str.starts_with(redis::kEditKeyPrefix) &&
          !key.str.starts_with(redis::kBacklogKeyPrefix)) {
        unlink.push_back(key.str);
      }
    }
    if (unlink.size() > 1) {
      if (auto deleted = connection.Run(unlink); !deleted) return core::Fail(deleted.error());
    }
  } while (cursor != "0");
  return {};
}

}  // namespace

core::Result<void> RedisStore::RaiseReservationIds(RedisConnection& connection,
                                                   std::uint64_t floor) {
  static constexpr const char* kRaise =
      "local c = tonumber(redis.call('GET', KEYS[1]) or '0') "
      "if c < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end return 1";
  auto raised =
      connection.Run({"EVAL", kRaise, "1", redis::kReservationIdKey, std::to_string(floor)});
  if (!raised) return core::Fail(raised.error());
  if (raised->is_error()) return core::Fail(core::Error::Internal("raise ids: " + raised->str));
  return {};
}

core::Result<void> RedisStore::AwaitJournalBacklog() {
  // Allocations answered while PostgreSQL was down are in this instance's queue only: a load that
  // ran first would miss their live reservations and counters, and hand those numbers out again.
  const auto waiting = [this] {
    return core::Fail(core::Error::Unavailable(
        fmt::format("redis lost its data; reloading it waits for the journal ({} entries queued, "
                    "PostgreSQL not written to yet)",
                    journal_->QueueDepth())));
  };
  if (!journal_->Healthy()) return waiting();
  journal_->Flush();  // a barrier: what was queued before it is committed (bounded if it fails)
  if (!journal_->Healthy()) return waiting();
  return {};
}

core::Result<void> RedisStore::NoOtherBacklog(RedisConnection& connection) {
  auto notices = redis::OtherBacklogs(connection, instance_id_);
  if (!notices) return core::Fail(notices.error());
  if (notices->empty()) return {};
  std::size_t queued = 0;
  for (const redis::BacklogNotice& notice : *notices) queued += notice.depth;
  return core::Fail(core::Error::Unavailable(fmt::format(
      "reloading redis waits for {} other instance(s) to write what they answered while "
      "PostgreSQL was down ({} entries queued; first: {})",
      notices->size(), queued, notices->front().instance)));
}

void RedisStore::NoteBacklog(RedisConnection& connection) {
  if (!journal_->Healthy()) {
    if (auto announced = redis::AnnounceBacklog(connection, instance_id_, journal_->QueueDepth());
        announced) {
      backlog_announced_ = true;
    }
    return;
  }
  if (backlog_announced_.load() && redis::WithdrawBacklog(connection, instance_id_)) {
    backlog_announced_ = false;
  }
}

core::Result<void> RedisStore::Rebuild(RedisConnection& connection) {
  if (auto drained = AwaitJournalBacklog(); !drained) return drained;
  const auto began = std::chrono::steady_clock::now();
  const std::string token = RandomToken();
  auto locked = connection.Run({"SET", redis::kRebuildLockKey, token, "NX", "PX", kLockMillis});
  if (!locked) return core::Fail(locked.error());
  if (locked->is_nil()) {
    return core::Fail(core::Error::Unavailable("redis is being loaded by another instance"));
  }
  const auto unlock = [&connection, &token] {
    static constexpr const char* kUnlock =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1";
    (void)connection.Run({"EVAL", kUnlock, "1", redis::kRebuildLockKey, token});
  };
  auto generation = connection.Run({"GET", redis::kGenerationKey});
  if (!generation) return core::Fail(generation.error());
  if (!generation->is_nil()) {  // another instance finished it while we waited for the lock
    std::lock_guard lock(epoch_mu_);
    epoch_ = generation->str;
    unlock();
    return {};
  }

  // Another instance's allocations answered while PostgreSQL was down, not written yet: the
  // journal lacks them (checked again before publishing, below).
  if (auto clear = NoOtherBacklog(connection); !clear) {
    unlock();
    return clear;
  }

  const auto started = std::chrono::steady_clock::now();
  const core::TimePoint now = clock_.Now();
  redis::ScriptContext context = Context(now);
  context.epoch = RandomToken();
  auto summary = DeleteStaleKeys(connection).and_then([&]() -> core::Result<LoadSummary> {
    RedisLoader loader(connection, scripts_, context, options_.import_chunk, options_.index.sticky);
    auto loaded = journal_->Load(now, loader);
    if (!loaded) return core::Fail(loaded.error());
    if (auto finished = loader.Finish(); !finished) return core::Fail(finished.error());
    return *loaded;
  });
  const auto loaded = std::chrono::steady_clock::now();
  if (summary && summary->max_reservation_id > 0) {
    // The other instances' announcements were lost with Redis's data too: each writes its own
    // again at its next tick. A journal without any reservation has nothing they could lack.
    std::this_thread::sleep_until(began + options_.rebuild_grace);
    if (auto clear = NoOtherBacklog(connection); !clear) summary = core::Fail(clear.error());
  }
  if (summary) {
    auto raised = RaiseReservationIds(connection, summary->max_reservation_id + kIdMargin);
    if (!raised) summary = core::Fail(raised.error());
  }
  if (summary) {
    auto published = connection.Pipeline(
        {{"SET", redis::kGenerationLoadedKey, std::to_string(now.time_since_epoch().count())},
         {"SET", redis::kGenerationKey, context.epoch}});
    if (!published) {
      summary = core::Fail(published.error());
    } else if (published->back().is_error()) {
      summary = core::Fail(core::Error::Unavailable("redis: " + published->back().str));
    }
  }
  if (!summary) {
    spdlog::error("redis store: rebuild failed: {}", summary.error().ToString());
    unlock();
    return core::Fail(summary.error());
  }
  {
    std::lock_guard lock(epoch_mu_);
    epoch_ = context.epoch;
  }
  unlock();
  spdlog::info(
      "redis store: rebuilt from the journal generation={} numbers={} live_reservations={} ms={}",
      context.epoch, summary->numbers, summary->live_reservations,
      std::chrono::duration_cast<std::chrono::milliseconds>(loaded - started).count());
  return {};
}

}  // namespace cidrotor::store
