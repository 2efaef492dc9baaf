#include "service/auto_rest.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <utility>

#include "service/number_events.h"
#include "service/number_rows.h"

namespace cidrotor::service {

// One check's state, shared by its completions.
struct AutoRest::Pass {
  store::Store& store;
  SendEvent send_event;
  std::shared_ptr<std::atomic<bool>> running;
  std::function<void(core::Result<std::vector<core::NumberView>>)> done;
  core::TimePoint now;
  std::mutex mu;
  std::size_t pending = 0;               // guarded by mu: rests not yet answered
  std::vector<core::NumberView> rested;  // guarded by mu

  void Finish(core::Result<std::vector<core::NumberView>> result) {
    running->store(false);
    if (done) done(std::move(result));
  }
};

namespace {

// "12.5 %", or "none" for a baseline the number did not have.
std::string Percent(double share) {
  return share < 0 ? std::string("none") : fmt::format("{:.1f} %", share * 100);
}

}  // namespace

AutoRest::AutoRest(store::Store& store, AutoRestOptions options, SendEvent send_event)
    : store_(store), options_(options), send_event_(std::move(send_event)) {}

void AutoRest::Check(core::TimePoint now,
                     std::function<void(core::Result<std::vector<core::NumberView>>)> done) {
  if (running_->exchange(true)) {
    if (done) done(core::Fail(core::Error::Unavailable("the previous check still runs")));
    return;
  }
  auto pass = std::make_shared<Pass>(store_, send_event_, running_, std::move(done), now);
  // The claim lasts a little less than the interval, so the next check can take it again.
  const auto claim =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.interval) * 9 / 10;
  store_.ClaimTurn("auto-rest", claim, [options = options_, pass](core::Result<bool> mine) {
    if (!mine || !*mine) {
      if (!mine) spdlog::warn("auto-rest: no turn this time: {}", mine.error().ToString());
      pass->Finish(
          mine ? core::Result<std::vector<core::NumberView>>(std::vector<core::NumberView>{})
               : core::Fail(mine.error()));
      return;
    }
    const store::AnswerStatsQuery query{pass->now - options.window, pass->now};
    pass->store.GetAnswerStats(query, [options, pass](core::Result<store::AnswerStats> stats) {
      if (!stats) {
        spdlog::warn("auto-rest: no answer rates this time: {}", stats.error().ToString());
        pass->Finish(core::Fail(stats.error()));
        return;
      }
      RestAll(pass,
              core::ChooseNumbersToRest(stats->numbers, stats->pools, options.rules,
                                        core::ToCompact(pass->now)),
              core::ToCompact(pass->now + options.rest));
    });
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
  for (core::AnswerRateDrop& drop : drops) {
    const core::PhoneNumber caller_id = drop.caller_id;
    pass->store.UpdateNumber(
        caller_id, patch, [pass, drop = std::move(drop)](core::Result<core::NumberView> view) {
          if (!view) {
            // Deleted since, or the store is down: the next check judges it again.
            spdlog::warn("auto-rest: {} not rested: {}", drop.caller_id.ToString(),
                         view.error().ToString());
          } else {
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
          if (view) pass->rested.push_back(*view);
          if (--pass->pending != 0) return;
          std::vector<core::NumberView> rested = std::move(pass->rested);
          lock.unlock();
          pass->Finish(std::move(rested));
        });
  }
}

}  // namespace cidrotor::service
