// Automatic resting by answer rate, the I/O around core/answer_rate.h: every
// AUTO_REST_CHECK_SECONDS the housekeeping thread calls Check, which reads each number's judged
// calls of the last AUTO_REST_WINDOW_HOURS from the system of record (Store::GetAnswerStats),
// lets the core choose the collapsed numbers within their pools' shares, and rests them for
// AUTO_REST_HOURS, all at once, through Store::UpdateNumber: the same change as an admin's PATCH
// rest_until (so a rest is journaled, shown and overridable like an admin's, and probation follows
// it, core/probation.h), except that it never shortens or moves a rest set in the meantime
// (NumberPatch::rest_unless_resting). Each rest is logged and reported by the `number_rested`
// webhook with `"by":"auto"` and the figures that condemned the number.
//
// Cluster mode: one instance judges per check (Store::ClaimTurn on Redis); the webhook goes out
// from that instance.
//
// Lifetime: Stop() before the store closes; it waits for a check in flight (whose completions call
// the store again) and refuses new ones. Completions hold only the shared state, never `this`.
// Thread-safety: Check and Stop may be called from any thread; completions run on store threads.
// A check that finds the previous one still running skips, unless that one is stale (older than
// three intervals: a completion that never came must not stop the automatic rests for good).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/answer_rate.h"
#include "core/clock.h"
#include "core/number.h"
#include "core/result.h"
#include "store/store.h"

namespace cidrotor::service {

struct AutoRestOptions {
  core::AutoRestRules rules;
  std::chrono::hours window{24};       // AUTO_REST_WINDOW_HOURS
  std::chrono::hours rest{48};         // AUTO_REST_HOURS
  std::chrono::seconds interval{300};  // AUTO_REST_CHECK_SECONDS
};

// Queues a webhook event (notify::WebhookSender behind it); empty: no webhooks.
using SendEvent = std::function<void(std::string_view event, std::string json)>;

using RestedNumbers = core::Result<std::vector<core::NumberView>>;

// What the checks did, for GET /metrics (an operator's sign that the rests are being judged).
struct AutoRestCounters {
  std::atomic<std::uint64_t> judged{0};   // checks that read the answer rates and decided
  std::atomic<std::uint64_t> skipped{0};  // another instance's turn, or the previous check runs
  std::atomic<std::uint64_t> failed{0};   // a store error, or stopping
  std::atomic<std::uint64_t> rested{0};   // numbers rested
};

class AutoRest {
 public:
  AutoRest(store::Store& store, AutoRestOptions options, SendEvent send_event);
  ~AutoRest() { Stop(); }
  AutoRest(const AutoRest&) = delete;
  AutoRest& operator=(const AutoRest&) = delete;

  // One check at `now`; `done` (may be empty) gets the numbers rested by it, or the error that
  // stopped it (kUnavailable also when the previous check still runs, or after Stop). Never
  // blocks.
  void Check(core::TimePoint now, std::function<void(RestedNumbers)> done = {});

  // Refuses further checks and waits (at most `wait`) for the one in flight to finish.
  void Stop(std::chrono::seconds wait = std::chrono::seconds(10));

  std::chrono::seconds interval() const { return options_.interval; }
  const AutoRestCounters& counters() const { return state_->counters; }
  bool enabled() const { return options_.rules.max_share_percent != 0; }

 private:
  // What the completions share with the object: which check runs, and whether to stop.
  struct State {
    std::mutex mu;
    std::condition_variable finished;
    std::uint64_t checks = 0;   // guarded by mu: checks started so far
    std::uint64_t running = 0;  // guarded by mu: the check in flight (its number); 0 = none
    std::chrono::steady_clock::time_point started;  // guarded by mu: when it started
    bool stopping = false;                          // guarded by mu
    AutoRestCounters counters;
  };
  struct Pass;
  static void Judge(std::shared_ptr<Pass> pass, const AutoRestOptions& options);
  static void RestAll(std::shared_ptr<Pass> pass, std::vector<core::AnswerRateDrop> drops,
                      core::CompactTime rest_until);

  store::Store& store_;
  AutoRestOptions options_;
  SendEvent send_event_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace cidrotor::service
