#include "store/redis/redis_store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <utility>

namespace cidrotor::store {

using redis::RedisConnection;
using redis::RedisReply;
using redis::Script;

namespace {

constexpr std::uint64_t kIdBlock = 64;  // reservation ids taken from Redis at a time

// Journal::Load's rows are not needed when Redis already holds them (Load is still run: it
// creates or migrates the schema, and reports the highest reservation id).
class IgnoreRows final : public LoadSink {
  void OnNumber(const core::NumberSpec&, const core::NumberUsage&) override {}
  void OnLiveReservation(const core::Reservation&) override {}
};

}  // namespace

// --- life cycle ----------------------------------------------------------------------------------

RedisStore::RedisStore(const core::Clock& clock, const core::Calendar& calendar,
                       RedisStoreOptions options, std::unique_ptr<Journal> journal)
    : clock_(clock),
      calendar_(calendar),
      options_(std::move(options)),
      journal_(std::move(journal)),
      executor_(std::make_unique<redis::RedisExecutor>(options_.redis)) {}

RedisStore::~RedisStore() {
  {
    std::lock_guard lock(rebuild_mu_);
    closing_ = true;  // no new rebuild
  }
  if (rebuild_thread_.joinable()) rebuild_thread_.join();
  journal_->Flush();  // undo callbacks still find the executor
  stopping_ = true;
  executor_.reset();  // runs or fails what is queued, joins the workers
  journal_->Flush();
}

core::Result<std::unique_ptr<RedisStore>> RedisStore::Open(const core::Clock& clock,
                                                           const core::Calendar& calendar,
                                                           RedisStoreOptions options,
                                                           std::unique_ptr<Journal> journal) {
  std::unique_ptr<RedisStore> store(
      new RedisStore(clock, calendar, std::move(options), std::move(journal)));
  RedisConnection connection(store->options_.redis.connection);
  auto generation = connection.Run({"GET", redis::kGenerationKey});
  if (!generation) {
    spdlog::warn("redis store: redis unavailable at start ({}); loading it when it is back",
                 generation.error().ToString());
    IgnoreRows ignore;
    auto summary = store->journal_->Load(clock.Now(), ignore);
    if (!summary) return core::Fail(summary.error());
    return store;
  }
  store->redis_up_ = true;
  if (generation->is_nil()) {
    if (auto rebuilt = store->Rebuild(connection); !rebuilt) {
      if (rebuilt.error().code() != core::ErrorCode::kUnavailable)
        return core::Fail(rebuilt.error());
      spdlog::warn("redis store: not loaded yet: {}", rebuilt.error().ToString());
    }
    return store;
  }
  {
    std::lock_guard lock(store->epoch_mu_);
    store->epoch_ = generation->str;
  }
  // Redis already holds the state; the journal's highest id still matters: a Redis restored from
  // an older snapshot must never hand out an id the journal already has.
  IgnoreRows ignore;
  auto summary = store->journal_->Load(clock.Now(), ignore);
  if (!summary) return core::Fail(summary.error());
  if (auto raised = store->RaiseReservationIds(connection, summary->max_reservation_id + 1);
      !raised) {
    spdlog::warn("redis store: {}", raised.error().ToString());
  }
  spdlog::info("redis store: attached generation={}", generation->str);
  return store;
}

// --- plumbing ------------------------------------------------------------------------------------

void RedisStore::StartRebuild() {
  std::lock_guard lock(rebuild_mu_);
  if (rebuilding_ || closing_) return;
  if (rebuild_thread_.joinable()) rebuild_thread_.join();  // the previous one has finished
  rebuilding_ = true;
  spdlog::warn("redis store: generation key missing: redis lost its data, reloading it");
  rebuild_thread_ = std::thread([this] {
    RedisConnection connection(options_.redis.connection);
    if (auto rebuilt = Rebuild(connection); !rebuilt) {
      spdlog::warn("redis store: reload not done: {}", rebuilt.error().ToString());
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
                            std::function<void(core::Error)> fail) {
  redis::RedisExecutor::Task task;
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
    if (script == Script::kUpsert && call_args.size() >= 2) call_args[1] = may_create ? "1" : "0";
    const redis::ScriptContext context = Context(now);
    auto reply = scripts_.Run(connection, redis::PoolCall(script, pool, context, call_args));
    NoteRedis(reply ? core::Result<void>{} : core::Result<void>(core::Fail(reply.error())));
    if (!reply) return reply;
    const std::string_view status = reply->Status();
    if (status != "NOPOOL" && status != "GEN") return reply;
    auto current = ResolveGeneration(connection, context.epoch);
    if (!current) return core::Fail(current.error());
    if (!*current) continue;  // adopted a newer generation, or rebuilt: run it again
    if (status == "GEN") {
      // The pool belongs to another generation than the published one: only a load in progress
      // does that; never allocate from it.
      return core::Fail(core::Error::Unavailable("redis pool '" + pool + "' is being reloaded"));
    }
    if (create == redis::CreatePool::kNo) return reply;  // {'NOPOOL'}: the pool does not exist
    may_create = true;
  }
  return core::Fail(core::Error::Unavailable("redis generation keeps changing"));
}

core::Result<std::uint64_t> RedisStore::NextReservationId(RedisConnection& connection) {
  const std::string epoch = Epoch();
  {
    std::lock_guard lock(ids_mu_);
    if (next_id_ != end_id_ && ids_epoch_ == epoch) return next_id_++;
  }
  // A new block, fetched without holding ids_mu_: a slow Redis must not queue the other workers
  // behind this one. When two workers refill at once, the later block wins; the other block's
  // unused ids are skipped (ids are unique, not dense).
  auto block = connection.Run({"INCRBY", redis::kReservationIdKey, std::to_string(kIdBlock)});
  if (!block) return core::Fail(block.error());
  if (block->type != RedisReply::Type::kInteger) {
    return core::Fail(core::Error::Internal("INCRBY reservation id: " + block->str));
  }
  std::lock_guard lock(ids_mu_);
  end_id_ = static_cast<std::uint64_t>(block->integer) + 1;
  next_id_ = end_id_ - kIdBlock;
  ids_epoch_ = epoch;
  return next_id_++;
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

// --- allocation ----------------------------------------------------------------------------------

void RedisStore::Allocate(core::AllocationRequest request, Callback<core::Allocation> on_done) {
  Submit<core::Allocation>(std::move(on_done), [this, request = std::move(request)](
                                                   RedisConnection& connection, auto& done) {
    const core::TimePoint now = clock_.Now();
    const std::string pool = request.pool.empty() ? std::string(core::kDefaultPool) : request.pool;
    auto id = NextReservationId(connection);
    if (!id) {
      NoteRedis(core::Fail(id.error()));
      done(core::Fail(id.error()));
      return;
    }
    const core::CompactTime until =
        redis::CeilCompact(now + request.ttl.value_or(options_.index.default_ttl));
    auto reply = RunPoolScript(
        connection, Script::kAllocate, pool, now,
        {request.destination.IsGeographic() ? "1" : "0", request.destination.ToString(),
         std::to_string(*id), std::to_string(until), request.agent,
         std::to_string(options_.rate_limit_per_agent), request.campaign,
         request.lead_id ? std::to_string(*request.lead_id) : std::string()});
    if (!reply) {
      done(core::Fail(reply.error()));
      return;
    }
    const std::string_view status = reply->Status();
    if (status == "NONE" || status == "NOPOOL") {
      ++no_caller_id_;
      done(core::Fail(core::Error::NoCallerIdAvailable(
          "no caller-ID available in pool '" + pool + "' for area code " +
          std::to_string(request.destination.area_code()))));
      return;
    }
    if (status == "RATE") {
      done(core::Fail(core::Error::RateLimited("agent " + request.agent + " exceeded " +
                                                   std::to_string(options_.rate_limit_per_agent) +
                                                   " allocations per minute",
                                               static_cast<std::uint32_t>(reply->Int(1)))));
      return;
    }
    if (status != "OK") {
      spdlog::error("allocate: redis script answered {} {}", status, reply->Text(1));
      done(core::Fail(core::Error::Internal("number " + reply->Text(1) +
                                            " was in the available order but is not available")));
      return;
    }
    core::Allocation allocation;
    core::Reservation& r = allocation.reservation;
    r.id = *id;
    r.caller_id = core::PhoneNumber::FromValidDigits(static_cast<std::uint64_t>(reply->Int(1)));
    r.destination = request.destination;
    r.campaign = request.campaign;
    r.agent = request.agent;
    r.pool = pool;
    r.lead_id = request.lead_id;
    r.match = redis::TierFromWire(reply->Int(2));
    r.reserved_at = now;
    r.reserved_until = core::FromCompact(until);
    allocation.carrier = reply->Text(3);
    core::NumberUsage usage;
    usage.last_used = static_cast<core::CompactTime>(reply->Int(4));
    usage.hour_start = static_cast<core::CompactTime>(reply->Int(5));
    usage.day_start = static_cast<core::CompactTime>(reply->Int(6));
    usage.hourly_used = static_cast<std::uint16_t>(reply->Int(7));
    usage.daily_used = static_cast<std::uint16_t>(reply->Int(8));
    ++allocations_;
    std::vector<JournalEntry> entries;
    entries.push_back(ReservationMade{r, usage});
    journal_->Append(
        std::move(entries), [this, allocation = std::move(allocation),
                             done = std::move(done)](core::Result<void> durable) mutable {
          if (durable) {
            done(std::move(allocation));
            return;
          }
          spdlog::error("store: allocation not durable, undone: {}", durable.error().ToString());
          UndoAllocation(allocation.reservation, durable.error(), std::move(done));
        });
  });
}

// Ends the reservation in Redis (no journal entry: the journal never had it), then answers
// kUnavailable, so an immediate retry finds the number available again.
void RedisStore::UndoAllocation(const core::Reservation& reservation, core::Error error,
                                Callback<core::Allocation> on_done) {
  UndoThenFail<core::Allocation>(
      [this, reservation](RedisConnection& worker) {
        auto undone =
            RunPoolScript(worker, Script::kRelease, reservation.pool, clock_.Now(),
                          {std::to_string(reservation.id), reservation.caller_id.ToString()});
        if (!undone) {
          spdlog::error("store: undo of reservation {} failed ({}); it ends by its TTL",
                        reservation.id, undone.error().ToString());
        }
      },
      core::Error::Unavailable("allocation not recorded: " + error.detail()), std::move(on_done));
}

void RedisStore::Release(core::ReleaseRequest request, Callback<core::ReleaseResult> on_done) {
  if (!request.reservation_id && !request.caller_id) {
    on_done(core::Fail(
        core::Error::InvalidArgument("reservation_id", "give reservation_id or caller_id")));
    return;
  }
  Submit<core::ReleaseResult>(
      std::move(on_done), [this, request](RedisConnection& connection, auto& done) {
        auto result = ReleaseOnWorker(connection, request, clock_.Now());
        if (result && result->released) {
          ++releases_;
          std::vector<JournalEntry> entries;
          entries.push_back(ReservationReleased{result->reservation->id, clock_.Now(),
                                                request.outcome, request.duration_seconds});
          // Answered without waiting for the commit, as the embedded store does: a lost release
          // only lets the reservation run to its TTL.
          journal_->Append(std::move(entries), [](core::Result<void> durable) {
            if (!durable)
              spdlog::warn("store: release not recorded: {}", durable.error().ToString());
          });
        }
        done(std::move(result));
      });
}

core::Result<core::ReleaseResult> RedisStore::ReleaseOnWorker(RedisConnection& connection,
                                                              const core::ReleaseRequest& request,
                                                              core::TimePoint now) {
  const std::vector<std::string> args = {
      request.reservation_id ? std::to_string(*request.reservation_id) : std::string(),
      request.caller_id ? request.caller_id->ToString() : std::string()};
  // Runs the release script on each of `pools` until one ends the reservation.
  const auto try_pools = [&](const std::vector<std::string>& pools)
      -> core::Result<std::optional<core::ReleaseResult>> {
    for (const std::string& pool : pools) {
      auto reply = RunPoolScript(connection, Script::kRelease, pool, now, args);
      if (!reply) return core::Fail(reply.error());
      if (reply->Status() == "NOTFOUND") {
        return core::Fail(
            core::Error::NotFound("no caller_id " + request.caller_id->ToString(), "caller_id"));
      }
      if (reply->Status() != "OK") continue;
      core::ReleaseResult result;
      result.released = true;
      result.reservation = redis::ReservationFromReply(*reply, 1, pool);
      return std::optional<core::ReleaseResult>(std::move(result));
    }
    return std::optional<core::ReleaseResult>();
  };

  if (request.caller_id) {
    auto pool = PoolOf(connection, *request.caller_id);
    if (!pool) return core::Fail(pool.error());
    if (!*pool) {
      if (request.reservation_id) return core::ReleaseResult{};
      return core::Fail(
          core::Error::NotFound("no caller_id " + request.caller_id->ToString(), "caller_id"));
    }
    auto released = try_pools({**pool});
    if (!released) return core::Fail(released.error());
    return released->value_or(core::ReleaseResult{});
  }
  // A reservation id names no pool: try the pools this instance knows (saving a round trip),
  // then any pool created since.
  std::vector<std::string> known;
  {
    std::lock_guard lock(pools_mu_);
    known = known_pools_;
  }
  if (!known.empty()) {
    auto released = try_pools(known);
    if (!released) return core::Fail(released.error());
    if (*released) return std::move(**released);
  }
  auto all = Pools(connection);
  if (!all) return core::Fail(all.error());
  std::vector<std::string> fresh;
  std::set_difference(all->begin(), all->end(), known.begin(), known.end(),
                      std::back_inserter(fresh));
  {
    std::lock_guard lock(pools_mu_);
    known_pools_ = *all;
  }
  auto released = try_pools(fresh);
  if (!released) return core::Fail(released.error());
  return released->value_or(core::ReleaseResult{});
}

void RedisStore::Flush() {
  // Work still queued for Redis appends to the journal when it runs; a refused append queues
  // an undo: drain, flush, drain.
  executor_->Drain();
  journal_->Flush();
  executor_->Drain();
}

}  // namespace cidrotor::store
