#include "http/json_text.h"

#include <array>
#include <charconv>
#include <chrono>

namespace cidrotor::http {
namespace {

void AppendPadded(std::string& out, long value, int width) {
  std::array<char, 24> digits{};
  auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  for (auto length = end - digits.data(); length < width; ++length) out.push_back('0');
  out.append(digits.data(), end);
}

// The length of the well-formed UTF-8 sequence starting at text[i] (a byte >= 0x80), or 0 when
// there is none (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t Utf8SequenceAt(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) -> unsigned char {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
  };
  const auto continues = [&](std::size_t k, unsigned char low = 0x80, unsigned char high = 0xbf) {
    return byte(k) >= low && byte(k) <= high;
  };
  const unsigned char c = byte(0);
  if (c >= 0xc2 && c <= 0xdf) return continues(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const bool second = c == 0xe0   ? continues(1, 0xa0)
                        : c == 0xed ? continues(1, 0x80, 0x9f)
                                    : continues(1);
    return second && continues(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const bool second = c == 0xf0   ? continues(1, 0x90)
                        : c == 0xf4 ? continues(1, 0x80, 0x8f)
                                    : continues(1);
    return second && continues(2) && continues(3) ? 4 : 0;
  }
  return 0;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      // Stored names are checked UTF-8; what a client sent (a path echoed in an error) is not.
      if (const std::size_t length = Utf8SequenceAt(text, i); length > 0) {
        i += length - 1;
        continue;
      }
      out.append(text.substr(run_start, i - run_start));
      run_start = i + 1;
      out.append("\\ufffd");  // U+FFFD, the replacement character
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.substr(run_start, i - run_start));
    run_start = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(text.substr(run_start));
  out.push_back('"');
}

void AppendJsonKey(std::string& out, std::string_view name) {
  out.push_back('"');
  out.append(name);
  out.append("\":");
}

void AppendUnsigned(std::string& out, std::uint64_t value) {
  std::array<char, 24> digits{};
  auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  out.append(digits.data(), end);
}

void AppendIsoTime(std::string& out, core::TimePoint t) {
  using namespace std::chrono;
  const auto seconds = floor<std::chrono::seconds>(t);
  const auto day = floor<days>(seconds);
  const year_month_day ymd{day};
  const hh_mm_ss hms{seconds - day};
  AppendPadded(out, static_cast<int>(ymd.year()), 4);
  out.push_back('-');
  AppendPadded(out, static_cast<long>(static_cast<unsigned>(ymd.month())), 2);
  out.push_back('-');
  AppendPadded(out, static_cast<long>(static_cast<unsigned>(ymd.day())), 2);
  out.push_back('T');
  AppendPadded(out, hms.hours().count(), 2);
  out.push_back(':');
  AppendPadded(out, hms.minutes().count(), 2);
  out.push_back(':');
  AppendPadded(out, static_cast<long>(hms.seconds().count()), 2);
  out.push_back('Z');
}

std::string FormatIsoTime(core::TimePoint t) {
  std::string out;
  AppendIsoTime(out, t);
  return out;
}

}  // namespace cidrotor::http
