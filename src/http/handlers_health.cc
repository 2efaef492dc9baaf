// GET /health: lean on purpose (benchmarked against nginx): one store snapshot, one small string,
// no api_logs row.
#include "http/handlers.h"
#include "http/json_codec.h"

namespace cidrotor::http {

boost::asio::awaitable<Response> HandleHealth(const Request& /*request*/, RequestContext& context) {
  const store::StoreHealth health = context.services.store.Health();
  const std::string_view status = !health.can_allocate ? "unhealthy"
                                  : health.degraded    ? "degraded"
                                                       : "healthy";
  Response response;
  response.status = health.can_allocate ? 200 : 503;
  response.body =
      HealthBody(status, health, context.services.clock.Now(), context.services.options.version);
  co_return response;
}

}  // namespace cidrotor::http
