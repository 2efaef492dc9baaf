#include "agi/agi_parser.h"

#include <charconv>

namespace cidrotor::agi {
namespace {

enum class LineStatus { kLine, kIncomplete, kTooLong };

struct NextLine {
  LineStatus status = LineStatus::kIncomplete;
  std::string_view line;  // without the line end
  std::size_t size = 0;   // bytes including the line end
};

// The first line of `data`. A buffered remainder longer than kMaxLineBytes without a line end is
// kTooLong at once: a peer that never sends `\n` cannot make the caller buffer more.
NextLine ReadLine(std::string_view data) {
  const auto end = data.find('\n');
  if (end == std::string_view::npos) {
    return {data.size() > kMaxLineBytes ? LineStatus::kTooLong : LineStatus::kIncomplete, {}, 0};
  }
  std::string_view line = data.substr(0, end);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxLineBytes) return {LineStatus::kTooLong, {}, 0};
  return {LineStatus::kLine, line, end + 1};
}

bool IsNameChar(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '_';
}

bool IsDigit(char ch) { return ch >= '0' && ch <= '9'; }

}  // namespace

std::optional<std::string_view> Environment::Get(std::string_view name) const {
  for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
    if (it->first == name) return std::string_view(it->second);
  }
  return std::nullopt;
}

ParseStep EnvironmentParser::Feed(std::string_view data) {
  std::size_t consumed = 0;
  for (;;) {
    const NextLine next = ReadLine(data.substr(consumed));
    if (next.status == LineStatus::kTooLong) {
      error_ = "environment line longer than 4096 bytes";
      return {ParseState::kError, consumed};
    }
    if (next.status == LineStatus::kIncomplete) return {ParseState::kNeedMore, consumed};
    consumed += next.size;
    if (next.line.empty()) return {ParseState::kDone, consumed};
    if (env_.size() >= kMaxEnvLines) {
      error_ = "environment block longer than 256 lines";
      return {ParseState::kError, consumed};
    }
    if ((bytes_ += next.size) > kMaxEnvBytes) {
      error_ = "environment block longer than 32 KiB";
      return {ParseState::kError, consumed};
    }
    const auto colon = next.line.find(':');
    const std::string_view name = next.line.substr(0, colon);
    bool valid_name = colon != std::string_view::npos && !name.empty();
    for (char ch : name) valid_name = valid_name && IsNameChar(ch);
    if (!valid_name) {
      error_ = "malformed environment line (expected `name: value`)";
      return {ParseState::kError, consumed};
    }
    std::string_view value = next.line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    env_.Add(std::string(name), std::string(value));
  }
}

ParseStep ReplyParser::Feed(std::string_view data) {
  std::size_t consumed = 0;
  for (;;) {
    const NextLine next = ReadLine(data.substr(consumed));
    if (next.status == LineStatus::kTooLong) {
      error_ = "reply line longer than 4096 bytes";
      return {ParseState::kError, consumed};
    }
    if (next.status == LineStatus::kIncomplete) return {ParseState::kNeedMore, consumed};
    consumed += next.size;
    const std::string_view line = next.line;

    if (in_usage_) {
      // Asterisk prints the usage text as is, so the terminator may follow text on one line.
      if (line.find("520 End of proper usage.") != std::string_view::npos) {
        return {ParseState::kDone, consumed};
      }
      if (++usage_lines_ > kMaxEnvLines) {
        error_ = "usage block longer than 256 lines";
        return {ParseState::kError, consumed};
      }
      if (!reply_.data.empty()) reply_.data += '\n';
      reply_.data.append(line);
      continue;
    }
    if (line == "HANGUP") {
      reply_ = Reply{Reply::Kind::kHangup, 0, 0, {}};
      return {ParseState::kDone, consumed};
    }
    if (line.size() < 3 || !IsDigit(line[0]) || !IsDigit(line[1]) || !IsDigit(line[2]) ||
        (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      error_ = "malformed reply line (expected a 3-digit code or HANGUP)";
      return {ParseState::kError, consumed};
    }
    reply_.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    std::string_view rest = line.size() > 4 ? line.substr(4) : std::string_view();
    if (reply_.code == 520 && line.size() > 3 && line[3] == '-') {
      reply_.kind = Reply::Kind::kUsage;
      in_usage_ = true;
      continue;
    }
    switch (reply_.code) {
      case 200: {
        constexpr std::string_view kResult = "result=";
        if (rest.substr(0, kResult.size()) != kResult) {
          error_ = "malformed 200 reply (expected result=N)";
          return {ParseState::kError, consumed};
        }
        rest.remove_prefix(kResult.size());
        const char* first = rest.data();
        const char* last = rest.data() + rest.size();
        const auto [ptr, ec] = std::from_chars(first, last, reply_.result);
        if (ec != std::errc() || (ptr != last && *ptr != ' ')) {
          error_ = "malformed 200 reply (result is not a number)";
          return {ParseState::kError, consumed};
        }
        reply_.kind = Reply::Kind::kResult;
        rest = rest.substr(static_cast<std::size_t>(ptr - first));
        const auto open = rest.find('(');
        const auto close = rest.rfind(')');
        if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
          reply_.data = std::string(rest.substr(open + 1, close - open - 1));
        }
        break;
      }
      case 510:
        reply_.kind = Reply::Kind::kInvalid;
        reply_.data = std::string(rest);
        break;
      case 511:
        reply_.kind = Reply::Kind::kDeadChannel;
        reply_.data = std::string(rest);
        break;
      case 520:
        reply_.kind = Reply::Kind::kUsage;
        reply_.data = std::string(rest);
        break;
      default:
        reply_.kind = Reply::Kind::kOtherCode;
        reply_.data = std::string(rest);
        break;
    }
    return {ParseState::kDone, consumed};
  }
}

}  // namespace cidrotor::agi
