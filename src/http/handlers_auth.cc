// POST /auth/token: a short-lived JWT for the admin token (SPEC "Administration").
//
// The admin token comes in the body ({"token":"..."} as JSON or a form) or as
// `Authorization: Bearer <admin token>`; a valid JWT in the Authorization header renews its
// session instead (the dashboard does that before expiry). The query string is never read: a
// token there would end up in proxies' logs.
#include "http/error_response.h"
#include "http/handlers.h"
#include "http/json_codec.h"
#include "http/jwt_sessions.h"
#include "http/request_decoding.h"

namespace cidrotor::http {
namespace {

Response TokenResponse(const IssuedToken& issued) {
  Response response = JsonResponse({{"access_token", issued.access_token},
                                    {"token_type", "bearer"},
                                    {"expires_in", issued.expires_in.count()}});
  response.AddHeader("Cache-Control", "no-store");
  return response;
}

}  // namespace

boost::asio::awaitable<Response> HandleAuthToken(const Request& request, RequestContext& context) {
  const Services& services = context.services;
  if (services.jwt == nullptr) {
    co_return ErrorResponse(core::Error::Unavailable("JWT sessions need SECRET_KEY to be set"));
  }
  Request body_only = request;
  body_only.target = request.path();
  auto params = DecodeParams(body_only, ParamSources::kQueryAndBody);
  if (!params) co_return ErrorResponse(params.error());

  const StaticTokenVerifier admin(services.options.admin_token);
  if (const auto token = params->Get("token")) {
    if (!admin.Verify(*token)) co_return ErrorResponse(core::Error::Unauthorized("invalid token"));
  } else if (const auto bearer = BearerToken(request.authorization)) {
    if (!admin.Verify(*bearer)) {
      auto renewed = services.jwt->Renew(*bearer);
      if (!renewed) co_return ErrorResponse(renewed.error());
      co_return TokenResponse(*renewed);
    }
  } else {
    co_return ErrorResponse(
        core::Error::InvalidArgument("token", "send the admin token as {\"token\":\"...\"}"));
  }
  auto issued = services.jwt->Issue();
  if (!issued) co_return ErrorResponse(issued.error());
  co_return TokenResponse(*issued);
}

}  // namespace cidrotor::http
