#include "service/field_parsers.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <string>
#include <utility>

#include "core/phone_number.h"

namespace cidrotor::service {
namespace {

using core::Error;
using core::Fail;

constexpr std::uint64_t kMaxLeadId = 9'999'999'999'999'999'999ULL;  // 19 digits
// VICIdial's call code: the date and time (MMDDhhmmss, 10 digits), then the lead id zero-padded
// to 10 digits; before VICIdial 2.4 (2010) and in OSDial, padded to 9.
constexpr std::size_t kCallCodeDateDigits = 10;
constexpr std::size_t kCallCodeLeadDigits = 10;
constexpr std::size_t kOldCallCodeLeadDigits = 9;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// A name of 1..64 characters: letters, digits and the characters of `extra`.
core::Result<std::string> ParseLabel(std::string_view text, std::string_view field,
                                     std::string_view extra, std::string_view allowed_text) {
  if (text.empty()) return Fail(Error::InvalidArgument(std::string(field), "is required"));
  if (text.size() > kMaxLabelLength) {
    return Fail(Error::InvalidArgument(std::string(field), "is longer than 64 characters"));
  }
  for (char c : text) {
    if (!IsAlnum(c) && extra.find(c) == std::string_view::npos) {
      return Fail(Error::InvalidArgument(std::string(field),
                                         "may contain only " + std::string(allowed_text)));
    }
  }
  return std::string(text);
}

// Well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF): the dashboard and the
// JSON bodies show these values as they are.
bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t code_point = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      code_point = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      code_point = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      code_point = c & 0x07u;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3fu);
    }
    if ((extra == 2 && code_point < 0x800) || (extra == 3 && code_point < 0x10000) ||
        code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// Free text as stored and shown: at most 64 bytes of UTF-8 without control characters.
core::Result<std::string> ParsePrintableText(std::string_view text, std::string_view field) {
  if (text.size() > kMaxLabelLength) {
    return Fail(Error::InvalidArgument(std::string(field), "is longer than 64 bytes"));
  }
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Fail(Error::InvalidArgument(std::string(field), "contains a control character"));
    }
  }
  if (!IsValidUtf8(text)) {
    return Fail(Error::InvalidArgument(std::string(field), "is not valid UTF-8"));
  }
  return std::string(text);
}

}  // namespace

namespace {
constexpr std::string_view kBlanks = " \t\r\n";
}  // namespace

std::string_view TrimBlanks(std::string_view text) {
  const auto first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  return TrimBlanksAtEnd(text.substr(first));
}

std::string_view TrimBlanksAtEnd(std::string_view text) {
  const auto last = text.find_last_not_of(kBlanks);
  return last == std::string_view::npos ? std::string_view() : text.substr(0, last + 1);
}

core::Result<std::uint64_t> ParseWholeNumber(std::string_view text, std::string_view field,
                                             std::uint64_t min, std::uint64_t max) {
  auto fail = [&] {
    return Fail(Error::InvalidArgument(
        std::string(field),
        "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max)));
  };
  if (text.empty() || text.size() > 24) return fail();
  std::uint64_t value = 0;
  for (char c : text) {
    if (!IsDigit(c)) return fail();
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return fail();
    value = value * 10 + digit;
  }
  if (value < min || value > max) return fail();
  return value;
}

core::Result<bool> ParseBool(std::string_view text, std::string_view field) {
  static constexpr std::array<std::pair<std::string_view, bool>, 10> kWords{{
      {"1", true},
      {"0", false},
      {"true", true},
      {"false", false},
      {"yes", true},
      {"no", false},
      {"y", true},  // VICIdial's own flags (its DIDs' and campaigns' active columns are Y/N)
      {"n", false},
      {"on", true},
      {"off", false},
  }};
  for (const auto& [word, value] : kWords) {
    if (EqualsIgnoreCase(text, word)) return value;
  }
  return Fail(Error::InvalidArgument(std::string(field), "must be true or false"));
}

core::Result<std::string> ParseAgentOrCampaign(std::string_view text, std::string_view field) {
  // Restricted to [A-Za-z0-9_.@:-] at first, which refused a dialer's "John Smith" (400, and the
  // call went out on the fallback caller-ID): the names are only stored and shown (as text, in
  // JSON and on the dashboard), never parsed.
  const std::string_view name = TrimBlanks(text);
  if (name.empty()) return Fail(Error::InvalidArgument(std::string(field), "is blank"));
  return ParsePrintableText(name, field);
}

core::Result<std::string> ParsePoolName(std::string_view text, std::string_view field) {
  return ParseLabel(text, field, "_.-", "letters, digits and _ . -");
}

core::Result<std::string> ParseCarrier(std::string_view text, std::string_view field) {
  // " Sprint" of a CSV written "caller_id, carrier" is Sprint, as its other cells are trimmed.
  return ParsePrintableText(TrimBlanks(text), field);
}

core::Result<std::string> ParseStateCode(std::string_view text, std::string_view field) {
  auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (text.size() != 2 || !is_letter(text[0]) || !is_letter(text[1])) {
    return Fail(Error::InvalidArgument(std::string(field), "must be a two-letter state code"));
  }
  std::string state(text);
  for (char& c : state) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return state;
}

core::Result<std::uint32_t> ParseAreaCode(std::string_view text, std::string_view field) {
  if (text.size() != 3 || !IsDigit(text[0]) || !IsDigit(text[1]) || !IsDigit(text[2])) {
    return Fail(Error::InvalidArgument(std::string(field), "must be a 3-digit area code"));
  }
  const auto npa =
      static_cast<std::uint32_t>((text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0'));
  if (!core::IsValidAreaCode(npa)) {
    return Fail(Error::InvalidArgument(std::string(field),
                                       "is not a valid NANP area code ([2-9]XX, not N11)"));
  }
  return npa;
}

core::Result<std::uint16_t> ParseCap(std::string_view text, std::string_view field) {
  auto value = ParseWholeNumber(text, field, 1, 65'535);
  if (!value) return Fail(value.error());
  return static_cast<std::uint16_t>(*value);
}

core::Result<std::optional<std::uint64_t>> ParseLeadId(std::string_view text,
                                                       std::string_view field) {
  if (text.empty() || text.size() > 19) {
    return Fail(Error::InvalidArgument(std::string(field), "must be a lead id of 1 to 19 digits"));
  }
  auto value = ParseWholeNumber(text, field, 0, kMaxLeadId);
  if (!value) {
    return Fail(Error::InvalidArgument(std::string(field), "must be a lead id of 1 to 19 digits"));
  }
  if (*value == 0) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(*value);
}

std::optional<std::uint64_t> LeadIdFromCallCode(std::string_view cidname) {
  if (cidname.empty()) return std::nullopt;
  const char letter = cidname.front();
  if (letter != 'V' && letter != 'M' && letter != 'Y') return std::nullopt;
  const std::string_view digits = cidname.substr(1);
  // Only these two lengths: taking the last 10 digits of any other would mistake a date digit
  // for part of the lead id (the sticky tier would then never find the lead again).
  if (digits.size() != kCallCodeDateDigits + kCallCodeLeadDigits &&
      digits.size() != kCallCodeDateDigits + kOldCallCodeLeadDigits) {
    return std::nullopt;
  }
  for (char c : digits) {
    if (!IsDigit(c)) return std::nullopt;
  }
  std::uint64_t lead = 0;
  for (char c : digits.substr(kCallCodeDateDigits)) {
    lead = lead * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (lead == 0) return std::nullopt;
  return lead;
}

core::Result<void> RefuseUnknownFields(const Params& params,
                                       std::initializer_list<std::string_view> known,
                                       std::string_view what) {
  const auto& entries = params.entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& [name, value] = entries[i];
    if (std::find(known.begin(), known.end(), name) != known.end()) {
      for (std::size_t j = i + 1; j < entries.size(); ++j) {
        if (entries[j].first == name && entries[j].second != value) {
          return core::Fail(core::Error::InvalidArgument(std::string(name),
                                                         "is given twice, with different values"));
        }
      }
      continue;
    }
    // The name goes back into a JSON answer and a log line: shown only when it is plain.
    constexpr std::size_t kMaxShown = 64;
    const bool printable =
        !name.empty() && name.size() <= kMaxShown &&
        std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    std::string names;
    for (std::string_view k : known) names += fmt::format("{}{}", names.empty() ? "" : ", ", k);
    return core::Fail(
        core::Error::InvalidArgument(printable ? std::string(name) : "body",
                                     fmt::format("is not a field of {} ({})", what, names)));
  }
  return {};
}

}  // namespace cidrotor::service
