// RedisStore::Allocate and RedisStore::Release (store/redis/redis_store.h): the hot path.
//
// Each goes the fast way when it can: one EVALSHA through the pipeline (redis_pipeline.h), no
// worker thread. That needs a reservation id left in the block already fetched and the script
// already loaded, and, for a release by id, a single known pool. Everything else goes the worker
// way (RedisExecutor, RunPoolScript), which handles every case: an id block to fetch, a script
// to load (NOSCRIPT), a generation to resolve (NOPOOL, GEN), a reservation in another pool. A
// fast call whose reply asks for one of those changed nothing in Redis, so it is simply run
// again the worker way.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iterator>
#include <string>
#include <thread>
#include <utility>

#include "core/area_code_states.h"
#include "store/redis/redis_store.h"

namespace cidrotor::store {

using redis::RedisConnection;
using redis::RedisReply;
using redis::Script;
using redis::ScriptRunner;

namespace {

// The statuses after which the worker way must run the call (nothing was changed).
bool NeedsWorker(const RedisReply& reply) {
  if (ScriptRunner::IsNoScript(reply)) return true;
  const std::string_view status = reply.Status();
  return status == "NOPOOL" || status == "GEN";
}

}  // namespace

core::Result<RedisReply> RedisStore::CheckPipelined(core::Result<RedisReply> reply) {
  auto checked = reply ? ScriptRunner::Checked(std::move(*reply))
                       : core::Result<RedisReply>(core::Fail(reply.error()));
  NoteRedis(checked ? core::Result<void>{} : core::Result<void>(core::Fail(checked.error())));
  return checked;
}

// --- allocation ----------------------------------------------------------------------------------

std::vector<std::string> RedisStore::AllocateArgs(const core::AllocationRequest& request,
                                                  std::uint64_t id, core::CompactTime until) const {
  std::vector<std::string> args = {request.destination.IsGeographic() ? "1" : "0",
                                   request.destination.ToString(),
                                   std::to_string(id),
                                   std::to_string(until),
                                   request.agent,
                                   std::to_string(options_.rate_limit_per_agent),
                                   request.campaign,
                                   request.lead_id ? std::to_string(*request.lead_id) : "",
                                   request.any_tier ? "1" : "0",
                                   std::to_string(options_.index.sticky.count())};
  // The state tier's area codes, as one argument: every request pays for one, not for dozens.
  std::string state;
  const std::uint32_t npa = request.destination.area_code();
  if (request.destination.IsGeographic()) {
    for (const std::uint16_t other : core::AreaCodesOfState(npa)) {
      if (other == npa) continue;
      if (!state.empty()) state += ',';
      state += std::to_string(other);
    }
  }
  args.push_back(std::move(state));
  args.push_back(AllocateDeadline());
  return args;
}

namespace {
// This host's monotonic milliseconds: a wall clock stepped here (NTP, a VM resumed) must not move
// the deadlines (a step back would make every call LATE until the next measurement).
std::int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

std::string RedisStore::AllocateDeadline() const {
  if (!redis_clock_known_.load()) return "";
  // Three quarters of the reply timeout: a script that runs by then answers in time.
  const std::int64_t allowance = options_.redis.connection.command_timeout.count() * 3 / 4;
  return std::to_string(SteadyMs() + redis_clock_offset_ms_.load() + allowance);
}

void RedisStore::MeasureRedisClock(RedisConnection& connection) {
  const std::int64_t sent = SteadyMs();
  auto time = connection.Run({"TIME"});
  const std::int64_t answered = SteadyMs();
  if (!time || time->elements.size() != 2 || answered - sent > 20) return;
  const std::int64_t redis_ms =
      std::stoll(time->elements[0].str) * 1000 + std::stoll(time->elements[1].str) / 1000;
  redis_clock_offset_ms_.store(redis_ms - (sent + answered) / 2);
  redis_clock_known_.store(true);
}

void RedisStore::Allocate(core::AllocationRequest request, Callback<core::Allocation> on_done) {
  if (!settings_loaded_.load()) {  // the worker reads the table first
    AllocateViaWorker(std::move(request), std::move(on_done));
    return;
  }
  const core::TimePoint now = clock_.Now();
  const std::string pool = PoolOfCampaign(request.campaign);
  request.any_tier = FallbackIsAny(pool_fallbacks_.Lookup(pool));
  const std::optional<std::uint64_t> id = TakeBlockId();
  const core::CompactTime until =
      redis::CeilCompact(now + request.ttl.value_or(options_.index.default_ttl));
  std::optional<redis::Command> call;
  if (id) {
    call = scripts_.LoadedCall(
        redis::PoolCall(Script::kAllocate, pool, Context(now), AllocateArgs(request, *id, until)));
  }
  if (!call) {
    AllocateViaWorker(std::move(request), std::move(on_done));
    return;
  }
  pipeline_->Run(*call, [this, request = std::move(request), on_done = std::move(on_done), pool,
                         id = *id, now, until](core::Result<RedisReply> reply) mutable {
    if (reply && NeedsWorker(*reply)) {
      AllocateViaWorker(std::move(request), std::move(on_done));  // with a new id: this one is
      return;                                                     // skipped (ids are not dense)
    }
    auto checked = CheckPipelined(std::move(reply));
    if (!checked) {
      on_done(core::Fail(checked.error()));
      return;
    }
    FinishAllocation(*checked, request, pool, id, now, until, std::move(on_done));
  });
}

void RedisStore::AllocateViaWorker(core::AllocationRequest request,
                                   Callback<core::Allocation> on_done) {
  Submit<core::Allocation>(std::move(on_done), [this, request = std::move(request)](
                                                   RedisConnection& connection, auto& done) {
    if (!settings_loaded_.load()) {
      if (auto loaded = LoadSettings(connection); !loaded) {
        NoteRedis(core::Fail(loaded.error()));
        done(core::Fail(loaded.error()));
        return;
      }
    }
    const core::TimePoint now = clock_.Now();
    const std::string pool = PoolOfCampaign(request.campaign);
    core::AllocationRequest with_fallback = request;
    with_fallback.any_tier = FallbackIsAny(pool_fallbacks_.Lookup(pool));
    auto id = NextReservationId(connection);
    if (!id) {
      NoteRedis(core::Fail(id.error()));
      done(core::Fail(id.error()));
      return;
    }
    const core::CompactTime until =
        redis::CeilCompact(now + request.ttl.value_or(options_.index.default_ttl));
    auto reply = RunPoolScript(connection, Script::kAllocate, pool, now,
                               AllocateArgs(with_fallback, *id, until));
    if (!reply) {
      done(core::Fail(reply.error()));
      return;
    }
    FinishAllocation(*reply, request, pool, *id, now, until, std::move(done));
  });
}

void RedisStore::FinishAllocation(const RedisReply& reply, const core::AllocationRequest& request,
                                  const std::string& pool, std::uint64_t id, core::TimePoint now,
                                  core::CompactTime until, Callback<core::Allocation> done) {
  const std::string_view status = reply.Status();
  if (status == "NONE" || status == "NOPOOL") {
    ++no_caller_id_;
    done(core::Fail(core::Error::NoCallerIdAvailable(
        "no caller-ID available in pool '" + pool + "' for area code " +
        std::to_string(request.destination.area_code()))));
    return;
  }
  if (status == "LATE") {  // its caller had given up (the reply most likely comes to no one)
    // Several in a row while answers do come: Redis's clock moved (a step on its host), so the
    // deadlines go until the next measurement rather than refuse every call.
    if (late_in_a_row_.fetch_add(1) + 1 >= kLateBeforeRemeasure) redis_clock_known_.store(false);
    done(core::Fail(core::Error::Unavailable("redis ran the allocation after its deadline")));
    return;
  }
  late_in_a_row_.store(0);
  if (status == "RATE") {
    done(core::Fail(core::Error::RateLimited("agent " + request.agent + " exceeded " +
                                                 std::to_string(options_.rate_limit_per_agent) +
                                                 " allocations per minute",
                                             static_cast<std::uint32_t>(reply.Int(1)))));
    return;
  }
  if (status != "OK") {
    spdlog::error("allocate: redis script answered {} {}", status, reply.Text(1));
    done(core::Fail(core::Error::Internal("number " + reply.Text(1) +
                                          " was in the available order but is not available")));
    return;
  }
  core::Allocation allocation;
  core::Reservation& r = allocation.reservation;
  r.id = id;
  r.caller_id = core::PhoneNumber::FromValidDigits(static_cast<std::uint64_t>(reply.Int(1)));
  r.destination = request.destination;
  r.campaign = request.campaign;
  r.agent = request.agent;
  r.pool = pool;
  r.lead_id = request.lead_id;
  r.match = redis::TierFromWire(reply.Int(2));
  r.reserved_at = now;
  r.reserved_until = core::FromCompact(until);
  allocation.carrier = reply.Text(3);
  core::NumberUsage usage;
  usage.last_used = static_cast<core::CompactTime>(reply.Int(4));
  usage.hour_start = static_cast<core::CompactTime>(reply.Int(5));
  usage.day_start = static_cast<core::CompactTime>(reply.Int(6));
  usage.hourly_used = static_cast<std::uint16_t>(reply.Int(7));
  usage.daily_used = static_cast<std::uint16_t>(reply.Int(8));
  usage.warm_from = static_cast<core::CompactTime>(reply.Int(10));   // unchanged, for the journal
  usage.rest_until = static_cast<core::CompactTime>(reply.Int(11));  // likewise
  usage.last_used_ms = static_cast<std::uint16_t>(reply.Int(12));
  // The number's reservation before this one, in Redis's order of every instance's allocations
  // (0: none known, e.g. the number's first: the journal then takes the number's newest).
  const auto previous_id = static_cast<std::uint64_t>(reply.Int(9));
  ++allocations_;
  std::vector<JournalEntry> entries;
  entries.push_back(ReservationMade{r, usage, previous_id});
  journal_->Append(
      std::move(entries), [this, allocation = std::move(allocation), previous_id,
                           done = std::move(done)](core::Result<void> durable) mutable {
        if (durable) {
          done(std::move(allocation));
          return;
        }
        spdlog::error("store: allocation not durable, undone: {}", durable.error().ToString());
        UndoAllocation(allocation.reservation, previous_id, durable.error(), std::move(done));
      });
}

// Ends the reservation in Redis (no journal entry: the journal never had it), and makes
// `previous_id` the number's newest reservation again (release.lua), so the next one does not
// link to a reservation the journal never had; then answers kUnavailable, so an immediate retry
// finds the number available again.
void RedisStore::UndoAllocation(const core::Reservation& reservation, std::uint64_t previous_id,
                                core::Error error, Callback<core::Allocation> on_done) {
  UndoThenFail<core::Allocation>(
      [this, reservation, previous_id](RedisConnection& worker) {
        auto undone =
            RunPoolScript(worker, Script::kRelease, reservation.pool, clock_.Now(),
                          {std::to_string(reservation.id), reservation.caller_id.ToString(),
                           std::to_string(previous_id)});
        if (!undone) {
          spdlog::error("store: undo of reservation {} failed ({}); it ends by its TTL",
                        reservation.id, undone.error().ToString());
        }
      },
      core::Error::Unavailable("allocation not recorded: " + error.detail()), std::move(on_done));
}

// --- release -------------------------------------------------------------------------------------

std::vector<std::string> RedisStore::ReleaseArgs(const core::ReleaseRequest& request) {
  return {request.reservation_id ? std::to_string(*request.reservation_id) : std::string(),
          request.caller_id ? request.caller_id->ToString() : std::string()};
}

void RedisStore::Release(core::ReleaseRequest request, Callback<core::ReleaseResult> on_done) {
  if (!request.reservation_id && !request.caller_id) {
    on_done(core::Fail(
        core::Error::InvalidArgument("reservation_id", "give reservation_id or caller_id")));
    return;
  }
  std::optional<std::string> pool;
  if (request.reservation_id && !request.caller_id) {
    std::lock_guard lock(pools_mu_);
    if (known_pools_.size() == 1) pool = known_pools_.front();
  }
  std::optional<redis::Command> call;
  const core::TimePoint now = clock_.Now();
  if (pool) {
    call = scripts_.LoadedCall(
        redis::PoolCall(Script::kRelease, *pool, Context(now), ReleaseArgs(request)));
  }
  if (!call) {
    ReleaseViaWorker(std::move(request), std::move(on_done));
    return;
  }
  pipeline_->Run(*call, [this, request = std::move(request), on_done = std::move(on_done),
                         pool = *pool, now](core::Result<RedisReply> reply) mutable {
    // Anything but a release done (already ended, or maybe in a pool created since) is decided
    // the worker way, which also looks at the other pools.
    if (reply && (NeedsWorker(*reply) || (!reply->is_error() && reply->Status() != "OK"))) {
      ReleaseViaWorker(std::move(request), std::move(on_done));
      return;
    }
    auto checked = CheckPipelined(std::move(reply));
    if (!checked) {
      on_done(core::Fail(checked.error()));
      return;
    }
    core::ReleaseResult result;
    result.released = true;
    result.reservation = redis::ReservationFromReply(*checked, 1, pool);
    on_done(FinishRelease(std::move(result), request, now));
  });
}

void RedisStore::ReleaseViaWorker(core::ReleaseRequest request,
                                  Callback<core::ReleaseResult> on_done) {
  Submit<core::ReleaseResult>(std::move(on_done),
                              [this, request](RedisConnection& connection, auto& done) {
                                const core::TimePoint now = clock_.Now();
                                auto result = ReleaseOnWorker(connection, request, now);
                                if (!result) {
                                  done(std::move(result));
                                  return;
                                }
                                done(FinishRelease(std::move(*result), request, now));
                              });
}

core::Result<core::ReleaseResult> RedisStore::FinishRelease(core::ReleaseResult result,
                                                            const core::ReleaseRequest& request,
                                                            core::TimePoint now) {
  auto record = ReleaseRecord(result, request, now);
  if (!record) return result;
  if (result.released) ++releases_;
  std::vector<JournalEntry> entries;
  entries.push_back(std::move(*record));
  // Answered without waiting for the commit, as the embedded store does: a lost release only
  // lets the reservation run to its TTL.
  journal_->Append(std::move(entries), [](core::Result<void> durable) {
    if (!durable) spdlog::warn("store: release not recorded: {}", durable.error().ToString());
  });
  return result;
}

core::Result<core::ReleaseResult> RedisStore::ReleaseOnWorker(RedisConnection& connection,
                                                              const core::ReleaseRequest& request,
                                                              core::TimePoint now) {
  // A move of the call's number to another pool (a PATCH, an import) takes it, with its call's
  // reservation, out of the old pool's keys and then puts it into the new one's: a release that
  // looked in between ended nothing, and the call stayed reserved until its TTL (a review). So a
  // release that ends nothing looks again when a move began or ended while it looked (kMovesKey)
  // or is under way (kMovingKey: waiting for it to end), for up to kMoveMark.
  const auto moves_counted = [&]() -> core::Result<long long> {
    auto count = connection.Run({"GET", redis::kMovesKey});
    if (!count) return core::Fail(count.error());
    return count->is_nil() ? 0LL : std::atoll(count->str.c_str());
  };
  std::string unlapsed = "(";  // marks that lapse after now
  unlapsed += std::to_string(now.time_since_epoch().count());
  auto before = moves_counted();
  if (!before) return core::Fail(before.error());
  auto result = SearchRelease(connection, request, now);
  const auto give_up = std::chrono::steady_clock::now() + kMoveMark;
  while (result && !result->released && std::chrono::steady_clock::now() < give_up) {
    // The marks first, then the count: a move ends by counting, then unmarking.
    auto moving = connection.Run({"ZCOUNT", redis::kMovingKey, unlapsed, "+inf"});
    if (!moving) return core::Fail(moving.error());
    auto after = moves_counted();
    if (!after) return core::Fail(after.error());
    if (*after == *before && moving->integer == 0) break;
    if (moving->integer > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    before = after;
    result = SearchRelease(connection, request, now);
  }
  return result;
}

core::Result<core::ReleaseResult> RedisStore::SearchRelease(RedisConnection& connection,
                                                            const core::ReleaseRequest& request,
                                                            core::TimePoint now) {
  const std::vector<std::string> args = ReleaseArgs(request);
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

}  // namespace cidrotor::store
