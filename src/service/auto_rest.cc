#include "service/auto_rest.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <utility>

#include "service/number_events.h"
#include "service/number_rows.h"

namespace cidrotor::service {

// One check's state, shared by its completions.
struct AutoRest::Pass {
  store::Store& store;
  SendEvent send_event;
  std::shared_ptr<State> state;
  std::uint64_t check = 0;  // its number in State::checks
  std::function<void(RestedNumbers)> done;
  core::TimePoint now;
  std::mutex mu;
  std::size_t pending = 0;               // guarded by mu: rests not yet answered
  std::vector<core::NumberView> rested;  // guarded by mu

  // Whether Stop was called: nothing more is asked of the store then.
  bool Stopping() {
    std::lock_guard lock(state->mu);
    return state->stopping;
  }

  // Ends the check; `judged`: it read the answer rates (else another instance's turn).
  void Finish(RestedNumbers result, bool judged = true) {
    AutoRestCounters& counters = state->counters;
    if (!result) {
      ++counters.failed;
    } else if (!judged) {
      ++counters.skipped;
    } else {
      ++counters.judged;
      counters.rested += result->size();
    }
    {
      std::lock_guard lock(state->mu);
      if (state->running == check) state->running = 0;  // not when a newer check took over
    }
    state->finished.notify_all();
    if (done) done(std::move(result));
  }
};

namespace {

// "12.5 %", or "none" for a baseline the number did not have.
std::string Percent(double share) {
  return share < 0 ? std::string("none") : fmt::format("{:.1f} %", share * 100);
}

core::Error Stopped() { return core::Error::Unavailable("automatic rests are stopping"); }

}  // namespace

AutoRest::AutoRest(store::Store& store, AutoRestOptions options, SendEvent send_event)
    : store_(store), options_(options), send_event_(std::move(send_event)) {}

void AutoRest::Check(core::TimePoint now, std::function<void(RestedNumbers)> done) {
  std::uint64_t check = 0;
  std::optional<core::Error> refused;
  bool stopped = false;
  {
    std::lock_guard lock(state_->mu);
    const auto age = std::chrono::steady_clock::now() - state_->started;
    if (state_->stopping) {
      stopped = true;
      refused = Stopped();
    } else if (state_->running != 0 && age < 3 * options_.interval) {
      spdlog::warn("auto-rest: the previous check still runs; this one is skipped");
      refused = core::Error::Unavailable("the previous check still runs");
    } else {
      if (state_->running != 0) {
        spdlog::error("auto-rest: check {} never finished; starting another", state_->running);
      }
      check = state_->running = ++state_->checks;
      state_->started = std::chrono::steady_clock::now();
    }
  }
  if (refused) {
    ++(stopped ? state_->counters.failed : state_->counters.skipped);
    if (done) done(core::Fail(*refused));
    return;
  }
  auto pass = std::make_shared<Pass>(store_, send_event_, state_, check, std::move(done), now);
  // The claim lasts a little less than the interval, so the next check can take it again.
  const auto claim =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.interval) * 9 / 10;
  store_.ClaimTurn("auto-rest", claim, [options = options_, pass](core::Result<bool> mine) {
    if (!mine) spdlog::warn("auto-rest: no turn this time: {}", mine.error().ToString());
    if (!mine || !*mine) {
      pass->Finish(mine ? RestedNumbers(std::vector<core::NumberView>{})
                        : RestedNumbers(core::Fail(mine.error())),
                   /*judged=*/false);
      return;
    }
    Judge(pass, options);
  });
}

void AutoRest::Judge(std::shared_ptr<Pass> pass, const AutoRestOptions& options) {
  if (pass->Stopping()) {
    pass->Finish(core::Fail(Stopped()));
    return;
  }
  const store::AnswerStatsQuery query{pass->now - options.window, pass->now};
  pass->store.GetAnswerStats(query, [options, pass](core::Result<store::AnswerStats> stats) {
    if (!stats) {
      spdlog::warn("auto-rest: no answer rates this time: {}", stats.error().ToString());
      pass->Finish(core::Fail(stats.error()));
      return;
    }
    if (pass->Stopping()) {  // the store may be closing: ask nothing more of it
      pass->Finish(core::Fail(Stopped()));
      return;
    }
    RestAll(pass,
            core::ChooseNumbersToRest(stats->numbers, stats->pools, options.rules,
                                      core::ToCompact(pass->now)),
            core::ToCompact(pass->now + options.rest));
  });
}

// Rests the chosen numbers, all at once: each is a journaled change like an admin's PATCH, and
// the group commit writes them together.
void AutoRest::RestAll(std::shared_ptr<Pass> pass, std::vector<core::AnswerRateDrop> drops,
                       core::CompactTime rest_until) {
  if (drops.empty()) {
    pass->Finish(std::vector<core::NumberView>{});
    return;
  }
  pass->pending = drops.size();
  core::NumberPatch patch;
  patch.rest_until = rest_until;
  patch.rest_unless_resting = true;  // an admin's rest set since the stats were read stays
  for (core::AnswerRateDrop& drop : drops) {
    const core::PhoneNumber caller_id = drop.caller_id;
    pass->store.UpdateNumber(
        caller_id, patch,
        [pass, drop = std::move(drop), rest_until](core::Result<core::NumberView> view) {
          const bool rested = view && view->usage.rest_until == rest_until;
          if (!view) {
            // Deleted since, or the store is down: the next check judges it again.
            spdlog::warn("auto-rest: {} not rested: {}", drop.caller_id.ToString(),
                         view.error().ToString());
          } else if (rested) {
            spdlog::warn(
                "auto-rest: {} (pool {}) rested until {}: answered {} of {} calls ({}), its area "
                "code {}, its pool {}",
                drop.caller_id.ToString(), drop.pool, FormatIsoUtc(view->usage.rest_until),
                drop.answered, drop.calls, Percent(drop.rate), Percent(drop.area_code_baseline),
                Percent(drop.pool_baseline));
            if (pass->send_event) {
              pass->send_event(kNumberRestedEvent,
                               NumberRestedJson(*view, "auto", pass->now, &drop));
            }
          }
          std::unique_lock lock(pass->mu);
          if (rested) pass->rested.push_back(*view);
          if (--pass->pending != 0) return;
          std::vector<core::NumberView> all = std::move(pass->rested);
          lock.unlock();
          pass->Finish(std::move(all));
        });
  }
}

void AutoRest::Stop(std::chrono::seconds wait) {
  std::unique_lock lock(state_->mu);
  state_->stopping = true;
  if (!state_->finished.wait_for(lock, wait, [this] { return state_->running == 0; })) {
    spdlog::error("auto-rest: check {} still runs at shutdown", state_->running);
  }
}

}  // namespace cidrotor::service
