// The endpoint handlers the router's table points to, one small function each (~20 lines):
// decode params -> service:: parse -> co_await the store (store_call.h) -> encode. Each fills
// RequestContext's api_logs fields it knows. Admin authorization is done by Route() before.
// Include only from .cc files of http/ and tests (Asio).
#pragma once

#include <boost/asio/awaitable.hpp>

#include "http/message.h"
#include "http/router.h"

namespace cidrotor::http {

using Handler = boost::asio::awaitable<Response> (*)(const Request&, RequestContext&);

// handlers_health.cc: GET /health (open, never logged).
boost::asio::awaitable<Response> HandleHealth(const Request& request, RequestContext& context);

// handlers_calls.cc: the dialer's endpoints (open).
boost::asio::awaitable<Response> HandleNextCid(const Request& request, RequestContext& context);
boost::asio::awaitable<Response> HandleRelease(const Request& request, RequestContext& context);

// handlers_numbers.cc: the pool (admin).
boost::asio::awaitable<Response> HandleAddNumber(const Request& request, RequestContext& context);
boost::asio::awaitable<Response> HandleCreateNumber(const Request& request,
                                                    RequestContext& context);
boost::asio::awaitable<Response> HandleListNumbers(const Request& request, RequestContext& context);
boost::asio::awaitable<Response> HandleGetNumber(const Request& request, RequestContext& context);

// handlers_import.cc (admin): POST /api/numbers/import, a CSV body.
boost::asio::awaitable<Response> HandleImportNumbers(const Request& request,
                                                     RequestContext& context);

// handlers_number_changes.cc (admin).
boost::asio::awaitable<Response> HandlePatchNumber(const Request& request, RequestContext& context);
boost::asio::awaitable<Response> HandleDeleteNumber(const Request& request,
                                                    RequestContext& context);

// handlers_campaigns.cc (admin): campaigns → pools.
boost::asio::awaitable<Response> HandleListCampaigns(const Request& request,
                                                     RequestContext& context);
boost::asio::awaitable<Response> HandleGetCampaign(const Request& request, RequestContext& context);
boost::asio::awaitable<Response> HandlePutCampaign(const Request& request, RequestContext& context);
boost::asio::awaitable<Response> HandleDeleteCampaign(const Request& request,
                                                      RequestContext& context);

// handlers_pools.cc (admin): the pools and their fallback.
boost::asio::awaitable<Response> HandleListPools(const Request& request, RequestContext& context);
boost::asio::awaitable<Response> HandlePutPool(const Request& request, RequestContext& context);

// handlers_history.cc (admin).
// GET /api/coverage: service/coverage.h's report.
boost::asio::awaitable<Response> HandleCoverage(const Request& request, RequestContext& context);
// GET /api/lookup: who used a number last, and which of its calls reached `from` (404: not in
// the pool; "called" only with `from`).
boost::asio::awaitable<Response> HandleLookup(const Request& request, RequestContext& context);
boost::asio::awaitable<Response> HandleListReservations(const Request& request,
                                                        RequestContext& context);
boost::asio::awaitable<Response> HandleListLogs(const Request& request, RequestContext& context);
boost::asio::awaitable<Response> HandleStats(const Request& request, RequestContext& context);

// handlers_auth.cc (open): POST /auth/token, the admin token (or a valid JWT) for a JWT.
boost::asio::awaitable<Response> HandleAuthToken(const Request& request, RequestContext& context);

// handlers_metrics.cc (open): GET /metrics, Prometheus text format.
boost::asio::awaitable<Response> HandleMetrics(const Request& request, RequestContext& context);

// handlers_static.cc (open): files embedded at build time (web/, docs/openapi.json).
boost::asio::awaitable<Response> HandleOpenApi(const Request& request, RequestContext& context);
boost::asio::awaitable<Response> HandleDashboard(const Request& request, RequestContext& context);
boost::asio::awaitable<Response> HandleDashboardAsset(const Request& request,
                                                      RequestContext& context);

}  // namespace cidrotor::http
