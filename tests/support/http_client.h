// Test support: a small blocking HTTP/1.1 client over POSIX sockets, for end-to-end tests against
// the real server on 127.0.0.1. One keep-alive connection per client (reconnects when the server
// closed it); Content-Length and chunked bodies. FireConcurrently puts many requests in flight
// at once, each on its own connection. Deliberately no Beast/Asio: this compiles in a second.
// Not thread-safe: one HttpClient per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cidrotor::test_support {

using Headers = std::map<std::string, std::string>;

struct HttpResponse {
  int status = 0;     // 0: no response (see `error`)
  std::string error;  // transport error, empty on success
  Headers headers;    // names in lower case
  std::string body;

  // The header's value, or "" when absent. `name` in lower case.
  std::string Header(const std::string& name) const;
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port, std::string host = "127.0.0.1");
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Opens the connection now (otherwise the first request does). Returns false on failure.
  bool Connect();

  HttpResponse Get(const std::string& target, const Headers& headers = {});
  HttpResponse Post(const std::string& target, const std::string& body = "",
                    const std::string& content_type = "application/x-www-form-urlencoded",
                    const Headers& headers = {});
  HttpResponse Request(const std::string& method, const std::string& target,
                       const std::string& body, const Headers& headers);

 private:
  bool SendAll(std::string_view data);
  HttpResponse ReadResponse(bool head_only);
  void Close();

  std::uint16_t port_;
  std::string host_;
  int fd_ = -1;
  std::string buffer_;  // bytes read past the previous response
};

// `count` requests of `method target` sent at the same moment: every connection is opened first,
// then all are released together, so all of them are in flight at once. Responses in order.
std::vector<HttpResponse> FireConcurrently(std::uint16_t port, const std::string& method,
                                           const std::string& target, std::size_t count);

// Percent-encodes a query or form value.
std::string UrlEncode(std::string_view text);

// "Bearer TOKEN" as an Authorization header set.
Headers BearerAuth(const std::string& token);

}  // namespace cidrotor::test_support
