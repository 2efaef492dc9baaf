// What cidrotor sends to Asterisk, and how errors map to the AGI side (STYLE §3: errors map to the
// wire once per protocol; http/error_response.cc is the HTTP twin). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cidrotor::agi {

// CIDROTOR_STATUS when the allocation did not complete within the AGI deadline.
inline constexpr std::string_view kTimeoutStatus = "timeout";
inline constexpr std::string_view kOkStatus = "ok";
// CIDROTOR_STATUS of a lookup that found no call to the inbound caller.
inline constexpr std::string_view kNoMatchStatus = "no_match";

// `SET VARIABLE name "value"\n`. Inside the quotes `"` and `\` are escaped with a backslash;
// control characters (a newline would end the command) are dropped. REQUIRES: `name` has no
// space, quote or control character (ours are constants).
std::string SetVariableCommand(std::string_view name, std::string_view value);

// The value of CIDROTOR_STATUS for an error: its code name ("no_caller_id_available", ...).
std::string_view StatusFor(const core::Error& error);

inline constexpr std::uint16_t kTimeoutLogStatus = 504;

}  // namespace cidrotor::agi
