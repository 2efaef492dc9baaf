// The HTTP API server: Boost.Beast over C++20 coroutines, one coroutine per connection.
//
// Serves the SPEC's endpoints (GET /next-cid, POST /release, POST /add-number, /api/numbers...,
// /api/reservations, /api/logs, /api/stats, GET /health) over HTTP/1.1 with keep-alive, on an
// io_context the caller runs with one or more threads. Every request but /health is appended to
// api_logs through Store::AppendLog.
//
// Thread-safety: Listen() and Start() are called once each, in that order, before or while the
// io_context runs. Stop() may be called from any thread, any number of times.
// Ownership: the server references `io`, the store and the clock, which must outlive it. The
// server must outlive the io_context's run() (destroy it after run() returned or after Stop()
// and every session ended).
// This header is free of Beast/Asio includes on purpose (an Asio TU costs ~8 s to compile).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/calendar.h"
#include "core/clock.h"
#include "core/number_index.h"
#include "core/result.h"
#include "store/store.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace cidrotor::service {
class AllocationTelemetry;
struct AutoRestCounters;
}  // namespace cidrotor::service

namespace cidrotor::notify {
class WebhookSender;
}  // namespace cidrotor::notify

namespace cidrotor::http {

struct ServerOptions {
  // Bearer token for the admin endpoints; empty = admin endpoints always answer 401.
  std::string admin_token;
  // Reported by GET /health.
  std::string version = "0.1.0";
  // Connections open at once, so a flood of idle clients can take neither every descriptor (the
  // store's, FastAGI's) nor kilobytes each without bound. At the limit a new connection takes the
  // place of an idle keep-alive one (closed between two requests, as a keep-alive timeout would:
  // a client sends its next request on a new connection), so such a flood cannot lock the dialer
  // out; nor can one of half-sent requests: when none is idle, one whose request has been arriving
  // for longer than slow_request_grace gives its place (a review held every place with one byte
  // each, every /next-cid and /health 503 for the 30 s read timeout). When every one is
  // mid-request and recent, the new one gets 503 and is closed at once.
  // A dialer keeps a few dozen open; serve lowers it to half the open-files limit when that is
  // less (kOpenFilesParts).
  std::size_t max_connections = 10'000;
  // Largest request body accepted, in bytes; larger ones get 413.
  std::size_t body_limit = 64 * 1024;
  // Largest CSV body of POST /api/numbers/import (the one route allowed more), in bytes. The
  // body is streamed (never held whole), so this bounds the import's duration, not memory.
  // Default 1 GiB (about 20 million rows).
  std::size_t import_body_limit = std::size_t{1} << 30;
  // Deadline for reading one request (header and body), and for writing its response.
  std::chrono::seconds read_timeout{30};
  // At max_connections, a request arriving for longer than this may be closed for a new
  // connection (above). A dialer's request arrives in one packet, within a millisecond.
  std::chrono::milliseconds slow_request_grace{1'000};
  // How long an idle keep-alive connection is kept open waiting for the next request.
  std::chrono::seconds idle_timeout{75};
  // SECRET_KEY: the HS256 key of the JWTs POST /auth/token issues; empty = no JWT sessions
  // (POST /auth/token answers 503, admin endpoints take the admin token only).
  std::string jwt_secret{};
  // Lifetime of each JWT. Default an hour (SPEC's example answer); the dashboard renews before
  // expiry.
  std::chrono::seconds jwt_ttl{60 * 60};
  // DEFAULT_HOURLY_LIMIT / DEFAULT_DAILY_LIMIT, WARMUP_DAYS and PROBATION_*: the caps the coverage
  // report counts, as the store applies them.
  core::IndexOptions caps{};
  // TIMEZONE's hours and days, in which the coverage report counts as the caps do; null: UTC.
  // Must outlive the server.
  const core::Calendar* calendar = nullptr;
  // Queues a webhook event (name, JSON text) for WEBHOOK_URLS, never blocking: an admin's rest
  // sends "number_rested". Null when no webhook is configured.
  std::function<void(std::string_view event, std::string json)> send_event{};
};

struct ServerContext {
  store::Store& store;
  const core::Clock& clock;
  ServerOptions options;
  // Allocation figures shown by GET /metrics and /api/stats (fed by a service::ObservedStore in
  // front of `store`); null leaves them out. Must outlive the server.
  const service::AllocationTelemetry* telemetry = nullptr;
  // What the automatic rests' checks did, for GET /metrics; null leaves it out. Must outlive the
  // server.
  const service::AutoRestCounters* auto_rest = nullptr;
  // The io_contexts that run the connections, new ones round-robin; each should be run by one
  // thread, so a connection stays on its thread and the contexts share no queue or lock (a
  // shared multi-threaded io_context hands completions between threads, which shows in the tail
  // latency). Empty: connections run on the server's own io_context. Must outlive the server.
  std::vector<boost::asio::io_context*> session_contexts{};
  // The webhooks' delivery counters and queue, for GET /metrics; null leaves them out (no
  // WEBHOOK_URLS). Must outlive the server.
  const notify::WebhookSender* webhooks = nullptr;
};

// The share of the process's descriptors ServerOptions::max_connections may take
// (net::ConnectionCapFor).
inline constexpr std::size_t kOpenFilesParts = 2;

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, ServerContext context);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens on host:port (an IP address or a resolvable name); port 0 picks a free
  // port. Returns the bound port, or kUnavailable naming host:port and the reason.
  [[nodiscard]] core::Result<std::uint16_t> Listen(const std::string& host, std::uint16_t port);

  // Spawns the accept loop on the io_context. REQUIRES: Listen() succeeded.
  void Start();

  // Graceful stop, callable from any thread (e.g. a signal handler's coroutine): stops
  // accepting, lets in-flight requests finish and answers them with `Connection: close`, closes
  // idle keep-alive connections. Once every session has ended the server holds no more work on
  // the io_context, so io.run() returns (if nothing else keeps it busy). Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cidrotor::http
