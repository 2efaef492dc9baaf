// NANP telephone numbers (US, Canada, the Caribbean) as a 10-digit integer.
//
// Parsing follows the numbering plan's rules, with no library: area code (NPA) [2-9]XX and not
// N11; exchange (NXX) [2-9]XX and not N11; the 555 exchange is valid. Toll-free and other
// non-geographic area codes are valid numbers but only match the `any` tier (IsGeographic()).
// Accepted forms, after removing spaces, dots, dashes, parentheses and one leading '+':
// 10 digits, or 11 digits starting with 1. A destination may also carry a dial prefix
// (VICIdial carrier dialplans send `913105559876`): longer digit strings use their last 10
// digits. Pool numbers (CSV, add-number) allow no prefix. Value type, thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cidrotor::core {

class PhoneNumber {
 public:
  // REQUIRES: digits is a valid 10-digit NANP number (use the parsers below otherwise).
  static constexpr PhoneNumber FromValidDigits(std::uint64_t digits) { return PhoneNumber(digits); }

  // A called party's number; dial prefixes allowed, but not after a `+` (E.164: `+` and 1 and 10
  // digits, any other country code is not NANP). Errors name `field`.
  [[nodiscard]] static Result<PhoneNumber> ParseDestination(std::string_view text,
                                                            std::string_view field = "to");
  // A number of the center's own pool; exactly 10 digits or 1 + 10 digits, and a leading `+`
  // must carry country code 1 (`+4532123456` is Danish, not 453-212-3456). Errors name `field`.
  [[nodiscard]] static Result<PhoneNumber> ParsePoolNumber(std::string_view text,
                                                           std::string_view field = "caller_id");

  // A calling party's number as the network presents it (an inbound caller ID): the forms of a
  // pool number. Errors name `field`.
  [[nodiscard]] static Result<PhoneNumber> ParseCallerId(std::string_view text,
                                                         std::string_view field = "from");

  std::uint64_t digits() const { return digits_; }
  std::uint32_t area_code() const { return static_cast<std::uint32_t>(digits_ / 10'000'000); }
  // NPA-NXX as one integer, e.g. 310555 for 310-555-9876.
  std::uint32_t exchange() const { return static_cast<std::uint32_t>(digits_ / 10'000); }
  // False for toll-free (8XX), N00, 5XX personal-communication and other non-geographic codes.
  bool IsGeographic() const { return IsGeographicAreaCode(area_code()); }
  std::string ToString() const;  // "3105559876"

  static bool IsGeographicAreaCode(std::uint32_t npa);

  friend bool operator==(PhoneNumber a, PhoneNumber b) { return a.digits_ == b.digits_; }
  friend auto operator<=>(PhoneNumber a, PhoneNumber b) { return a.digits_ <=> b.digits_; }

 private:
  constexpr explicit PhoneNumber(std::uint64_t digits) : digits_(digits) {}
  std::uint64_t digits_;
};

// Whether `code` (a 3-digit integer) is a valid NANP central-office code, the rule area codes
// (NPA) and exchanges (NXX) share: [2-9]XX and not N11.
bool IsValidCentralOfficeCode(std::uint32_t code);
// Whether `npa` is a valid NANP area code (IsValidCentralOfficeCode).
bool IsValidAreaCode(std::uint32_t npa);

}  // namespace cidrotor::core
