// A minimal blocking HTTP/1.1 client over a POSIX socket for the socket-level tests: it writes
// exactly the bytes a test gives it (partial requests, pipelining, oversized bodies) and reads
// responses by Content-Length. Every receive has a 10 s timeout, so a broken server fails a test
// instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cidrotor::http::testing {

struct HttpReply {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;

  // The value of header `name` (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const {
    std::string lower_head = Lower(head);
    const std::string key = "\r\n" + Lower(std::string(name)) + ":";
    const auto at = lower_head.find(key);
    if (at == std::string::npos) return {};
    auto start = at + key.size();
    while (start < head.size() && head[start] == ' ') ++start;
    return head.substr(start, head.find("\r\n", start) - start);
  }

  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    return s;
  }
};

class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      const auto sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  // Says the request is over (shutdown(SHUT_WR)); the answer can still be read.
  void FinishSending() { ::shutdown(fd_, SHUT_WR); }

  // Sends a GET with keep-alive (HTTP/1.1 default) and reads the response.
  std::optional<HttpReply> Get(std::string_view target, std::string_view extra_headers = {}) {
    std::string request = "GET ";
    request.append(target);
    request.append(" HTTP/1.1\r\nHost: test\r\n");
    request.append(extra_headers);
    request.append("\r\n");
    if (!Send(request)) return std::nullopt;
    return Read();
  }

  // Reads one response; nullopt on EOF, error or timeout.
  std::optional<HttpReply> Read(bool head_request = false) {
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Receive()) return std::nullopt;
    }
    HttpReply reply;
    reply.head = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    if (reply.head.size() < 12) return std::nullopt;
    reply.status = std::stoi(reply.head.substr(9, 3));
    const std::string length = reply.Header("Content-Length");
    const std::size_t body_size = head_request || length.empty() ? 0 : std::stoul(length);
    while (buffer_.size() < body_size) {
      if (!Receive()) return std::nullopt;
    }
    reply.body = buffer_.substr(0, body_size);
    buffer_.erase(0, body_size);
    return reply;
  }

  // True when the server has closed the connection already (EOF or reset), without waiting.
  bool Closed() {
    char byte = 0;
    const auto n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  // True when the server closes the connection (EOF or reset) before the receive timeout;
  // bytes that arrive first are discarded.
  bool WaitForClose() {
    char scratch[4096];
    for (;;) {
      const auto n = ::recv(fd_, scratch, sizeof scratch, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  bool Receive() {
    char chunk[4096];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

}  // namespace cidrotor::http::testing
