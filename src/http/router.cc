#include "http/router.h"

#include <algorithm>
#include <array>

#include "http/error_response.h"
#include "http/handlers.h"
#include "http/request_metrics.h"

namespace cidrotor::http {
namespace {

enum class Access : std::uint8_t { kOpen, kAdmin };
enum class Logging : std::uint8_t { kApiLog, kNone };
// Whether a GET route is safe (RFC 9110): it changes nothing, so it answers HEAD too.
enum class Safety : std::uint8_t { kSafe, kChangesState };

struct RouteEntry {
  Method method;
  std::string_view pattern;  // a path, or a prefix ending in one "{name}" segment
  Handler handler;
  Access access;
  Logging logging;
  Safety safety = Safety::kSafe;  // of a GET route; the other methods never answer HEAD
};

constexpr std::array kRoutes{
    RouteEntry{Method::kGet, "/health", HandleHealth, Access::kOpen, Logging::kNone},
    // Reserves a number: never reached by a HEAD, which clients and proxies send freely.
    RouteEntry{Method::kGet, "/next-cid", HandleNextCid, Access::kOpen, Logging::kApiLog,
               Safety::kChangesState},
    RouteEntry{Method::kPost, "/release", HandleRelease, Access::kOpen, Logging::kApiLog},
    RouteEntry{Method::kPost, "/add-number", HandleAddNumber, Access::kAdmin, Logging::kApiLog},
    RouteEntry{Method::kGet, "/api/numbers", HandleListNumbers, Access::kAdmin, Logging::kApiLog},
    RouteEntry{Method::kPost, "/api/numbers", HandleCreateNumber, Access::kAdmin, Logging::kApiLog},
    RouteEntry{Method::kPost, "/api/numbers/import", HandleImportNumbers, Access::kAdmin,
               Logging::kApiLog},
    RouteEntry{Method::kGet, "/api/numbers/{caller_id}", HandleGetNumber, Access::kAdmin,
               Logging::kApiLog},
    RouteEntry{Method::kPatch, "/api/numbers/{caller_id}", HandlePatchNumber, Access::kAdmin,
               Logging::kApiLog},
    RouteEntry{Method::kDelete, "/api/numbers/{caller_id}", HandleDeleteNumber, Access::kAdmin,
               Logging::kApiLog},
    RouteEntry{Method::kGet, "/api/campaigns", HandleListCampaigns, Access::kAdmin,
               Logging::kApiLog},
    RouteEntry{Method::kGet, "/api/campaigns/{campaign}", HandleGetCampaign, Access::kAdmin,
               Logging::kApiLog},
    RouteEntry{Method::kPut, "/api/campaigns/{campaign}", HandlePutCampaign, Access::kAdmin,
               Logging::kApiLog},
    RouteEntry{Method::kDelete, "/api/campaigns/{campaign}", HandleDeleteCampaign, Access::kAdmin,
               Logging::kApiLog},
    RouteEntry{Method::kGet, "/api/pools", HandleListPools, Access::kAdmin, Logging::kApiLog},
    RouteEntry{Method::kPut, "/api/pools/{pool}", HandlePutPool, Access::kAdmin, Logging::kApiLog},
    RouteEntry{Method::kGet, "/api/reservations", HandleListReservations, Access::kAdmin,
               Logging::kApiLog},
    RouteEntry{Method::kGet, "/api/logs", HandleListLogs, Access::kAdmin, Logging::kApiLog},
    RouteEntry{Method::kGet, "/api/coverage", HandleCoverage, Access::kAdmin, Logging::kApiLog},
    RouteEntry{Method::kGet, "/api/lookup", HandleLookup, Access::kAdmin, Logging::kApiLog},
    RouteEntry{Method::kGet, "/api/stats", HandleStats, Access::kAdmin, Logging::kApiLog},
    // Issue 6: sessions, observability, the API description and the dashboard (all open: SPEC).
    RouteEntry{Method::kPost, "/auth/token", HandleAuthToken, Access::kOpen, Logging::kApiLog},
    RouteEntry{Method::kGet, "/metrics", HandleMetrics, Access::kOpen, Logging::kNone},
    RouteEntry{Method::kGet, "/openapi.json", HandleOpenApi, Access::kOpen, Logging::kNone},
    RouteEntry{Method::kGet, "/dashboard", HandleDashboard, Access::kOpen, Logging::kNone},
    // The address as typed with a slash (its assets are named by absolute paths).
    RouteEntry{Method::kGet, "/dashboard/", HandleDashboard, Access::kOpen, Logging::kNone},
    RouteEntry{Method::kGet, "/dashboard/{asset}", HandleDashboardAsset, Access::kOpen,
               Logging::kNone},
};

constexpr auto kRouteInfos = [] {
  std::array<RouteInfo, kRoutes.size()> infos{};
  for (std::size_t i = 0; i < kRoutes.size(); ++i) {
    infos[i] =
        RouteInfo{kRoutes[i].method, kRoutes[i].pattern, kRoutes[i].access == Access::kAdmin};
  }
  return infos;
}();

constexpr std::size_t kMaxPathInDetail = 128;

// Whether `route` also answers HEAD (RFC 9110: the GET answer's headers, no body): every safe GET.
// /metrics counts a HEAD with its GET route.
constexpr bool AnswersHead(const RouteEntry& route) {
  return route.method == Method::kGet && route.safety == Safety::kSafe;
}

// Whether some route's pattern is exactly `path` (no "{name}"): that path is its, whatever the
// method, never a parameter of another (GET /api/numbers/import is a 405, not a caller_id).
bool IsLiteralPath(std::string_view path) {
  return std::any_of(kRoutes.begin(), kRoutes.end(),
                     [&](const RouteEntry& route) { return route.pattern == path; });
}

// Whether `path` matches `pattern`; a trailing "{name}" matches one non-empty segment, returned
// in `param`, unless the path is a literal route's.
bool Matches(std::string_view pattern, std::string_view path, std::string_view& param) {
  const auto brace = pattern.find('{');
  if (brace == std::string_view::npos) return pattern == path;
  const std::string_view prefix = pattern.substr(0, brace);
  if (path.substr(0, prefix.size()) != prefix) return false;
  const std::string_view rest = path.substr(prefix.size());
  if (rest.empty() || rest.find('/') != std::string_view::npos || IsLiteralPath(path)) {
    return false;
  }
  param = rest;
  return true;
}

// Counts the response for GET /metrics; `endpoint` is the route's index, kRoutes.size() when no
// route matched.
Response Counted(Response response, std::size_t endpoint, const RequestContext& context) {
  if (context.services.request_metrics != nullptr) {
    context.services.request_metrics->Record(endpoint, response.status);
  }
  return response;
}

}  // namespace

std::span<const RouteInfo> RegisteredRoutes() { return kRouteInfos; }

BodyPolicy BodyPolicyFor(std::string_view target, const ServerOptions& options) {
  constexpr std::string_view kImportPath = "/api/numbers/import";
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == kImportPath) {
    return {.limit = std::max(options.body_limit, options.import_body_limit), .stream = true};
  }
  return {.limit = options.body_limit, .stream = false};
}

boost::asio::awaitable<Response> Route(const Request& request, RequestContext& context) {
  const std::string_view path = request.path();
  std::string allow;  // methods of the path, for a 405
  for (std::size_t index = 0; index < kRoutes.size(); ++index) {
    const RouteEntry& route = kRoutes[index];
    std::string_view param;
    if (!Matches(route.pattern, path, param)) continue;
    const bool head_of_get = request.method == Method::kHead && AnswersHead(route);
    if (route.method != request.method && !head_of_get) {
      if (!allow.empty()) allow.append(", ");
      allow.append(MethodName(route.method));
      if (AnswersHead(route)) allow.append(", HEAD");
      continue;
    }
    context.log_request = route.logging == Logging::kApiLog;
    context.path_param = param;
    if (route.access == Access::kAdmin) {
      if (auto authorized = context.services.auth.Authorize(request.authorization); !authorized) {
        co_return Counted(ErrorResponse(authorized.error()), index, context);
      }
    }
    Response response = co_await route.handler(request, context);
    if (route.access == Access::kAdmin) {
      // The center's own data: kept by no cache (a proxy's, the browser's disk), and never read
      // as another type than it says.
      response.AddHeader("Cache-Control", "no-store");
      response.AddHeader("X-Content-Type-Options", "nosniff");
    }
    co_return Counted(std::move(response), index, context);
  }
  if (!allow.empty()) co_return Counted(MethodNotAllowedResponse(allow), kRoutes.size(), context);
  co_return Counted(ErrorResponse(core::Error::NotFound(
                        "no endpoint " + std::string(path.substr(0, kMaxPathInDetail)))),
                    kRoutes.size(), context);
}

}  // namespace cidrotor::http
