// GET /dashboard, GET /dashboard/{asset} and GET /openapi.json: files embedded at build time
// (embedded_files.h). Open (SPEC): the dashboard's data comes from the admin endpoints, which the
// page calls with its JWT. The page gets a Content-Security-Policy that allows only this origin,
// so neither an injected script nor a CDN could run in it.
#include "http/embedded_files.h"
#include "http/error_response.h"
#include "http/handlers.h"

namespace cidrotor::http {
namespace {

constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

std::string_view ContentTypeOf(std::string_view name) {
  auto ends_with = [name](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".json")) return kJsonContentType;
  return "application/octet-stream";
}

Response FileResponse(std::string_view name) {
  const EmbeddedFile* file = FindEmbeddedFile(name);
  if (file == nullptr) {
    return ErrorResponse(core::Error::NotFound("no such file: " + std::string(name)));
  }
  Response response;
  response.content_type = ContentTypeOf(name);
  response.body = std::string(file->data);
  // Assets change with the binary, not under it: revalidate rather than serve a stale page.
  response.AddHeader("Cache-Control", "no-cache");
  response.AddHeader("X-Content-Type-Options", "nosniff");
  return response;
}

}  // namespace

boost::asio::awaitable<Response> HandleOpenApi(const Request& /*request*/,
                                               RequestContext& /*context*/) {
  co_return FileResponse("openapi.json");
}

boost::asio::awaitable<Response> HandleDashboard(const Request& /*request*/,
                                                 RequestContext& /*context*/) {
  Response response = FileResponse("dashboard/index.html");
  response.AddHeader("Content-Security-Policy", kCsp);
  response.AddHeader("Referrer-Policy", "no-referrer");
  co_return response;
}

boost::asio::awaitable<Response> HandleDashboardAsset(const Request& /*request*/,
                                                      RequestContext& context) {
  const std::string_view asset = context.path_param;
  // Only the assets the page loads; index.html is served at /dashboard.
  if (asset == "index.html" || asset.find("..") != std::string_view::npos) {
    co_return ErrorResponse(core::Error::NotFound("no such file"));
  }
  co_return FileResponse("dashboard/" + std::string(asset));
}

}  // namespace cidrotor::http
