// RunImportViaApi (cli/import.h): `cidrotor import FILE --via-api URL --token T`.
//
// A small synchronous Beast client: streams the input in 1 MiB blocks, as HTTP chunks, to
// URL/api/numbers/import?on_duplicate=X (text/csv, the bearer token), so neither side holds the
// whole file, and prints the server's summary the way the direct import does. The server's
// rejects (the first 1,000) go to --rejects with the original columns, found by reading the input
// a second time (stdin is spooled to a temporary file for that). Socket timeouts: 10 s to
// connect, 5 min for each send or receive (the server answers once the last batch is imported).
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <ostream>
#include <vector>

#include "cli/import.h"
#include "service/csv_reader.h"

namespace cidrotor::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::size_t kBlockSize = 1 << 20;
constexpr std::chrono::seconds kConnectTimeout{10};
constexpr int kSocketTimeoutSeconds = 300;

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

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// The input, read block by block; with `keep_copy`, a stream (stdin, a pipe, `<(...)`) is also
// copied to a temporary file so that Reopen() can read it again (a regular file is simply opened
// again; a stream opened again by name reads nothing, or blocks).
class Input {
 public:
  static std::optional<Input> Open(const std::string& name, bool keep_copy) {
    Input input;
    input.name_ = name;
    if (name == "-") {
      input.file_.reset(fdopen(dup(fileno(stdin)), "rb"));
    } else {
      input.file_.reset(std::fopen(name.c_str(), "rb"));
    }
    if (!input.file_) return std::nullopt;
    struct stat opened {};
    const bool regular =
        ::fstat(fileno(input.file_.get()), &opened) == 0 && S_ISREG(opened.st_mode) && name != "-";
    if (keep_copy && !regular) {
      input.copy_.reset(std::tmpfile());
      if (!input.copy_) return std::nullopt;
    }
    return input;
  }

  // The next block; empty at the end. False on a read error.
  bool Read(std::vector<char>& block) {
    block.resize(kBlockSize);
    const std::size_t n = std::fread(block.data(), 1, block.size(), file_.get());
    block.resize(n);
    if (copy_ && n > 0 && std::fwrite(block.data(), 1, n, copy_.get()) != n) return false;
    return !std::ferror(file_.get());
  }

  // The same bytes again, from the start. Nullptr when they cannot be read again.
  File Reopen() {
    if (copy_) {
      std::rewind(copy_.get());
      return std::move(copy_);
    }
    return File(std::fopen(name_.c_str(), "rb"));
  }

 private:
  std::string name_;
  File file_;
  File copy_;
};

void SetSocketTimeouts(asio::ip::tcp::socket& socket) {
  timeval timeout{};
  timeout.tv_sec = kSocketTimeoutSeconds;
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

// Posts the input as a chunked body and reads the answer. The server may answer early (a bad
// header, a wrong token) and close while the body is still being sent: the send then fails, and
// its answer is read all the same. Throws beast/system errors of the connection.
http::response<http::string_body> PostStreamed(const std::string& host, const std::string& port,
                                               const std::string& target, const std::string& token,
                                               Input& input, bool& read_failed) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  stream.expires_after(kConnectTimeout);
  stream.connect(resolver.resolve(host, port));
  SetSocketTimeouts(stream.socket());

  http::request<http::empty_body> request{http::verb::post, target, 11};
  request.set(http::field::host, host);
  request.set(http::field::content_type, "text/csv");
  request.set(http::field::authorization, "Bearer " + token);
  request.chunked(true);
  http::request_serializer<http::empty_body> serializer{request};
  http::write_header(stream.socket(), serializer);
  beast::error_code send_error;
  std::vector<char> block;
  while (!send_error) {
    // Bytes waiting to be read mean the server answered early: stop sending and read them.
    if (stream.socket().available(send_error) > 0 || send_error) break;
    if (!input.Read(block)) {
      read_failed = true;
      break;  // the server gets a truncated body and refuses it; the caller reports the read
    }
    if (block.empty()) {
      asio::write(stream.socket(), http::make_chunk_last(), send_error);
      break;
    }
    asio::write(stream.socket(), http::make_chunk(asio::buffer(block)), send_error);
  }
  if (read_failed) {
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return {};
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  beast::error_code read_error;
  http::read(stream.socket(), buffer, parser, read_error);
  if (read_error) throw beast::system_error(send_error ? send_error : read_error);
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  return parser.release();
}

std::uint64_t Count(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_int64()    ? static_cast<std::uint64_t>(v->as_int64())
         : v && v->is_uint64() ? v->as_uint64()
                               : 0;
}

// The counts of an import answer (a summary, or an error after kept batches).
ImportCounts CountsOf(const boost::json::object& o) {
  ImportCounts counts;
  counts.rows = Count(o, "rows");
  counts.imported = Count(o, "imported");
  counts.updated = Count(o, "updated");
  counts.skipped = Count(o, "skipped");
  counts.rejected = Count(o, "rejected");
  return counts;
}

}  // namespace

std::optional<ImportCounts> KeptBeforeTheError(std::string_view body) {
  boost::system::error_code ec;
  const auto json = boost::json::parse(body, ec);
  if (ec || !json.is_object()) return std::nullopt;
  const ImportCounts counts = CountsOf(json.as_object());
  if (counts.imported + counts.updated + counts.skipped == 0) return std::nullopt;
  return counts;
}

int RunImportViaApi(const ImportOptions& options, std::ostream& err) {
  if (options.dry_run) {
    err << "cidrotor import: --dry-run checks the file locally: drop --via-api\n";
    return 2;
  }
  auto url = boost::urls::parse_uri(options.via_api);
  // A port past 65535 is no port (the resolver took 85236 for 19700: another server's import).
  const auto bad_port = [](std::string_view port) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    return ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535;
  };
  if (!url || url->scheme() != "http" || url->host().empty() ||
      (url->has_port() && bad_port(url->port()))) {
    err << "cidrotor import: --via-api: expected http://HOST:PORT, got '" << options.via_api
        << "'\n";
    return 2;
  }
  auto input = Input::Open(options.input, !options.rejects_path.empty());
  if (!input) {
    err << "cidrotor import: cannot read " << options.input << "\n";
    return 2;
  }
  // Opened before the server imports: a path that cannot be written is said before anything is
  // committed, not after.
  std::ofstream rejects_out;
  if (!options.rejects_path.empty()) {
    rejects_out.open(options.rejects_path, std::ios::binary | std::ios::trunc);
    if (!rejects_out) {
      err << "cidrotor import: cannot write " << options.rejects_path << ": "
          << std::strerror(errno) << "\n";
      return 2;
    }
  }
  std::string target = std::string(url->encoded_path());
  while (!target.empty() && target.back() == '/') target.pop_back();
  target +=
      fmt::format("/api/numbers/import?on_duplicate={}", OnDuplicateName(options.on_duplicate));
  const std::string host(url->host_address());  // an IPv6 literal without its brackets
  const std::string port = url->has_port() ? std::string(url->port()) : "80";

  const auto started = std::chrono::steady_clock::now();
  http::response<http::string_body> response;
  bool read_failed = false;
  try {
    response = PostStreamed(host, port, target, options.token, *input, read_failed);
  } catch (const boost::system::system_error& e) {
    // The code's message: what() also names the Boost source line that threw.
    err << "cidrotor import: " << options.via_api << ": " << e.code().message() << "\n";
    return 2;
  } catch (const std::exception& e) {
    err << "cidrotor import: " << options.via_api << ": " << e.what() << "\n";
    return 2;
  }
  if (read_failed) {
    err << "cidrotor import: reading " << options.input << " failed; nothing was imported\n";
    return 2;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  boost::system::error_code ec;
  const auto json = boost::json::parse(response.body(), ec);
  if (response.result_int() != 200 || ec || !json.is_object()) {
    err << "cidrotor import: " << options.via_api << " answered " << response.result_int() << ": "
        << response.body().substr(0, 500) << "\n";
    if (const auto kept = KeptBeforeTheError(response.body())) {
      err << fmt::format(
          "cidrotor import: {} imported, {} updated, {} skipped before it: those batches stay; "
          "rerun the same file to complete the import\n",
          kept->imported, kept->updated, kept->skipped);
      return 1;
    }
    return 2;
  }
  const auto& o = json.as_object();
  ImportCounts counts = CountsOf(o);
  counts.rows = counts.imported + counts.updated + counts.skipped + counts.rejected;

  if (const auto* list = o.if_contains("warnings"); list && list->is_array()) {
    for (const auto& warning : list->as_array()) {
      if (warning.is_string()) err << "cidrotor import: " << warning.as_string().c_str() << "\n";
    }
  }
  // The server lists the first 1,000 rejected rows.
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
  if (options.rejects_path.empty()) {
    RejectsOnStderr shown;
    for (const auto& [line, reason] : reasons) shown.Show(line, reason, err);
    shown.Summarize(counts.rejected, err, reasons.size());
  } else {
    if (counts.rejected > reasons.size()) {
      err << "cidrotor import: the server listed the first " << reasons.size() << " of "
          << counts.rejected << " rejected rows; " << options.rejects_path << " has those\n";
    }
    std::ofstream& out = rejects_out;
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
    File again = input->Reopen();
    if (!again) {
      err << "cidrotor import: cannot read " << options.input << " again for --rejects\n";
    } else {
      std::vector<char> block(kBlockSize);
      std::size_t n;
      while ((n = std::fread(block.data(), 1, block.size(), again.get())) > 0) {
        reader.Feed(std::string_view(block.data(), n), sink);
      }
      reader.Finish(sink);
    }
    out.close();  // a full disk shows at the last flush
    if (!out) err << "cidrotor import: writing " << options.rejects_path << " failed\n";
  }
  err << fmt::format(
      "import via {}: {} rows: {} imported, {} updated, {} skipped, {} rejected in {:.2f} s\n",
      options.via_api, counts.rows, counts.imported, counts.updated, counts.skipped,
      counts.rejected, seconds);
  return ImportExitStatus(counts, false);
}

}  // namespace cidrotor::cli
