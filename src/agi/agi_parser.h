// The FastAGI wire format as Asterisk speaks it (docs/agi.md), parsed incrementally and purely:
// bytes in, an event plus how many bytes were consumed out. No I/O, no allocation beyond the
// parsed values, no exceptions. Model: Dragonfly's RespSrvParser (the caller keeps a buffer,
// appends what the socket gave, feeds it, and erases the consumed prefix).
//
// Two parsers:
//   EnvironmentParser  the block Asterisk sends first: `agi_name: value\n` lines ended by an
//                      empty line. Bounded: kMaxLineBytes per line, kMaxEnvLines lines,
//                      kMaxEnvBytes in all.
//   ReplyParser        Asterisk's answer to one command: `200 result=N [(data)] [key=value]`,
//                      `510 ...`, `511 ...`, `520 ...` or the multi-line `520-...` usage that ends
//                      with `520 End of proper usage.`, and the `HANGUP` line Asterisk sends when
//                      the channel hangs up (AGISIGHUP) before the reply.
// Both accept `\n` and `\r\n` line ends. A line longer than the limit is an error as soon as
// more than the limit is buffered without a line end, so a peer cannot grow the buffer unbounded.
// Value types, thread-compatible: one parser per connection.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cidrotor::agi {

inline constexpr std::size_t kMaxLineBytes = 4096;
inline constexpr std::size_t kMaxEnvLines = 256;
// The whole environment block. Asterisk's is 1-2 KiB; without a bound of its own, peers could
// hold 256 lines of 4 KiB each per connection (1,000 silent peers took 660 MB).
inline constexpr std::size_t kMaxEnvBytes = 32 * 1024;

enum class ParseState {
  kNeedMore,  // everything complete was consumed; feed more bytes (keep the unconsumed rest)
  kDone,      // the block or reply is complete; bytes after `consumed` belong to what follows
  kError,     // malformed input or a limit exceeded; see error(). The connection is unusable.
};

struct ParseStep {
  ParseState state = ParseState::kNeedMore;
  std::size_t consumed = 0;  // bytes of the fed data used; the caller drops them from its buffer
};

// The environment block: names and values in the order received.
class Environment {
 public:
  void Add(std::string name, std::string value) {
    vars_.emplace_back(std::move(name), std::move(value));
  }
  // The value of the last line named `name`, or nullopt. Valid while the Environment lives.
  std::optional<std::string_view> Get(std::string_view name) const;
  std::size_t size() const { return vars_.size(); }
  const std::vector<std::pair<std::string, std::string>>& vars() const { return vars_; }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

class EnvironmentParser {
 public:
  // Consumes complete lines of `data` (the caller's buffered, not yet consumed bytes).
  // kDone once the empty line was consumed; environment() is then complete.
  // kError with error() set: a line over kMaxLineBytes, more than kMaxEnvLines lines or
  // kMaxEnvBytes bytes, or a line
  // that is not `name: value` (name of [A-Za-z0-9_]). REQUIRES: not fed again after kDone/kError.
  ParseStep Feed(std::string_view data);

  const Environment& environment() const { return env_; }
  Environment TakeEnvironment() { return std::move(env_); }
  const std::string& error() const { return error_; }

 private:
  Environment env_;
  std::size_t bytes_ = 0;  // of the lines consumed so far
  std::string error_;
};

// One reply of Asterisk to a command.
struct Reply {
  enum class Kind {
    kResult,       // 200 result=N
    kInvalid,      // 510 Invalid or unknown command
    kDeadChannel,  // 511 Command Not Permitted on a dead channel
    kUsage,        // 520 (single line or the multi-line usage block)
    kHangup,       // HANGUP: the channel hung up; a reply may still follow, nothing else will work
    kOtherCode,    // another 3-digit code
  };
  Kind kind = Kind::kOtherCode;
  int code = 0;      // 200, 510, 511, 520, other; 0 for kHangup
  long result = 0;   // the N of `result=N` (kResult only)
  std::string data;  // the text in parentheses after result=N, or the line's text otherwise
};

class ReplyParser {
 public:
  // Consumes the lines of one reply. kDone: reply() holds it; create a new parser (or Reset())
  // for the next one. kError: a line over kMaxLineBytes, a usage block over kMaxEnvLines lines,
  // or a line that is not a reply (`200` without `result=N`, text without a code).
  ParseStep Feed(std::string_view data);
  void Reset() { *this = ReplyParser(); }

  const Reply& reply() const { return reply_; }
  const std::string& error() const { return error_; }

 private:
  Reply reply_;
  bool in_usage_ = false;  // inside a `520-` block
  std::size_t usage_lines_ = 0;
  std::string error_;
};

}  // namespace cidrotor::agi
