// POST /api/numbers/import (admin): a pool CSV as the body (SPEC "CSV format", the same rules as
// `cidrotor import`: service/number_rows.h), `on_duplicate=update|skip|fail` as a query parameter.
// Answer: {"success":true,"rows":N,"imported":N,"updated":N,"skipped":N,"rejected":N,
// "warnings":[...],"rejects":[{"line":N,"reason":"..."}, ...first 1,000 in line order]}.
// A bad header is 400 (field "header"); bad rows never fail the request.
//
// The body is streamed (Request::body_stream): each chunk is parsed on arrival and every
// kBatchRows good rows go to the store in one Store::ImportNumbers call, so the server holds one
// batch, not the file, and a million-row upload needs a few MB. Rows are allocatable as soon as
// their batch completes. A batch the store cannot keep (503) ends the request: the batches before
// it stay, and rerunning the same file completes the import (SPEC: imports are idempotent); its
// error body then also carries the counts so far (ErrorAfterBatches).
#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
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
constexpr std::size_t kBatchRows = 65'536;

using LineReason = std::pair<std::uint64_t, std::string>;

// What the answer reports. Rejects arrive in line order from two sources (bad rows, and rows
// the store refused: duplicates, or beyond its limits); the first kMaxRejectsListed of each are
// enough to list the first kMaxRejectsListed of both, so no more are kept.
struct ImportTally {
  std::uint64_t rows = 0;
  std::uint64_t imported = 0;
  std::uint64_t updated = 0;
  std::uint64_t skipped = 0;
  std::uint64_t rejected = 0;
  std::vector<LineReason> bad_rows;
  std::vector<LineReason> refused;

  static void Keep(std::vector<LineReason>& list, std::uint64_t line, std::string reason) {
    if (list.size() < kMaxRejectsListed) list.emplace_back(line, std::move(reason));
  }
};

// Imports the rows read so far (all of `read`'s items, moved out) and counts the outcome.
// (`read` by reference: g++ 12 can destroy a by-value temporary in a co_await expression twice.)
boost::asio::awaitable<core::Result<void>> ImportBatch(store::Store& store,
                                                       service::CsvImport& read,
                                                       store::OnDuplicate on_duplicate,
                                                       ImportTally& tally) {
  tally.rows = read.rows;
  tally.rejected += read.rejects.size();
  for (auto& reject : read.rejects) {
    ImportTally::Keep(tally.bad_rows, reject.line, std::move(reject.reason));
  }
  if (read.items.empty()) co_return core::Result<void>();
  auto result =
      co_await CallStore<store::ImportResult>([&](store::Callback<store::ImportResult> done) {
        store.ImportNumbers(std::move(read.items), on_duplicate, std::move(done));
      });
  if (!result) co_return core::Fail(std::move(result.error()));
  tally.imported += result->imported;
  tally.updated += result->updated;
  tally.skipped += result->skipped;
  std::vector<std::pair<std::size_t, std::string>> refused;
  refused.reserve(result->duplicates.size() + result->refused.size());
  for (const std::size_t i : result->duplicates) {
    refused.emplace_back(i, "caller_id: already in the store");
  }
  for (const auto& [i, error] : result->refused)
    refused.emplace_back(i, service::RejectReason(error));
  tally.rejected += refused.size();
  std::sort(refused.begin(), refused.end());
  for (auto& [i, reason] : refused) ImportTally::Keep(tally.refused, read.lines[i], reason);
  co_return core::Result<void>();
}

// Feeds the whole body to `reader`, importing a batch whenever kBatchRows good rows (or rejects)
// are read.
boost::asio::awaitable<core::Result<void>> ReadAndImport(const Request& request,
                                                         service::CsvImportReader& reader,
                                                         store::Store& store,
                                                         store::OnDuplicate on_duplicate,
                                                         ImportTally& tally) {
  if (request.body_stream == nullptr) {
    reader.Feed(request.body);
    co_return core::Result<void>();
  }
  for (;;) {
    auto chunk = co_await request.body_stream->Next();
    if (!chunk) co_return core::Fail(std::move(chunk.error()));
    if (chunk->empty()) co_return core::Result<void>();
    reader.Feed(*chunk);
    if (reader.header_error()) co_return core::Fail(*reader.header_error());
    // Rejects too: each holds its row's fields, and a body of bad rows (a file with `;` for `,`)
    // otherwise stayed whole in memory, hundreds of MB for a million rows.
    if (reader.pending_items() >= kBatchRows || reader.pending_rejects() >= kBatchRows) {
      service::CsvImport batch = reader.TakeRead();
      auto imported = co_await ImportBatch(store, batch, on_duplicate, tally);
      if (!imported) co_return imported;
    }
  }
}

// An error that ends the import after batches were kept: the error body also says what they
// imported, updated, skipped and rejected ("rows": read so far), so a client can tell the
// operator that a rerun completes the import rather than that nothing was imported.
Response ErrorAfterBatches(const core::Error& error, const ImportTally& tally) {
  Response response = ErrorResponse(error);
  if (tally.imported + tally.updated + tally.skipped == 0) return response;
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(response.body, ec);
  if (ec || !body.is_object()) return response;
  boost::json::object& o = body.as_object();
  o["rows"] = tally.rows;
  o["imported"] = tally.imported;
  o["updated"] = tally.updated;
  o["skipped"] = tally.skipped;
  o["rejected"] = tally.rejected;
  response.body = boost::json::serialize(body);
  return response;
}

Response SummaryResponse(ImportTally& tally, const std::vector<std::string>& warnings) {
  std::vector<LineReason> rejects = std::move(tally.bad_rows);
  rejects.insert(rejects.end(), std::make_move_iterator(tally.refused.begin()),
                 std::make_move_iterator(tally.refused.end()));
  std::sort(rejects.begin(), rejects.end());
  boost::json::array listed;
  for (std::size_t i = 0; i < rejects.size() && i < kMaxRejectsListed; ++i) {
    listed.push_back(
        boost::json::object{{"line", rejects[i].first}, {"reason", rejects[i].second}});
  }
  boost::json::array warning_list;
  for (const auto& warning : warnings) warning_list.emplace_back(warning);
  return JsonResponse({{"success", true},
                       {"rows", tally.rows},
                       {"imported", tally.imported},
                       {"updated", tally.updated},
                       {"skipped", tally.skipped},
                       {"rejected", tally.rejected},
                       {"warnings", std::move(warning_list)},
                       {"rejects", std::move(listed)}});
}

}  // namespace

boost::asio::awaitable<Response> HandleImportNumbers(const Request& request,
                                                     RequestContext& context) {
  auto params = DecodeParams(request, ParamSources::kQuery);
  if (!params) co_return ErrorResponse(params.error());
  if (IsMultipart(request)) {  // its boundary line would be read as the CSV's header
    co_return ErrorResponse(core::Error::InvalidArgument(
        "body",
        "is a multipart form (curl -F): send the CSV file itself as the body (curl "
        "--data-binary @pool.csv -H 'Content-Type: text/csv')"));
  }
  // A misspelt on_duplicate=skip would update every number already there.
  auto known = service::RefuseUnknownFields(*params, {"on_duplicate"}, "an import's query");
  if (!known) co_return ErrorResponse(known.error());
  auto on_duplicate = service::ParseIfPresent(*params, "on_duplicate", [](std::string_view t) {
    return service::ParseOnDuplicate(t, "on_duplicate");
  });
  if (!on_duplicate) co_return ErrorResponse(on_duplicate.error());
  const auto policy = on_duplicate->value_or(store::OnDuplicate::kUpdate);
  store::Store& store = context.services.store;

  service::CsvImportReader reader(core::ToCompact(context.services.clock.Now()));
  ImportTally tally;
  auto read = co_await ReadAndImport(request, reader, store, policy, tally);
  if (!read) co_return ErrorAfterBatches(read.error(), tally);
  auto rest = reader.Finish();
  if (!rest) co_return ErrorResponse(rest.error());
  const std::vector<std::string> warnings = std::move(rest->warnings);
  auto imported = co_await ImportBatch(store, *rest, policy, tally);
  if (!imported) co_return ErrorAfterBatches(imported.error(), tally);
  co_return SummaryResponse(tally, warnings);
}

}  // namespace cidrotor::http
