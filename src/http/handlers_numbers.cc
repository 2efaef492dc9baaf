// POST /add-number, POST /api/numbers, GET /api/numbers, GET /api/numbers/{caller_id}.
#include <boost/json/array.hpp>

#include "core/phone_number.h"
#include "http/error_response.h"
#include "http/handlers.h"
#include "http/json_codec.h"
#include "http/request_decoding.h"
#include "http/store_call.h"
#include "service/requests.h"

namespace cidrotor::http {
namespace {

// Adds one number; `status` is 200 for the seed's /add-number, 201 for /api/numbers.
boost::asio::awaitable<Response> AddNumber(const Request& request, RequestContext& context,
                                           unsigned status) {
  auto params = DecodeParams(request, ParamSources::kQueryAndBody);
  if (!params) co_return ErrorResponse(params.error());
  auto spec = service::ParseNumberSpec(*params);
  if (!spec) co_return ErrorResponse(spec.error());

  auto added = co_await CallStore<core::NumberView>([&](store::Callback<core::NumberView> done) {
    context.services.store.AddNumber(std::move(*spec), std::move(done));
  });
  if (!added) co_return ErrorResponse(added.error());
  context.caller_id = added->spec.caller_id.ToString();
  co_return JsonResponse(
      {{"success", true}, {"caller_id", context.caller_id}, {"number", NumberJson(*added)}},
      status);
}

}  // namespace

boost::asio::awaitable<Response> HandleAddNumber(const Request& request, RequestContext& context) {
  return AddNumber(request, context, 200);
}

boost::asio::awaitable<Response> HandleCreateNumber(const Request& request,
                                                    RequestContext& context) {
  return AddNumber(request, context, 201);
}

boost::asio::awaitable<Response> HandleListNumbers(const Request& request,
                                                   RequestContext& context) {
  auto params = DecodeParams(request, ParamSources::kQuery);
  if (!params) co_return ErrorResponse(params.error());
  auto filter = service::ParseNumberFilter(*params);
  if (!filter) co_return ErrorResponse(filter.error());

  auto page = co_await CallStore<store::NumberPage>([&](store::Callback<store::NumberPage> done) {
    context.services.store.ListNumbers(*filter, std::move(done));
  });
  if (!page) co_return ErrorResponse(page.error());
  boost::json::array numbers;
  numbers.reserve(page->numbers.size());
  for (const auto& number : page->numbers) numbers.emplace_back(NumberJson(number));
  // The next page: after this one's last number (pages by `after` neither skip nor repeat a
  // number while others are added or deleted); null when this page is the last.
  const bool more = filter->offset + page->numbers.size() < page->total && !page->numbers.empty();
  co_return JsonResponse(
      {{"success", true},
       {"total", page->total},
       {"offset", filter->offset},
       {"limit", filter->limit},
       {"next_after", more ? boost::json::value(page->numbers.back().spec.caller_id.ToString())
                           : boost::json::value(nullptr)},
       {"numbers", std::move(numbers)}});
}

boost::asio::awaitable<Response> HandleGetNumber(const Request& /*request*/,
                                                 RequestContext& context) {
  auto text = DecodePathSegment(context.path_param, "caller_id");
  if (!text) co_return ErrorResponse(text.error());
  auto caller_id = core::PhoneNumber::ParsePoolNumber(*text, "caller_id");
  if (!caller_id) co_return ErrorResponse(caller_id.error());

  auto number = co_await CallStore<core::NumberView>([&](store::Callback<core::NumberView> done) {
    context.services.store.GetNumber(*caller_id, std::move(done));
  });
  if (!number) co_return ErrorResponse(number.error());
  co_return JsonResponse({{"success", true}, {"number", NumberJson(*number)}});
}

}  // namespace cidrotor::http
