// The HTTP request and response as the router and handlers see them: plain views and values with
// no Beast types, so handlers compile fast and unit tests need no parser. The session (session.cc)
// fills a Request from Beast's parser and serializes a Response itself (one reused buffer per
// connection, one write). Thread-compatible values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cidrotor::http {

enum class Method : std::uint8_t { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view MethodName(Method method);  // "GET", ...; "OTHER" for kOther

inline constexpr std::string_view kJsonContentType = "application/json";
inline constexpr std::string_view kTextContentType = "text/plain";

// A parsed request. Views into the connection's parser, valid while the request is handled.
struct Request {
  Method method = Method::kGet;
  std::string_view target;         // origin-form "/path?query", as received
  std::string_view authorization;  // the Authorization header, empty when absent. Never log it.
  std::string_view content_type;   // the Content-Type header, empty when absent
  std::string_view body;
  unsigned version = 11;  // 10 or 11
  bool keep_alive = true;

  // The target without its query string, e.g. "/next-cid".
  std::string_view path() const { return target.substr(0, target.find('?')); }
};

struct Response {
  unsigned status = 200;
  std::string_view content_type = kJsonContentType;  // REQUIRES: a string with static storage
  std::string body;
  std::string extra_headers;  // preformatted "Name: value\r\n" lines; empty for most responses
  bool close = false;         // close the connection after this response

  // Appends a header line. REQUIRES: name and value contain no CR or LF.
  void AddHeader(std::string_view name, std::string_view value);
};

// The reason phrase of the statuses the server uses ("OK", "Not Found"...), "Unknown" otherwise.
std::string_view ReasonPhrase(unsigned status);

// Appends the complete HTTP/1.1 response (status line, Server, Date, Content-Type,
// Content-Length, extra headers, Connection, body) to `out`. `keep_alive` false adds
// `Connection: close`; an HTTP/1.0 client that keeps the connection gets `Connection: keep-alive`.
// A response to HEAD carries the headers of the body but not the body.
void SerializeResponse(const Response& response, unsigned version, bool keep_alive,
                       bool head_request, std::string& out);

}  // namespace cidrotor::http
