// PATCH and DELETE /api/numbers/{caller_id}.
#include "core/phone_number.h"
#include "http/error_response.h"
#include "http/handlers.h"
#include "http/json_codec.h"
#include "http/request_decoding.h"
#include "http/store_call.h"
#include "service/number_events.h"
#include "service/requests.h"

namespace cidrotor::http {
namespace {

core::Result<core::PhoneNumber> PathNumber(const RequestContext& context) {
  auto text = DecodePathSegment(context.path_param, "caller_id");
  if (!text) return core::Fail(std::move(text).error());
  return core::PhoneNumber::ParsePoolNumber(*text, "caller_id");
}

}  // namespace

boost::asio::awaitable<Response> HandlePatchNumber(const Request& request,
                                                   RequestContext& context) {
  auto caller_id = PathNumber(context);
  if (!caller_id) co_return ErrorResponse(caller_id.error());
  auto params = DecodeParams(request, ParamSources::kQueryAndBody);
  if (!params) co_return ErrorResponse(params.error());
  auto patch = service::ParseNumberPatch(*params, context.services.clock.Now());
  if (!patch) co_return ErrorResponse(patch.error());
  context.caller_id = caller_id->ToString();
  const bool rests = patch->rest_until.value_or(0) != 0;

  auto updated = co_await CallStore<core::NumberView>([&](store::Callback<core::NumberView> done) {
    context.services.store.UpdateNumber(*caller_id, std::move(*patch), std::move(done));
  });
  if (!updated) co_return ErrorResponse(updated.error());
  const auto& send_event = context.services.options.send_event;
  if (rests && updated->resting && send_event) {
    send_event(service::kNumberRestedEvent,
               service::NumberRestedJson(*updated, "admin", context.services.clock.Now()));
  }
  co_return JsonResponse({{"success", true}, {"number", NumberJson(*updated)}});
}

boost::asio::awaitable<Response> HandleDeleteNumber(const Request& /*request*/,
                                                    RequestContext& context) {
  auto caller_id = PathNumber(context);
  if (!caller_id) co_return ErrorResponse(caller_id.error());
  context.caller_id = caller_id->ToString();

  auto deleted = co_await CallStore<void>([&](store::Callback<void> done) {
    context.services.store.DeleteNumber(*caller_id, std::move(done));
  });
  if (!deleted) co_return ErrorResponse(deleted.error());
  co_return JsonResponse({{"success", true}, {"deleted", true}, {"caller_id", context.caller_id}});
}

}  // namespace cidrotor::http
