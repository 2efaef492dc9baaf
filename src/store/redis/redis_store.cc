#include "store/redis/redis_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iterator>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "store/redis/instance_token.h"

namespace cidrotor::store {

using redis::RedisConnection;
using redis::RedisReply;
using redis::Script;

namespace {

constexpr std::uint64_t kIdBlock = 1024;  // reservation ids taken from Redis at a time

// Journal::Load's rows are not needed when Redis already holds them (Load is still run: it
// creates or migrates the schema, and reports the highest reservation id).
class IgnoreRows final : public LoadSink {
  void OnNumber(const core::NumberSpec&, const core::NumberUsage&) override {}
  void OnLiveReservation(const core::Reservation&) override {}
};

// This process's token and a count of the stores it opened.
std::string NextInstanceId() {
  static std::atomic<std::uint64_t> opened{0};
  return redis::InstanceToken() + ":" + std::to_string(opened.fetch_add(1) + 1);
}

// After a rebuild that failed (a journal backlog to wait for, a lock held elsewhere), the next
// attempt, which the next request starts, not before this.
constexpr std::chrono::milliseconds kRebuildRetryPause{200};
constexpr std::chrono::seconds kRebuildWarnEvery{10};

}  // namespace

// --- life cycle ----------------------------------------------------------------------------------

RedisStore::RedisStore(const core::Clock& clock, const core::Calendar& calendar,
                       RedisStoreOptions options, std::unique_ptr<Journal> journal)
    : clock_(clock),
      calendar_(calendar),
      options_(std::move(options)),
      journal_(std::move(journal)),
      pruner_(*journal_, options_.retention),
      instance_id_(NextInstanceId()),
      executor_(std::make_unique<redis::RedisExecutor>(options_.redis)),
      pipeline_(std::make_unique<redis::RedisPipeline>(options_.redis.connection)) {
  scripts_.SetLoadCheck([this](RedisConnection& c) { return CheckAgainstJournal(c); });
}

RedisStore::~RedisStore() {
  journal_->OnRecoveredBacklogWritten(nullptr);  // no new check task
  {
    std::lock_guard lock(rebuild_mu_);
    closing_ = true;  // no new rebuild
  }
  if (rebuild_thread_.joinable()) rebuild_thread_.join();
  pipeline_->Drain();
  journal_->Flush();  // undo callbacks still find the executor
  stopping_ = true;
  pipeline_.reset();  // fails what is still waiting; its fallbacks find the executor
  executor_.reset();  // runs or fails what is queued, joins the workers
  journal_->Flush();
}

core::Result<std::unique_ptr<RedisStore>> RedisStore::Open(const core::Clock& clock,
                                                           const core::Calendar& calendar,
                                                           RedisStoreOptions options,
                                                           std::unique_ptr<Journal> journal) {
  std::unique_ptr<RedisStore> store(
      new RedisStore(clock, calendar, std::move(options), std::move(journal)));
  if (auto attached = store->Attach(); !attached) return core::Fail(attached.error());
  // A backlog this journal writes from now on is checked once written, not at the next tick
  // (CheckRecoveredBacklog; the destructor unsets it first).
  RedisStore* self = store.get();
  store->journal_->OnRecoveredBacklogWritten([self] {
    self->SubmitTask(
        [self](RedisConnection& connection) { self->CheckRecoveredBacklog(connection); },
        [](core::Error) {});  // left to the next tick
  });
  return store;
}

core::Result<void> RedisStore::Attach() {
  // The journal's summary (it migrates the schema first), or nullopt while PostgreSQL is down
  // (cannot be reached at all): the instance starts all the same, as a running one goes on
  // (degraded, its writes queued, the schema migrated when the journal's writer connects). A
  // server that answers and fails the Load (a schema newer than this binary) stops the start.
  const auto journal_summary = [this]() -> core::Result<std::optional<LoadSummary>> {
    IgnoreRows ignore;
    auto summary = journal_->Load(clock_.Now(), ignore);
    if (summary) return std::optional<LoadSummary>(*summary);
    if (summary.error().code() != core::ErrorCode::kUnavailable || journal_->Reachable()) {
      return core::Fail(summary.error());
    }
    spdlog::warn("redis store: starting without the journal: {}", summary.error().ToString());
    return std::optional<LoadSummary>();
  };
  RedisConnection connection(options_.redis.connection);
  auto generation = connection.Run({"GET", redis::kGenerationKey});
  if (!generation) {
    spdlog::warn("redis store: redis unavailable at start ({}); loading it when it is back",
                 generation.error().ToString());
    if (auto summary = journal_summary(); !summary) return core::Fail(summary.error());
    return {};
  }
  redis_up_ = true;
  if (auto recent = RequireRedis7(connection); !recent) return core::Fail(recent.error());
  if (generation->is_nil()) {
    if (auto rebuilt = Rebuild(connection); !rebuilt) {
      if (rebuilt.error().code() != core::ErrorCode::kUnavailable)
        return core::Fail(rebuilt.error());
      spdlog::warn("redis store: not loaded yet: {}", rebuilt.error().ToString());
      reloading_ = true;  // /health: nothing can be allocated until it is (Tick retries)
    }
    return {};
  }
  {
    std::lock_guard lock(epoch_mu_);
    epoch_ = generation->str;
  }
  // Redis already holds the state; the journal's highest id still matters: a Redis restored from
  // an older snapshot must never hand out an id the journal already has, nor one of a block
  // another instance took from the counter the snapshot lost (kIdMargin). Without the journal,
  // Redis is taken unchecked, as CheckAgainstJournal takes it then.
  auto summary = journal_summary();
  if (!summary) return core::Fail(summary.error());
  if (auto raised =
          *summary ? RaiseReservationIds(connection, (*summary)->max_reservation_id + kIdMargin)
                   : JumpReservationIds(connection);
      !raised) {
    spdlog::warn("redis store: {}", raised.error().ToString());
  }
  spdlog::info("redis store: attached generation={}", generation->str);
  // A backlog its writer did not live to check (Journal::RecoveredBacklogChecked) is checked
  // now, before the first allocation, not at the first tick a second later. No worker has the
  // store yet.
  CheckRecoveredBacklog(connection);
  return {};
}

// --- plumbing ------------------------------------------------------------------------------------

void RedisStore::StartRebuild() {
  std::lock_guard lock(rebuild_mu_);
  if (rebuilding_ || closing_) return;
  if (rebuild_thread_.joinable()) rebuild_thread_.join();  // the previous one has finished
  rebuilding_ = true;
  spdlog::debug("redis store: generation key missing: redis lost its data, reloading it");
  rebuild_thread_ = std::thread([this] {
    RedisConnection connection(options_.redis.connection);
    if (auto rebuilt = Rebuild(connection); rebuilt) {
      reloading_ = false;
    } else {
      bool warn = false;
      {
        std::lock_guard warned(rebuild_mu_);
        const auto now = std::chrono::steady_clock::now();
        if (now - rebuild_warned_at_ >= kRebuildWarnEvery) {
          rebuild_warned_at_ = now;
          warn = true;
        }
      }
      spdlog::log(warn ? spdlog::level::warn : spdlog::level::debug,
                  "redis store: redis lost its data and is not reloaded yet: {}",
                  rebuilt.error().ToString());
      std::this_thread::sleep_for(kRebuildRetryPause);
    }
    rebuilding_ = false;
  });
}

std::string RedisStore::Epoch() const {
  std::lock_guard lock(epoch_mu_);
  return epoch_;
}

redis::ScriptContext RedisStore::Context(core::TimePoint now) const {
  redis::ScriptContext context;
  context.epoch = Epoch();
  context.now = now;
  context.windows = calendar_.WindowsAt(now);
  context.default_hourly_cap = options_.index.default_hourly_cap;
  context.default_daily_cap = options_.index.default_daily_cap;
  context.warmup_days = options_.index.warmup_days;
  context.probation = options_.index.probation;
  context.probation_daily_cap = options_.index.probation_daily_cap;
  return context;
}

void RedisStore::NoteRedis(const core::Result<void>& outcome) {
  if (outcome) {
    redis_up_ = true;
  } else if (outcome.error().code() == core::ErrorCode::kUnavailable) {
    redis_up_ = false;
  }
}

void RedisStore::SubmitTask(std::function<void(RedisConnection&)> run,
                            std::function<void(core::Error)> fail, bool urgent) {
  redis::RedisExecutor::Task task;
  task.urgent = urgent;
  task.run = std::move(run);
  task.fail = [this, fail = std::move(fail)](core::Error error) {
    redis_up_ = false;
    fail(std::move(error));
  };
  if (stopping_) {
    task.fail(core::Error::Unavailable("redis store shutting down"));
    return;
  }
  executor_->Submit(std::move(task));
}

core::Result<bool> RedisStore::ResolveGeneration(RedisConnection& connection,
                                                 const std::string& seen) {
  auto generation = connection.Run({"GET", redis::kGenerationKey});
  if (!generation) return core::Fail(generation.error());
  if (generation->is_nil()) {
    reloading_ = true;
    StartRebuild();
    return core::Fail(
        core::Error::Unavailable("redis lost its data: reloading it from the journal"));
  }
  if (generation->str == seen) return true;
  // Compared with what the failed call used, not with epoch_: another worker may have adopted
  // the new generation in between, and that is no reason to call the pool absent.
  std::lock_guard lock(epoch_mu_);
  if (epoch_ != generation->str) {
    spdlog::info("redis store: adopting generation {}", generation->str);
    epoch_ = generation->str;
  }
  return false;
}

core::Result<RedisReply> RedisStore::RunPoolScript(RedisConnection& connection, Script script,
                                                   const std::string& pool, core::TimePoint now,
                                                   const std::vector<std::string>& args,
                                                   redis::CreatePool create) {
  bool may_create = false;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::vector<std::string> call_args = args;
    if (script == Script::kUpsert && call_args.size() >= 2)
      call_args[1].assign(1, may_create ? '1' : '0');
    const redis::ScriptContext context = Context(now);
    auto reply = scripts_.Run(connection, redis::PoolCall(script, pool, context, call_args));
    NoteRedis(reply ? core::Result<void>{} : core::Result<void>(core::Fail(reply.error())));
    if (!reply) return reply;
    const std::string_view status = reply->Status();
    if (status != "NOPOOL" && status != "GEN") {
      reloading_ = false;  // the script found its generation: the data is there
      return reply;
    }
    auto current = ResolveGeneration(connection, context.epoch);
    if (!current) return core::Fail(current.error());
    if (!*current) continue;  // adopted a newer generation, or rebuilt: run it again
    if (status == "GEN") {
      // The pool belongs to another generation than the published one: only a load in progress
      // does that; never allocate from it.
      reloading_ = true;
      return core::Fail(core::Error::Unavailable("redis pool '" + pool + "' is being reloaded"));
    }
    if (create == redis::CreatePool::kNo) return reply;  // {'NOPOOL'}: the pool does not exist
    may_create = true;
  }
  return core::Fail(core::Error::Unavailable("redis generation keeps changing"));
}

std::optional<std::uint64_t> RedisStore::TakeBlockId() {
  const std::string epoch = Epoch();
  std::lock_guard lock(ids_mu_);
  if (next_id_ != end_id_ && ids_epoch_ == epoch) return next_id_++;
  return std::nullopt;
}

core::Result<std::uint64_t> RedisStore::NextReservationId(RedisConnection& connection) {
  if (auto id = TakeBlockId()) return *id;
  // A new block, fetched without holding ids_mu_: a slow Redis must not queue the other workers
  // behind this one. When two workers refill at once, the later block wins; the other block's
  // unused ids are skipped (ids are unique, not dense).
  //
  // Only from a server checked against the journal since it came back, and in this instance's
  // generation: a server restored from an older snapshot has its counter, which hands out again
  // the blocks taken since. Its script cache is empty (Redis neither persists nor replicates it),
  // and loading a script runs CheckAgainstJournal first, which raises that counter; a rebuild
  // raises it before it publishes its generation. So SCRIPT EXISTS goes first in the round trip:
  // a block from a server without the scripts is dropped, the scripts loaded (checked), and a
  // block taken again; one taken in another generation too, once it is adopted.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string epoch = Epoch();
    auto sha = scripts_.LoadedSha(connection, Script::kAllocate);
    if (!sha) return core::Fail(sha.error());
    auto replies =
        connection.Pipeline({{"SCRIPT", "EXISTS", *sha},
                             {"INCRBY", redis::kReservationIdKey, std::to_string(kIdBlock)},
                             {"GET", redis::kGenerationKey}});
    if (!replies) return core::Fail(replies.error());
    const RedisReply& exists = (*replies)[0];
    const RedisReply& block = (*replies)[1];
    const RedisReply& generation = (*replies)[2];
    if (block.type != RedisReply::Type::kInteger) {
      return core::Fail(core::Error::Internal("INCRBY reservation id: " + block.str));
    }
    if (exists.elements.empty() || exists.elements[0].integer != 1) {
      if (auto reloaded = scripts_.Reload(connection, Script::kAllocate); !reloaded) {
        return core::Fail(reloaded.error());
      }
      continue;
    }
    if (generation.is_nil() || generation.str != epoch) {
      // Adopted (or, lost, rebuilt: then this fails), and the block taken again.
      if (auto current = ResolveGeneration(connection, epoch); !current) {
        return core::Fail(current.error());
      }
      continue;
    }
    std::lock_guard lock(ids_mu_);
    end_id_ = static_cast<std::uint64_t>(block.integer) + 1;
    next_id_ = end_id_ - kIdBlock;
    ids_epoch_ = epoch;
    return next_id_++;
  }
  return core::Fail(core::Error::Unavailable(
      "redis changed servers or generations while reservation ids were taken; try again"));
}

core::Result<std::vector<std::string>> RedisStore::Pools(RedisConnection& connection) {
  for (int attempt = 0;; ++attempt) {
    auto members = connection.Run({"SMEMBERS", redis::kPoolsKey});
    if (!members) return core::Fail(members.error());
    std::vector<std::string> pools;
    for (const RedisReply& member : members->elements) pools.push_back(member.str);
    // No pool at all may mean a Redis that lost its data: check the generation (rebuilding if
    // it is gone) before believing it.
    if (!pools.empty() || attempt > 0) {
      std::sort(pools.begin(), pools.end());
      return pools;
    }
    auto current = ResolveGeneration(connection, Epoch());
    if (!current) return core::Fail(current.error());
    if (*current) return pools;
  }
}

core::Result<std::optional<std::string>> RedisStore::PoolOf(RedisConnection& connection,
                                                            core::PhoneNumber caller_id) {
  for (int attempt = 0;; ++attempt) {
    auto pool = connection.Run({"HGET", redis::kPoolOfKey, caller_id.ToString()});
    if (!pool) return core::Fail(pool.error());
    if (!pool->is_nil()) return std::optional<std::string>(pool->str);
    if (attempt > 0) return std::optional<std::string>();
    // Unknown number, or a Redis that lost its data: the generation tells (and rebuilds).
    auto current = ResolveGeneration(connection, Epoch());
    if (!current) return core::Fail(current.error());
    if (*current) return std::optional<std::string>();
  }
}

bool RedisStore::Flush() {
  // Work still queued for Redis appends to the journal when it runs; a refused append queues
  // an undo: drain, flush, drain.
  pipeline_->Drain();  // its fallbacks go to the executor
  executor_->Drain();
  const bool written = journal_->Flush();
  executor_->Drain();
  return written;
}

}  // namespace cidrotor::store
