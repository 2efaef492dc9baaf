// Text from a peer made fit for a log line: at most `max` bytes, each outside printable ASCII
// replaced by '?'. A peer's ESC, CR or NUL would otherwise forge or hide lines: the security review
// wrote `level=error FORGED ...` over a real line on a terminal with a CR, and a NUL made grep take
// the whole log for binary. For HTTP's paths and FastAGI's channel names, uniqueids and replies.
//
// Example: spdlog::warn("agi: {} hung up", net::Loggable(channel, 128));
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cidrotor::net {

inline std::string Loggable(std::string_view text, std::size_t max) {
  std::string out(text.substr(0, max));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

}  // namespace cidrotor::net
