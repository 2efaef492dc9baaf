// GET /next-cid and POST /release: the dialer's two calls, on the benchmarked path.
#include "core/allocation.h"
#include "http/error_response.h"
#include "http/handlers.h"
#include "http/json_codec.h"
#include "http/request_decoding.h"
#include "http/store_call.h"
#include "service/requests.h"

namespace cidrotor::http {

boost::asio::awaitable<Response> HandleNextCid(const Request& request, RequestContext& context) {
  // plain: the 10 digits, `${CURL(...)}` is the caller-ID. csv: `caller_id,reservation_id`, for
  // a dialplan that CUTs both and releases by the reservation (deploy/asterisk). Both answer
  // every error with an empty body, also one in the query itself (a dialplan that uses the
  // answer as CALLERID(num) must never present a JSON text): so the format is read first, raw.
  const std::string_view raw_format = RawFormat(request);
  bool plain = raw_format == "plain" || raw_format == "csv";
  auto refuse = [&plain](const core::Error& error) {
    return plain ? PlainErrorResponse(error) : ErrorResponse(error);
  };
  auto params = DecodeParams(request, ParamSources::kQuery);
  if (!params) co_return refuse(params.error());
  const auto format = params->Get("format");
  if (format && *format != "json" && *format != "plain" && *format != "csv") {
    co_return refuse(core::Error::InvalidArgument("format", "must be json, plain or csv"));
  }
  plain = format == "plain" || format == "csv";  // as decoded (an escaped "plain" too)
  auto names = service::NamesToLog(*params);     // also for a refused request
  context.agent = std::move(names.agent);
  context.campaign = std::move(names.campaign);

  auto allocation_request = service::ParseAllocateRequest(*params);
  if (!allocation_request) co_return refuse(allocation_request.error());
  auto allocation =
      co_await CallStore<core::Allocation>([&](store::Callback<core::Allocation> done) {
        context.services.store.Allocate(std::move(*allocation_request), std::move(done));
      });
  if (!allocation) co_return refuse(allocation.error());

  context.caller_id = allocation->reservation.caller_id.ToString();
  Response response;
  if (plain) {
    response.content_type = kTextContentType;
    response.body = context.caller_id;
    if (format == "csv") response.body += "," + std::to_string(allocation->reservation.id);
  } else {
    response.body = NextCidBody(*allocation);
  }
  co_return response;
}

boost::asio::awaitable<Response> HandleRelease(const Request& request, RequestContext& context) {
  auto params = DecodeParams(request, ParamSources::kQueryAndBody);
  if (!params) co_return ErrorResponse(params.error());
  auto release_request = service::ParseReleaseRequest(*params);
  if (!release_request) co_return ErrorResponse(release_request.error());
  if (release_request->caller_id) context.caller_id = release_request->caller_id->ToString();

  auto released =
      co_await CallStore<core::ReleaseResult>([&](store::Callback<core::ReleaseResult> done) {
        context.services.store.Release(*release_request, std::move(done));
      });
  if (!released) co_return ErrorResponse(released.error());
  if (released->reservation) {
    context.caller_id = released->reservation->caller_id.ToString();
    context.agent = released->reservation->agent;
    context.campaign = released->reservation->campaign;
  }
  Response response;
  response.body = ReleaseBody(*release_request, *released);
  co_return response;
}

}  // namespace cidrotor::http
