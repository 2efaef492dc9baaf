// One HTTP(S) POST with a JSON body, synchronously, under one deadline for the whole exchange
// (resolve, connect, TLS handshake, write, read): what a webhook delivery needs and no more.
// https verifies the server's certificate against the system's CAs (or `ca_file`) and its host
// name. Beast/Asio stay inside the .cc.
//
// Example:
//   auto url = ParseWebhookUrl("https://hooks.example.com/cid?x=1");
//   auto status = PostJson(*url, R"({"event":"pool_dry"})", {{"X-Cidrotor-Event", "pool_dry"}},
//                          std::chrono::seconds(5));
//
// Thread-safety: each call is independent (its own io_context and connection).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace cidrotor::notify {

struct WebhookUrl {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string target;  // path and query, "/" at least
  std::string shown;   // scheme://host[:port], for logs: a path or query may carry a token
};

// http:// or https:// with a host; the port defaults to 80/443. Errors: kInvalidArgument naming
// `field` (e.g. "WEBHOOK_URLS") with what is wrong.
[[nodiscard]] core::Result<WebhookUrl> ParseWebhookUrl(std::string_view text,
                                                       std::string_view field = "WEBHOOK_URLS");

using Headers = std::vector<std::pair<std::string, std::string>>;

// A receiver's answer: its status code (any code: the caller decides) and, when it sent a
// Retry-After (RFC 9110: delay-seconds or an HTTP-date), how long it asked to be left alone.
struct PostAnswer {
  unsigned status = 0;
  std::optional<std::chrono::seconds> retry_after;
};

// A Retry-After value as a delay from `now`: delay-seconds ("120") or an IMF-fixdate ("Fri, 27
// Nov 2026 13:00:00 GMT"; a date already past is 0 s). nullopt for anything else.
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value,
                                                    std::chrono::system_clock::time_point now);

// POSTs `json` to `url` and returns the response's status (and Retry-After).
// `ca_file` (PEM), when not empty, replaces the system's CAs for https. Errors: kUnavailable
// naming the URL and what failed (resolve, connect, TLS, timeout).
[[nodiscard]] core::Result<PostAnswer> PostJson(const WebhookUrl& url, std::string_view json,
                                                const Headers& headers,
                                                std::chrono::milliseconds timeout,
                                                const std::string& ca_file = {});

}  // namespace cidrotor::notify
