#include "http/message.h"

#include <array>
#include <charconv>
#include <ctime>

namespace cidrotor::http {
namespace {

// The Date header value for the current second, formatted once per second per thread.
std::string_view CurrentHttpDate() {
  thread_local std::time_t cached_second = -1;
  thread_local std::array<char, 32> cached{};
  thread_local std::size_t cached_size = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    cached_size = std::strftime(cached.data(), cached.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {cached.data(), cached_size};
}

void AppendNumber(std::string& out, std::size_t value) {
  std::array<char, 24> digits{};
  const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  out.append(digits.data(), end);
}

}  // namespace

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      return "OTHER";
  }
  return "OTHER";
}

void Response::AddHeader(std::string_view name, std::string_view value) {
  extra_headers.append(name);
  extra_headers.append(": ");
  extra_headers.append(value);
  extra_headers.append("\r\n");
}

std::string_view ReasonPhrase(unsigned status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

void SerializeResponse(const Response& response, unsigned version, bool keep_alive,
                       bool head_request, std::string& out) {
  out.append("HTTP/1.1 ");
  AppendNumber(out, response.status);
  out.push_back(' ');
  out.append(ReasonPhrase(response.status));
  out.append("\r\nServer: cidrotor\r\nDate: ");
  out.append(CurrentHttpDate());
  out.append("\r\nContent-Type: ");
  out.append(response.content_type);
  out.append("\r\nContent-Length: ");
  AppendNumber(out, response.body.size());
  out.append("\r\n");
  out.append(response.extra_headers);
  if (!keep_alive) {
    out.append("Connection: close\r\n");
  } else if (version < 11) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  if (!head_request) out.append(response.body);
}

}  // namespace cidrotor::http
