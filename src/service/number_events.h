// Webhook events about one number (SPEC "Administration": a webhook "when a number is rested").
// The availability events are service/availability_watch.h's; both are JSON texts for
// notify::WebhookSender, built here without I/O.
#pragma once

#include <string>
#include <string_view>

#include "core/answer_rate.h"
#include "core/clock.h"
#include "core/number.h"

namespace cidrotor::service {

inline constexpr std::string_view kNumberRestedEvent = "number_rested";

// {"event":"number_rested","caller_id":"2125551001","area_code":"212","pool":"east",
//  "rest_until":"2026-11-28T09:00:00Z","by":"admin","at":"2026-11-26T09:30:00Z"}: `number` has
// just been rested (its usage.rest_until is ahead) by `by` ("admin" or "auto") at `at`. An
// automatic rest adds why (`drop`): "calls":40,"answered":2,"answer_rate":0.05,
// "area_code_answer_rate":0.3,"pool_answer_rate":0.28 (a baseline it had none of is null).
std::string NumberRestedJson(const core::NumberView& number, std::string_view by,
                             core::TimePoint at, const core::AnswerRateDrop* drop = nullptr);

// Appends `text` as the inside of a JSON string: `"` and `\` escaped, control characters as \u.
void AppendJsonEscaped(std::string& out, std::string_view text);

}  // namespace cidrotor::service
