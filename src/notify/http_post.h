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

// POSTs `json` to `url` and returns the response's status code (any code: the caller decides).
// `ca_file` (PEM), when not empty, replaces the system's CAs for https. Errors: kUnavailable
// naming the URL and what failed (resolve, connect, TLS, timeout).
[[nodiscard]] core::Result<unsigned> PostJson(const WebhookUrl& url, std::string_view json,
                                              const Headers& headers,
                                              std::chrono::milliseconds timeout,
                                              const std::string& ca_file = {});

}  // namespace cidrotor::notify
