#include "support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <thread>

namespace cidrotor::test_support {
namespace {

constexpr int kIoTimeoutSeconds = 30;

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return text;
}

HttpResponse Failure(std::string what) {
  HttpResponse response;
  response.error = std::move(what) + (errno != 0 ? std::string(": ") + std::strerror(errno) : "");
  return response;
}

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

HttpClient::HttpClient(std::uint16_t port, std::string host)
    : port_(port), host_(std::move(host)) {}

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool HttpClient::Connect() {
  Close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  timeval timeout{kIoTimeoutSeconds, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  if (::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1 ||
      ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Close();
    return false;
  }
  return true;
}

bool HttpClient::SendAll(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

HttpResponse HttpClient::Get(const std::string& target, const Headers& headers) {
  return Request("GET", target, "", headers);
}

HttpResponse HttpClient::Post(const std::string& target, const std::string& body,
                              const std::string& content_type, const Headers& headers) {
  Headers all = headers;
  if (!body.empty()) all.emplace("Content-Type", content_type);
  return Request("POST", target, body, all);
}

HttpResponse HttpClient::Request(const std::string& method, const std::string& target,
                                 const std::string& body, const Headers& headers) {
  std::string request =
      method + " " + target + " HTTP/1.1\r\nHost: " + host_ + ":" + std::to_string(port_) + "\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;

  // A kept-alive connection may have been closed by the server meanwhile: then the request was
  // never read, and one retry on a fresh connection is safe.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = fd_ >= 0;
    errno = 0;
    if (fd_ < 0 && !Connect()) return Failure("connect");
    if (!SendAll(request)) {
      Close();
      if (reused) continue;
      return Failure("send");
    }
    HttpResponse response = ReadResponse(method == "HEAD");
    if (response.status == 0 && reused && buffer_.empty()) {
      Close();
      continue;
    }
    return response;
  }
  return Failure("connection closed");
}

HttpResponse HttpClient::ReadResponse(bool head_only) {
  const auto broken = [this](const char* what) {
    HttpResponse failed = Failure(what);
    Close();
    return failed;
  };
  const auto fill = [this]() -> bool {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  std::size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return broken(buffer_.empty() ? "no response" : "truncated headers");
  }
  HttpResponse response;
  const std::string head = buffer_.substr(0, header_end);
  buffer_.erase(0, header_end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  const auto space = status_line.find(' ');
  response.status = space == std::string::npos ? 0 : std::atoi(status_line.c_str() + space + 1);
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line =
        head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    response.headers[Lower(line.substr(0, colon))] = value;
  }

  const bool close_after = Lower(response.Header("connection")) == "close";
  if (head_only || response.status == 204 || response.status == 304) {
    // no body
  } else if (Lower(response.Header("transfer-encoding")).find("chunked") != std::string::npos) {
    for (;;) {
      std::size_t eol;
      while ((eol = buffer_.find("\r\n")) == std::string::npos) {
        if (!fill()) return broken("truncated chunk");
      }
      const std::size_t size = std::strtoul(buffer_.c_str(), nullptr, 16);
      buffer_.erase(0, eol + 2);
      while (buffer_.size() < size + 2) {
        if (!fill()) return broken("truncated chunk");
      }
      response.body.append(buffer_, 0, size);
      buffer_.erase(0, size + 2);
      if (size == 0) break;  // (trailers are not used by the server under test)
    }
  } else if (const std::string length = response.Header("content-length"); !length.empty()) {
    const std::size_t size = std::strtoul(length.c_str(), nullptr, 10);
    while (buffer_.size() < size) {
      if (!fill()) return broken("truncated body");
    }
    response.body = buffer_.substr(0, size);
    buffer_.erase(0, size);
  } else {
    while (fill()) {
    }
    response.body = std::move(buffer_);
    Close();
  }
  if (close_after) Close();
  return response;
}

std::vector<HttpResponse> FireConcurrently(std::uint16_t port, const std::string& method,
                                           const std::string& target, std::size_t count) {
  std::vector<HttpResponse> responses(count);
  std::latch connected(static_cast<std::ptrdiff_t>(count));
  std::vector<std::thread> threads;
  threads.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      HttpClient client(port);
      const bool ok = client.Connect();
      connected.arrive_and_wait();  // everyone connected: fire together
      if (!ok) {
        responses[i] = Failure("connect");
        return;
      }
      responses[i] = client.Request(method, target, "", {});
    });
  }
  for (auto& t : threads) t.join();
  return responses;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

Headers BearerAuth(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

}  // namespace cidrotor::test_support
