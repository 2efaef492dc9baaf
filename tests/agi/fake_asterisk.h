// Test helper: Asterisk's side of a FastAGI connection over a real socket, byte for byte, with
// POSIX calls only (blocking, with a 5 s receive timeout as the safety net of a broken test).
// Not thread-safe: one test thread per FakeAsterisk.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cidrotor::agi::testing {

class FakeAsterisk {
 public:
  // Connects to `address` (IPv4, host byte order; loopback by default) at `port`, from `source`
  // when given (another Asterisk server: e.g. 127.0.0.2).
  explicit FakeAsterisk(std::uint16_t port, std::uint32_t address = INADDR_LOOPBACK,
                        std::uint32_t source = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (source != 0) {
      sockaddr_in from{};
      from.sin_family = AF_INET;
      from.sin_addr.s_addr = htonl(source);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) return;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(address);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~FakeAsterisk() { Close(); }
  FakeAsterisk(const FakeAsterisk&) = delete;
  FakeAsterisk& operator=(const FakeAsterisk&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // One byte per send(2) with TCP_NODELAY: the server sees the block in many small reads.
  bool SendByteByByte(std::string_view bytes) {
    for (char ch : bytes) {
      if (!Send(std::string_view(&ch, 1))) return false;
    }
    return true;
  }

  // The next line the server sent, without its `\n`; nullopt when the server closed the
  // connection (or after 5 s of silence, a broken test).
  std::optional<std::string> ReadLine() {
    for (;;) {
      if (const auto end = buffer_.find('\n'); end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return line;
      }
      char chunk[1024];
      const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) {
        timed_out_ = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        return std::nullopt;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // True when the server closes the connection with nothing more to say.
  bool ServerClosed() { return !ReadLine().has_value() && !timed_out_; }
  // True when the server has closed the connection already (EOF or reset), without waiting.
  bool ClosedAlready() {
    char byte = 0;
    const ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  // Sends `env`, then answers each command with the next of `replies` ("200 result=1\n" once
  // they run out) until the server closes. Returns the commands received.
  std::vector<std::string> Exchange(const std::string& env,
                                    const std::vector<std::string>& replies = {}) {
    std::vector<std::string> commands;
    if (!Send(env)) return commands;
    while (auto line = ReadLine()) {
      commands.push_back(*line);
      const std::string reply =
          commands.size() <= replies.size() ? replies[commands.size() - 1] : "200 result=1\n";
      if (!reply.empty() && !Send(reply)) break;
    }
    return commands;
  }

  bool timed_out() const { return timed_out_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool timed_out_ = false;
  std::string buffer_;
};

}  // namespace cidrotor::agi::testing
