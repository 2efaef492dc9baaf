// POST /api/numbers/import (admin): a pool CSV as the body (SPEC "CSV format", the same rules as
// `cidrotor import`: service/number_rows.h), `on_duplicate=update|skip|fail` as a query parameter.
// Good rows go to the store in one Store::ImportNumbers call, so they are allocatable as soon as
// the answer is sent. Answer: {"success":true,"rows":N,"imported":N,"updated":N,"skipped":N,
// "rejected":N,"warnings":[...],"rejects":[{"line":N,"reason":"..."}, ...first 1,000]}.
// A bad header is 400 (field "header"); bad rows never fail the request.
//
// The body arrives whole (the session reads up to ServerOptions::import_body_limit, 64 MiB by
// default, for this route only) and is parsed on the I/O thread: about 0.3 s per million rows.
#include <algorithm>
#include <boost/json/array.hpp>
#include <utility>

#include "http/error_response.h"
#include "http/handlers.h"
#include "http/json_codec.h"
#include "http/request_decoding.h"
#include "http/store_call.h"
#include "service/field_parsers.h"
#include "service/number_rows.h"

namespace cidrotor::http {
namespace {

constexpr std::size_t kMaxRejectsListed = 1000;

}  // namespace

boost::asio::awaitable<Response> HandleImportNumbers(const Request& request,
                                                     RequestContext& context) {
  auto params = DecodeParams(request, ParamSources::kQuery);
  if (!params) co_return ErrorResponse(params.error());
  auto on_duplicate = service::ParseIfPresent(*params, "on_duplicate", [](std::string_view t) {
    return service::ParseOnDuplicate(t, "on_duplicate");
  });
  if (!on_duplicate) co_return ErrorResponse(on_duplicate.error());

  service::CsvImportReader reader;
  reader.Feed(request.body);
  auto csv = reader.Finish();
  if (!csv) co_return ErrorResponse(csv.error());

  const std::vector<std::uint64_t> lines = std::move(csv->lines);
  auto result =
      co_await CallStore<store::ImportResult>([&](store::Callback<store::ImportResult> done) {
        context.services.store.ImportNumbers(std::move(csv->items),
                                             on_duplicate->value_or(store::OnDuplicate::kUpdate),
                                             std::move(done));
      });
  if (!result) co_return ErrorResponse(result.error());

  // Bad rows and rows already in the store (on_duplicate=fail), in line order.
  std::vector<std::pair<std::uint64_t, std::string>> rejects;
  rejects.reserve(csv->rejects.size() + result->duplicates.size());
  for (auto& reject : csv->rejects) rejects.emplace_back(reject.line, std::move(reject.reason));
  for (const std::size_t i : result->duplicates) {
    rejects.emplace_back(lines[i], "caller_id: already in the store");
  }
  std::sort(rejects.begin(), rejects.end());
  boost::json::array listed;
  for (std::size_t i = 0; i < rejects.size() && i < kMaxRejectsListed; ++i) {
    listed.push_back(
        boost::json::object{{"line", rejects[i].first}, {"reason", rejects[i].second}});
  }
  boost::json::array warnings;
  for (const auto& warning : csv->warnings) warnings.emplace_back(warning);
  co_return JsonResponse({{"success", true},
                          {"rows", csv->rows},
                          {"imported", result->imported},
                          {"updated", result->updated},
                          {"skipped", result->skipped},
                          {"rejected", rejects.size()},
                          {"warnings", std::move(warnings)},
                          {"rejects", std::move(listed)}});
}

}  // namespace cidrotor::http
