#include "core/phone_number.h"

#include <algorithm>
#include <array>
#include <string>

namespace cidrotor::core {
namespace {

// Longer inputs are garbage, not numbers with a long dial prefix; the cap also bounds work.
constexpr std::size_t kMaxDigits = 20;
constexpr std::size_t kMaxTextLength = 64;

// Collects the digits of `text`, skipping the separators people type. Returns the error to report,
// or the digits.
Result<std::string> ExtractDigits(std::string_view text, std::string_view field) {
  if (text.empty()) return Fail(Error::InvalidArgument(std::string(field), "is required"));
  if (text.size() > kMaxTextLength) {
    return Fail(Error::InvalidArgument(std::string(field), "is too long for a phone number"));
  }
  std::string digits;
  const std::size_t leading = text.find_first_not_of(' ');
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c == '+' && i == leading) {
      continue;  // "+1 (310) ...": one '+', before anything but spaces
    } else if (c == ' ' || c == '.' || c == '-' || c == '(' || c == ')') {
      continue;
    } else {
      return Fail(Error::InvalidArgument(
          std::string(field), "contains a character that is not part of a phone number"));
    }
  }
  if (digits.size() > kMaxDigits) {
    return Fail(Error::InvalidArgument(std::string(field), "has too many digits"));
  }
  return digits;
}

// A number written with '+' is in E.164 form: NANP's is +1 and 10 digits. Any other is another
// country's number (+44 20 ...), which no dial prefix can precede and whose last 10 digits would
// name some unrelated NANP number.
Result<void> RefuseInternational(bool written_with_plus, std::string_view digits,
                                 std::string_view field) {
  if (!written_with_plus) return {};
  if (digits.size() == 11 && digits.front() == '1') return {};
  return Fail(Error::InvalidArgument(
      std::string(field), "an international number (+ and a country code other than 1)"));
}

bool WrittenWithPlus(std::string_view text) {
  const auto first = text.find_first_not_of(' ');
  return first != std::string_view::npos && text[first] == '+';
}

// "079", not "79": area codes and exchanges are three digits.
std::string ThreeDigits(std::uint32_t code) {
  std::string text = std::to_string(code);
  return std::string(3 - std::min<std::size_t>(3, text.size()), '0') + text;
}

Result<PhoneNumber> CheckTenDigits(std::string_view ten, std::string_view field) {
  std::uint64_t value = 0;
  for (char c : ten) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  const auto npa = static_cast<std::uint32_t>(value / 10'000'000);
  const auto nxx = static_cast<std::uint32_t>((value / 10'000) % 1000);
  if (!IsValidAreaCode(npa)) {
    return Fail(Error::InvalidArgument(
        std::string(field),
        "area code " + ThreeDigits(npa) + " is not a valid NANP area code ([2-9]XX, not N11)"));
  }
  if (!IsValidCentralOfficeCode(nxx)) {
    return Fail(Error::InvalidArgument(
        std::string(field),
        "exchange " + ThreeDigits(nxx) + " is not a valid NANP exchange ([2-9]XX, not N11)"));
  }
  return PhoneNumber::FromValidDigits(value);
}

// NANP's international access code: 011, then a country code (never starting with 0 or 1) and
// the number, maybe after a short dial prefix (9 011 44 20 7946 0958). Its last 10 digits would
// name some unrelated NANP number (London's are Maine's 207-946-0958), so it is refused as the
// '+' form is. Unless the last 11 digits are 1 and a valid NANP number: then 011 may be the end of
// a carrier's dial prefix (801 1 212 555 1234), read as before.
Result<void> RefuseInternationalAccess(std::string_view digits, std::string_view field) {
  constexpr std::size_t kLongestPrefix = 4;   // digits a dial prefix may put before 011
  constexpr std::size_t kShortestAbroad = 7;  // country code and number after 011
  if (digits.size() >= 11 && digits[digits.size() - 11] == '1' &&
      CheckTenDigits(digits.substr(digits.size() - 10), field)) {
    return {};
  }
  for (std::size_t at = 0; at <= kLongestPrefix && at + 3 + kShortestAbroad <= digits.size();
       ++at) {
    if (digits.substr(at, 3) == "011" && digits[at + 3] >= '2') {
      return Fail(Error::InvalidArgument(
          std::string(field), "an international number (011 and a country code other than 1)"));
    }
  }
  return {};
}

}  // namespace

bool IsValidCentralOfficeCode(std::uint32_t code) {
  return code >= 200 && code <= 999 && (code % 100) != 11;
}

bool IsValidAreaCode(std::uint32_t npa) { return IsValidCentralOfficeCode(npa); }

bool PhoneNumber::IsGeographicAreaCode(std::uint32_t npa) {
  const bool repeated = (npa / 10) % 10 == npa % 10;  // 8XX and 5XX codes like 833, 544
  if (npa % 100 == 0) return false;                   // N00 easily recognizable codes: 800, 900
  if (npa / 100 == 8 && repeated) return false;       // toll-free: 833, 844, 855, 866, 877, 888
  if (npa / 100 == 5 && (repeated || (npa >= 521 && npa <= 533))) {
    return false;  // personal communications services: 521-533, 544, 566, 577, 588
  }
  // 456 international inbound, 600/622/633 Canada non-geographic, 710 US government.
  return npa != 456 && npa != 622 && npa != 633 && npa != 710;
}

Result<PhoneNumber> PhoneNumber::ParseDestination(std::string_view text, std::string_view field) {
  auto digits = ExtractDigits(text, field);
  if (!digits) return Fail(digits.error());
  const std::string& d = *digits;
  // A '+' put unencoded in a URL (`to=+44...`) arrives as a space: form decoding reads '+' so.
  // A destination starting with a space right before a digit is taken as written with '+', so
  // that an international number is refused, not read as a dial prefix and a NANP number.
  const bool lost_plus = text.size() > 1 && text[0] == ' ' && text[1] >= '0' && text[1] <= '9';
  if (auto ok = RefuseInternational(WrittenWithPlus(text) || lost_plus, d, field); !ok) {
    return Fail(ok.error());
  }
  if (auto ok = RefuseInternationalAccess(d, field); !ok) return Fail(ok.error());
  if (d.size() < 10) {
    return Fail(Error::InvalidArgument(std::string(field), "needs 10 digits (NPA-NXX-XXXX)"));
  }
  // 10 digits, 1 + 10, or a dial prefix before them: the last 10 are the number.
  return CheckTenDigits(std::string_view(d).substr(d.size() - 10), field);
}

Result<PhoneNumber> PhoneNumber::ParsePoolNumber(std::string_view text, std::string_view field) {
  auto digits = ExtractDigits(text, field);
  if (!digits) return Fail(digits.error());
  if (auto ok = RefuseInternational(WrittenWithPlus(text), *digits, field); !ok) {
    return Fail(ok.error());
  }
  std::string_view d = *digits;
  if (d.size() == 11 && d.front() == '1') d.remove_prefix(1);
  if (d.size() != 10) {
    return Fail(
        Error::InvalidArgument(std::string(field), "must be 10 digits, or 11 starting with 1"));
  }
  return CheckTenDigits(d, field);
}

Result<PhoneNumber> PhoneNumber::ParseCallerId(std::string_view text, std::string_view field) {
  return ParsePoolNumber(text, field);
}

std::string PhoneNumber::ToString() const {
  std::array<char, 10> out{};
  std::uint64_t v = digits_;
  for (int i = 9; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return std::string(out.data(), out.size());
}

}  // namespace cidrotor::core
