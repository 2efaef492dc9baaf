// Field-level parsers shared by the request parsers (requests.h) and any transport that needs one
// field on its own (FastAGI arguments). Each takes the text of one parameter and the field name
// to blame, and returns the typed value or kInvalidArgument naming that field. Pure functions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/result.h"
#include "service/params.h"

namespace cidrotor::service {

inline constexpr std::size_t kMaxLabelLength = 64;  // agent, campaign, pool, carrier

// A decimal whole number in [min, max]: digits only (no sign, no spaces, no fraction), leading
// zeros allowed. Errors: "must be a whole number from MIN to MAX".
[[nodiscard]] core::Result<std::uint64_t> ParseWholeNumber(std::string_view text,
                                                           std::string_view field,
                                                           std::uint64_t min, std::uint64_t max);

// `text` without the blanks (spaces, tabs, CR, LF) at either end: a dialplan variable's value
// may end in the newline of the command that produced it.
std::string_view TrimBlanks(std::string_view text);
// `text` without the blanks at its end only.
std::string_view TrimBlanksAtEnd(std::string_view text);

// 1/0, true/false, yes/no, y/n, on/off, case-insensitive. Errors: "must be true or false".
[[nodiscard]] core::Result<bool> ParseBool(std::string_view text, std::string_view field);

// An agent or campaign name as the dialer has it ("John Smith", "café", "SALES 01"): UTF-8 text
// of 1..64 bytes without control characters, spaces at either end taken off. Errors: "is blank",
// too long, a control character, not UTF-8.
[[nodiscard]] core::Result<std::string> ParseAgentOrCampaign(std::string_view text,
                                                             std::string_view field);

// A pool name: 1..64 characters of [A-Za-z0-9_.-].
[[nodiscard]] core::Result<std::string> ParsePoolName(std::string_view text,
                                                      std::string_view field = "pool");

// A carrier name: free UTF-8 text of at most 64 bytes without control characters, spaces at
// either end taken off.
[[nodiscard]] core::Result<std::string> ParseCarrier(std::string_view text,
                                                     std::string_view field = "carrier");

// A two-letter state or province code, returned upper-cased ("ca" -> "CA").
[[nodiscard]] core::Result<std::string> ParseStateCode(std::string_view text,
                                                       std::string_view field = "state");

// A valid NANP area code written as exactly 3 digits ([2-9]XX, not N11).
[[nodiscard]] core::Result<std::uint32_t> ParseAreaCode(std::string_view text,
                                                        std::string_view field = "area_code");

// A cap (hourly_limit, daily_limit): a whole number 1..65,535.
[[nodiscard]] core::Result<std::uint16_t> ParseCap(std::string_view text, std::string_view field);

// An explicit lead id: 1..19 digits. Returns nullopt for lead 0, which dialplans send when no
// lead is known (treating it as a lead would make every such call "sticky" to one number).
[[nodiscard]] core::Result<std::optional<std::uint64_t>> ParseLeadId(std::string_view text,
                                                                     std::string_view field);

// The lead id carried by a VICIdial call code (CALLERID(name)): one of the letters V, M or Y, then
// the date and time (MMDDhhmmss) and the lead id zero-padded to 10 digits, 20 digits in all
// ("VMMDDhhmmssLLLLLLLLLL"), or to 9 (19 digits: VICIdial before 2.4, OSDial). Returns nullopt
// for anything else (the caller-ID name may be a plain name: that is not an error) and for
// lead 0. Example: "V11251430120000012345" -> 12345.
std::optional<std::uint64_t> LeadIdFromCallCode(std::string_view cidname);

// Refuses a parameter not in `known` (a misspelt "hourly_limt" would otherwise answer 200 with
// the default cap): kInvalidArgument naming it (when it is short printable ASCII, else "body"),
// with the detail "is not a field of WHAT (the known names)". Refuses too a known one given twice
// with different values (`caller_id=...&caller_id=...`: which was meant cannot be told), naming
// it. For the admin's writes; /next-cid and /release ignore unknown parameters (dialplans send
// extra ones) and take the last value.
[[nodiscard]] core::Result<void> RefuseUnknownFields(const Params& params,
                                                     std::initializer_list<std::string_view> known,
                                                     std::string_view what);

// Runs `parse(text)` (returning core::Result<T>) on the parameter `name` when it is present.
// Returns nullopt when absent, the parsed value, or parse's error.
// Example: auto cap = ParseIfPresent(params, "hourly_limit",
//                                    [](std::string_view t) { return ParseCap(t, "hourly_limit");
//                                    });
template <class Parse>
auto ParseIfPresent(const Params& params, std::string_view name, Parse&& parse) -> core::Result<
    std::optional<typename std::invoke_result_t<Parse, std::string_view>::value_type>> {
  using T = typename std::invoke_result_t<Parse, std::string_view>::value_type;
  const auto text = params.Get(name);
  if (!text) return std::optional<T>();
  auto parsed = std::forward<Parse>(parse)(*text);
  if (!parsed) return core::Fail(std::move(parsed).error());
  return std::optional<T>(std::move(*parsed));
}

}  // namespace cidrotor::service
