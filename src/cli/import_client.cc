// RunImportViaApi (cli/import.h): `cidrotor import FILE --via-api URL --token T`.
//
// A small synchronous Beast client: reads the whole input (a server accepts at most its import
// body limit anyway, 64 MiB by default), posts it to URL/api/numbers/import?on_duplicate=X as
// text/csv with Content-Length and the bearer token, and prints the server's summary the way the
// direct import does. The server's rejects (the first 1,000) go to --rejects with the original
// columns, found by reading the same input locally. Timeouts: 10 s to connect, 5 min in all.
#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <ostream>
#include <sstream>

#include "cli/import.h"
#include "service/csv_reader.h"

namespace cidrotor::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string_view OnDuplicateName(store::OnDuplicate d) {
  switch (d) {
    case store::OnDuplicate::kSkip:
      return "skip";
    case store::OnDuplicate::kFail:
      return "fail";
    case store::OnDuplicate::kUpdate:
      break;
  }
  return "update";
}

bool ReadAll(const std::string& name, std::string& out) {
  if (name == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return !std::cin.bad();
  }
  std::ifstream in(name, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = std::move(buffer).str();
  return true;
}

std::uint64_t Count(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_int64()    ? static_cast<std::uint64_t>(v->as_int64())
         : v && v->is_uint64() ? v->as_uint64()
                               : 0;
}

}  // namespace

int RunImportViaApi(const ImportOptions& options, std::ostream& err) {
  if (options.dry_run) {
    err << "cidrotor import: --dry-run checks the file locally: drop --via-api\n";
    return 2;
  }
  auto url = boost::urls::parse_uri(options.via_api);
  if (!url || url->scheme() != "http" || url->host().empty()) {
    err << "cidrotor import: --via-api: expected http://HOST:PORT, got '" << options.via_api
        << "'\n";
    return 2;
  }
  std::string body;
  if (!ReadAll(options.input, body)) {
    err << "cidrotor import: cannot read " << options.input << "\n";
    return 2;
  }
  std::string target = std::string(url->encoded_path());
  while (!target.empty() && target.back() == '/') target.pop_back();
  target +=
      fmt::format("/api/numbers/import?on_duplicate={}", OnDuplicateName(options.on_duplicate));
  const std::string host(url->host());
  const std::string port = url->has_port() ? std::string(url->port()) : "80";

  const auto started = std::chrono::steady_clock::now();
  http::response<http::string_body> response;
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(host, port));
    http::request<http::string_body> request{http::verb::post, target, 11};
    request.set(http::field::host, host);
    request.set(http::field::content_type, "text/csv");
    request.set(http::field::authorization, "Bearer " + options.token);
    request.body() = std::move(body);
    request.prepare_payload();
    stream.expires_after(std::chrono::minutes(5));
    http::write(stream, request);
    body = std::move(request.body());
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    http::read(stream, buffer, parser);
    response = parser.release();
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  } catch (const std::exception& e) {
    err << "cidrotor import: " << options.via_api << ": " << e.what() << "\n";
    return 2;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  boost::system::error_code ec;
  const auto json = boost::json::parse(response.body(), ec);
  if (response.result_int() != 200 || ec || !json.is_object()) {
    err << "cidrotor import: " << options.via_api << " answered " << response.result_int() << ": "
        << response.body().substr(0, 500) << "\n";
    return 2;
  }
  const auto& o = json.as_object();
  ImportCounts counts;
  counts.imported = Count(o, "imported");
  counts.updated = Count(o, "updated");
  counts.skipped = Count(o, "skipped");
  counts.rejected = Count(o, "rejected");
  counts.rows = counts.imported + counts.updated + counts.skipped + counts.rejected;

  if (!options.rejects_path.empty()) {
    std::map<std::uint64_t, std::string> reasons;
    if (const auto* list = o.if_contains("rejects"); list && list->is_array()) {
      for (const auto& r : list->as_array()) {
        if (!r.is_object()) continue;
        const auto* line = r.as_object().if_contains("line");
        const auto* reason = r.as_object().if_contains("reason");
        if (line && line->is_int64() && reason && reason->is_string()) {
          reasons[static_cast<std::uint64_t>(line->as_int64())] = reason->as_string().c_str();
        }
      }
    }
    std::ofstream out(options.rejects_path, std::ios::binary | std::ios::trunc);
    std::string text;
    bool header = true;
    service::CsvReader reader;
    const auto sink = [&](const service::CsvRecord& record) {
      const auto it = reasons.find(record.line);
      if (!header && it == reasons.end()) return;
      text = header ? "line,reason" : std::to_string(record.line) + ",";
      if (!header) service::AppendCsvField(text, it->second);
      for (const auto& f : record.fields) {
        text += ',';
        service::AppendCsvField(text, f);
      }
      out << text << '\n';
      header = false;
    };
    reader.Feed(body, sink);
    reader.Finish(sink);
    if (!out) err << "cidrotor import: writing " << options.rejects_path << " failed\n";
  }
  err << fmt::format(
      "import via {}: {} rows: {} imported, {} updated, {} skipped, {} rejected in {:.2f} s\n",
      options.via_api, counts.rows, counts.imported, counts.updated, counts.skipped,
      counts.rejected, seconds);
  return ImportExitStatus(counts, false);
}

}  // namespace cidrotor::cli
