// The router: method + path -> handler, over a static table (router.cc). Route() authorizes admin
// endpoints, answers 404 (unknown path) and 405 (known path, other method) itself, and otherwise
// awaits the handler. Handlers are thin: decode params -> service parse -> co_await the store ->
// encode (handlers.h). Neither Route nor the handlers touch sockets, so tests drive them with a
// fake Store. Include only from .cc files of http/ and tests (Asio).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "http/auth.h"
#include "http/message.h"
#include "http/server.h"
#include "service/activity_history.h"
#include "service/allocation_telemetry.h"
#include "service/coverage.h"
#include "store/store.h"

namespace cidrotor::notify {
class WebhookSender;
}  // namespace cidrotor::notify

namespace cidrotor::http {

class JwtSessions;
class RequestMetrics;

// Shared by every request of a server; immutable or thread-safe, so safe on every I/O thread.
struct Services {
  store::Store& store;
  const core::Clock& clock;
  const ServerOptions& options;
  const Authenticator& auth;
  // Issues the JWTs of POST /auth/token; null when no SECRET_KEY is configured (503 there).
  const JwtSessions* jwt = nullptr;
  // Counted by Route() for GET /metrics; null: not counted.
  RequestMetrics* request_metrics = nullptr;
  // Allocation figures for /metrics and /api/stats; null: those parts are left out.
  const service::AllocationTelemetry* telemetry = nullptr;
  // GET /api/coverage's last report; null: every request reads the store.
  service::CoverageCache* coverage_cache = nullptr;
  // The automatic rests' checks, for /metrics; null: left out.
  const service::AutoRestCounters* auto_rest = nullptr;
  // /api/stats' history of allocations (every instance's, across restarts); null: the live view
  // shows this process's own counts alone.
  service::ActivityHistory* activity_history = nullptr;
  // The webhooks' counters, for /metrics; null: left out.
  const notify::WebhookSender* webhooks = nullptr;
};

// One request's context: the services, the matched path parameter, and what the handler notes
// for the request's api_logs row.
struct RequestContext {
  explicit RequestContext(const Services& s) : services(s) {}

  const Services& services;
  std::string_view path_param;  // raw (percent-encoded) trailing `{name}` segment of the route
  bool log_request = true;      // false for /health: never written to api_logs
  std::string agent;            // for api_logs; empty when unknown
  std::string campaign;
  std::string caller_id;  // the allocated caller-ID, when one was
};

// One entry of the route table, as GET /openapi.json's test and GET /metrics see it.
struct RouteInfo {
  Method method;
  std::string_view pattern;  // "/api/numbers/{caller_id}"
  bool admin;                // needs the admin token or a JWT
};

// Every route the router serves, in table order; a route's position is its endpoint index in
// RequestMetrics (whose last slot, RegisteredRoutes().size(), counts unmatched requests).
std::span<const RouteInfo> RegisteredRoutes();

// How the session reads the body of a request for `target` (origin-form, query allowed).
struct BodyPolicy {
  std::size_t limit = 0;  // larger bodies are refused (413)
  bool stream = false;    // handed to the handler as Request::body_stream instead of buffered
};

// options.body_limit, buffered; for /api/numbers/import, options.import_body_limit, streamed.
BodyPolicy BodyPolicyFor(std::string_view target, const ServerOptions& options);

// Answers one request. Never throws for bad input (those are 4xx responses).
boost::asio::awaitable<Response> Route(const Request& request, RequestContext& context);

}  // namespace cidrotor::http
