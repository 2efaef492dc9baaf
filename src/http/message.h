// The HTTP request and response as the router and handlers see them: plain views and values with
// no Beast types, so handlers compile fast and unit tests need no parser. The session (session.cc)
// fills a Request from Beast's parser and serializes a Response itself (one reused buffer per
// connection, one write). Thread-compatible values.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cidrotor::http {

enum class Method : std::uint8_t { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view MethodName(Method method);  // "GET", ...; "OTHER" for kOther

inline constexpr std::string_view kJsonContentType = "application/json";
inline constexpr std::string_view kTextContentType = "text/plain";

// A request body read as it arrives, for routes that take bodies too large to buffer (the CSV
// import, router.h StreamsBody): the handler pulls the bytes chunk by chunk, so the server holds
// one chunk of the body at a time whatever its size. Chunked transfer coding is already decoded.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // The next bytes of the body, valid until the next call; empty once the whole body was read.
  // Errors: kInvalidArgument (field "body") for a body over the route's limit or malformed
  // framing; kUnavailable when the connection failed or timed out.
  virtual boost::asio::awaitable<core::Result<std::string_view>> Next() = 0;
};

// A parsed request. Views into the connection's parser, valid while the request is handled.
struct Request {
  Method method = Method::kGet;
  std::string_view target;            // origin-form "/path?query", as received
  std::string_view authorization;     // the Authorization header, empty when absent. Never log it.
  std::string_view content_type;      // the Content-Type header, empty when absent
  std::string_view body;              // the whole body; empty when body_stream is set
  BodyStream* body_stream = nullptr;  // streaming routes only: the body, read on demand
  unsigned version = 11;              // 10 or 11
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
  // An error answer's code (core::ErrorCodeName: static storage), empty otherwise.
  std::string_view error_code;

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
