#include "notify/http_post.h"

// date's parse reads seconds through a long double GCC 12 thinks may be used uninitialized
// (-Wmaybe-uninitialized, in date.h's own code, when inlined into ParseRetryAfter).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <date/date.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <exception>
#include <optional>
#include <sstream>
#include <utility>

#include "notify/call_within.h"

namespace cidrotor::notify {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

core::Error Failed(const WebhookUrl& url, std::string_view what, const std::string& why) {
  return core::Error::Unavailable("webhook " + url.shown + ": " + std::string(what) + ": " + why);
}

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// The URL's scheme, host and port: what a log may show (user:password@, a path or a query may
// carry a secret).
std::string UpToHost(std::string_view text) {
  const auto authority = text.find("://");
  const auto start = authority == std::string_view::npos ? 0 : authority + 3;
  const auto end = std::min(text.find_first_of("/?#", start), text.size());
  std::string_view host = text.substr(start, end - start);
  if (const auto at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
  return std::string(text.substr(0, start)) + std::string(host);
}

bool IsIpAddress(const std::string& host) {
  beast::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

// host[:port] as RFC 9110 wants it: the port only when not the scheme's, IPv6 in brackets.
std::string HostHeader(const WebhookUrl& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != (url.tls ? 443 : 80)) host += ":" + std::to_string(url.port);
  return host;
}

// Writes the request and reads the answer on a connected (and, for https, handshaken) stream.
template <class Stream>
asio::awaitable<core::Result<PostAnswer>> Exchange(Stream& stream, const WebhookUrl& url,
                                                   std::string_view json, const Headers& headers) {
  http::request<http::string_body> request{http::verb::post, url.target, 11};
  request.set(http::field::host, HostHeader(url));
  request.set(http::field::user_agent, "cidrotor-webhook");
  request.set(http::field::content_type, "application/json");
  request.keep_alive(false);  // one request per connection: the answer ends the exchange
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::string(json);
  request.prepare_payload();
  auto [write_error, written] = co_await http::async_write(stream, request, kNoThrow);
  if (write_error) co_return core::Fail(Failed(url, "send", write_error.message()));
  // The status line decides; the body is not read: a 2xx with a large or slow body is still
  // delivered (reading it would fail the attempt and send the event again).
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  auto [read_error, read] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
  if (read_error) co_return core::Fail(Failed(url, "read the answer", read_error.message()));
  const auto& answer = parser.get();
  co_return PostAnswer{
      answer.result_int(),
      answer.count(http::field::retry_after) == 0
          ? std::nullopt
          : ParseRetryAfter(answer[http::field::retry_after], std::chrono::system_clock::now())};
}

using Endpoints = tcp::resolver::results_type;

// The URL's addresses, within `timeout`. A host name's lookup runs on a thread of its own
// (CallWithin): getaddrinfo cannot be cancelled, and with a DNS server that never answers it took
// 10 s an attempt against a 5 s timeout "everything included", and held a stop as long (a
// review). An IP address is read without a lookup.
core::Result<Endpoints> Resolve(const WebhookUrl& url, std::chrono::milliseconds timeout) {
  const bool numeric = IsIpAddress(url.host);
  const auto lookup = [host = url.host, port = std::to_string(url.port),
                       numeric]() -> std::pair<beast::error_code, Endpoints> {
    asio::io_context io;
    tcp::resolver resolver(io);
    beast::error_code ec;
    auto endpoints = numeric ? resolver.resolve(host, port, tcp::resolver::numeric_host, ec)
                             : resolver.resolve(host, port, ec);
    return {ec, std::move(endpoints)};
  };
  std::optional<std::pair<beast::error_code, Endpoints>> resolved;
  if (numeric) {
    resolved = lookup();
  } else {
    resolved = CallWithin<std::pair<beast::error_code, Endpoints>>(lookup, timeout);
  }
  if (!resolved) return core::Fail(Failed(url, "resolve", "no answer within the timeout"));
  if (resolved->first) return core::Fail(Failed(url, "resolve", resolved->first.message()));
  return std::move(resolved->second);
}

// `timeout` covers what is left after the lookup: the stream's expiry covers connect, handshake,
// write and read.
asio::awaitable<core::Result<PostAnswer>> Post(const WebhookUrl& url, const Endpoints& endpoints,
                                               std::string_view json, const Headers& headers,
                                               std::chrono::milliseconds timeout,
                                               const std::string& ca_file) {
  auto executor = co_await asio::this_coro::executor;
  if (!url.tls) {
    beast::tcp_stream stream(executor);
    stream.expires_after(timeout);
    auto [connect_error, connected] = co_await stream.async_connect(endpoints, kNoThrow);
    if (connect_error) co_return core::Fail(Failed(url, "connect", connect_error.message()));
    auto status = co_await Exchange(stream, url, json, headers);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return status;
  }
  ssl::context context(ssl::context::tls_client);
  beast::error_code ec;
  if (ca_file.empty()) {
    context.set_default_verify_paths(ec);
  } else {
    context.load_verify_file(ca_file, ec);
  }
  if (ec) co_return core::Fail(Failed(url, "load CA certificates", ec.message()));
  context.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(executor, context);
  stream.set_verify_callback(ssl::host_name_verification(url.host));
  // SNI carries host names only (RFC 6066); the certificate check covers IP addresses too.
  if (!IsIpAddress(url.host) && !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    co_return core::Fail(Failed(url, "TLS", "cannot set the server name"));
  }
  beast::get_lowest_layer(stream).expires_after(timeout);
  auto [connect_error, connected] =
      co_await beast::get_lowest_layer(stream).async_connect(endpoints, kNoThrow);
  if (connect_error) co_return core::Fail(Failed(url, "connect", connect_error.message()));
  auto [handshake_error] = co_await stream.async_handshake(ssl::stream_base::client, kNoThrow);
  if (handshake_error) {
    co_return core::Fail(Failed(url, "TLS handshake", handshake_error.message()));
  }
  auto status = co_await Exchange(stream, url, json, headers);
  // No TLS close_notify exchange: the answer's status is all that is read, and a receiver that
  // never answers a close_notify would hold the sender for the rest of the timeout.
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return status;
}

}  // namespace

core::Result<WebhookUrl> ParseWebhookUrl(std::string_view text, std::string_view field) {
  const auto invalid = [&](const std::string& why) {
    return core::Fail(
        core::Error::InvalidArgument(std::string(field), "'" + UpToHost(text) + "…': " + why));
  };
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return invalid("not a URL");
  WebhookUrl url;

  const std::string scheme(parsed->scheme());
  if (scheme != "http" && scheme != "https") return invalid("must start with http:// or https://");
  url.tls = scheme == "https";
  url.host = std::string(parsed->host_address());  // IPv6 without its brackets
  if (url.host.empty()) return invalid("has no host");
  url.port = url.tls ? 443 : 80;
  if (parsed->has_port()) {
    const std::string_view port = parsed->port();
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return invalid("bad port");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  url.shown = scheme + "://" + std::string(parsed->encoded_host_and_port());
  url.target = std::string(parsed->encoded_path());
  if (url.target.empty()) url.target = "/";
  if (parsed->has_query()) url.target += "?" + std::string(parsed->encoded_query());
  return url;
}

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value,
                                                    std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::uint32_t seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc::result_out_of_range) return std::chrono::seconds(UINT32_MAX);
    return std::chrono::seconds(seconds);
  }
  std::istringstream in{std::string(value)};
  date::sys_seconds at;
  in >> date::parse("%a, %d %b %Y %T GMT", at);
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) return std::nullopt;
  return std::max(std::chrono::seconds(0),
                  std::chrono::duration_cast<std::chrono::seconds>(at - now));
}

core::Result<PostAnswer> PostJson(const WebhookUrl& url, std::string_view json,
                                  const Headers& headers, std::chrono::milliseconds timeout,
                                  const std::string& ca_file) {
  const auto started = std::chrono::steady_clock::now();
  auto endpoints = Resolve(url, timeout);
  if (!endpoints) return core::Fail(std::move(endpoints).error());
  // One deadline for the whole exchange: what the lookup took is not given again.
  const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  const auto left = std::max(timeout - spent, std::chrono::milliseconds(1));
  asio::io_context io;
  core::Result<PostAnswer> result = core::Fail(Failed(url, "post", "did not run"));
  asio::co_spawn(io, Post(url, *endpoints, json, headers, left, ca_file),
                 [&](std::exception_ptr error, core::Result<PostAnswer> status) {
                   result = error ? core::Result<PostAnswer>(
                                        core::Fail(Failed(url, "post", "unexpected exception")))
                                  : std::move(status);
                 });
  io.run();
  return result;
}

}  // namespace cidrotor::notify
