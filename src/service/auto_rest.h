// Automatic resting by answer rate, the I/O around core/answer_rate.h: every
// AUTO_REST_CHECK_SECONDS the housekeeping thread calls Check, which reads each number's judged
// calls of the last AUTO_REST_WINDOW_HOURS from the system of record (Store::GetAnswerStats),
// lets the core choose the collapsed numbers within their pools' shares, and rests them for
// AUTO_REST_HOURS one after another through Store::UpdateNumber, the same change as an admin's
// PATCH rest_until (so a rest is journaled, shown and overridable like an admin's, and probation
// follows it, core/probation.h). Each rest is logged and reported by the `number_rested` webhook
// with `"by":"auto"` and the figures that condemned the number.
//
// Cluster mode: one instance judges per check (Store::ClaimTurn on Redis); the webhook goes out
// from that instance.
//
// Thread-safety: Check may be called from any thread; completions run on store threads, and the
// state they need is shared with them. A check that finds the previous one still running skips.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
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

class AutoRest {
 public:
  AutoRest(store::Store& store, AutoRestOptions options, SendEvent send_event);

  // One check at `now`; `done` (may be empty) gets the numbers rested by it, or the error that
  // stopped it (kUnavailable also when the previous check still runs). Never blocks.
  void Check(core::TimePoint now,
             std::function<void(core::Result<std::vector<core::NumberView>>)> done = {});

  std::chrono::seconds interval() const { return options_.interval; }
  bool enabled() const { return options_.rules.max_share_percent != 0; }

 private:
  struct Pass;
  static void RestAll(std::shared_ptr<Pass> pass, std::vector<core::AnswerRateDrop> drops,
                      core::CompactTime rest_until);

  store::Store& store_;
  AutoRestOptions options_;
  SendEvent send_event_;
  std::shared_ptr<std::atomic<bool>> running_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace cidrotor::service
