// Direct JSON text building for the hot endpoints (/health, /next-cid, error bodies), which are
// formatted by appending to one string instead of building a Boost.JSON tree. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace cidrotor::http {

// Appends `text` as a JSON string literal, quotes included: escapes `"` and `\`, and control
// characters as \n, \t... or \u00XX. Well-formed UTF-8 is copied as it is; each byte of anything
// else becomes \ufffd, so the answer is valid JSON whatever a client sent.
void AppendJsonString(std::string& out, std::string_view text);

// Appends `"name":` (REQUIRES: name needs no escaping).
void AppendJsonKey(std::string& out, std::string_view name);

void AppendUnsigned(std::string& out, std::uint64_t value);

// Appends an instant as ISO-8601 UTC with seconds precision: 2026-01-02T03:04:05Z.
void AppendIsoTime(std::string& out, core::TimePoint t);
std::string FormatIsoTime(core::TimePoint t);

}  // namespace cidrotor::http
