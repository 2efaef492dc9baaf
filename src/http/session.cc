// One connection: read a request, route it, write the response, repeat while keep-alive.
//
// Differences from Beast 1.81's awaitable example, on purpose:
// - every read error ends the session (the example spins after a client closes: end-of-stream
//   is handled explicitly here);
// - between requests the session first waits for one byte under the idle (keep-alive) deadline,
//   then reads the request under the read deadline, so the two timeouts are distinct, and Stop()
//   can tell an idle connection (closed at once) from a busy one (answered, then closed);
// - responses are serialized into one reused string and written with one write;
// - a request over the body limit gets 413, a malformed one 400, then the connection closes
//   after a short lingering drain (so the client reads the answer instead of a reset);
// - the body of a streaming route (the CSV import, router.h BodyPolicyFor) is not read before
//   routing: the handler pulls it through Request::body_stream (StreamedBody below);
// - deadlines are not Beast timers: the session publishes its deadline in its SessionSlot and
//   the server's sweep shuts the socket down when it passes (server_state.h).
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <limits>
#include <tuple>

#include "http/error_response.h"
#include "http/server_state.h"
#include "net/loggable.h"

namespace cidrotor::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;

constexpr std::size_t kHeaderLimit = 8 * 1024;
constexpr std::size_t kFirstReadSize = 4 * 1024;
constexpr std::size_t kMaxLogPath = 128;
constexpr std::size_t kMaxDrainBytes = 256 * 1024;
constexpr std::chrono::seconds kDrainTimeout{1};

using Parser = bhttp::request_parser<bhttp::string_body>;

Method ToMethod(bhttp::verb verb) {
  switch (verb) {
    case bhttp::verb::get:
      return Method::kGet;
    case bhttp::verb::head:
      return Method::kHead;
    case bhttp::verb::post:
      return Method::kPost;
    case bhttp::verb::put:
      return Method::kPut;
    case bhttp::verb::patch:
      return Method::kPatch;
    case bhttp::verb::delete_:
      return Method::kDelete;
    case bhttp::verb::options:
      return Method::kOptions;
    default:
      return Method::kOther;
  }
}

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

Request ToRequest(const bhttp::request<bhttp::string_body>& message) {
  Request request;
  request.method = ToMethod(message.method());
  request.target = View(message.target());
  request.authorization = View(message[bhttp::field::authorization]);
  request.content_type = View(message[bhttp::field::content_type]);
  request.body = message.body();
  request.version = message.version();
  request.keep_alive = message.keep_alive();
  return request;
}

// The path for logs and api_logs: bounded, printable ASCII only.
std::string LoggablePath(std::string_view path) { return net::Loggable(path, kMaxLogPath); }

// A Transfer-Encoding other than exactly "chunked" on HTTP/1.1 (codings before it, "chunked"
// not last, HTTP/1.0, the field twice) frames the body in a way Beast would accept as something
// else, so a proxy in front could read a different request boundary: refused with 400 and
// close (RFC 9112 6.3). A body without the field is framed by Content-Length.
bool FramedAsOneBody(const bhttp::request_header<>& header) {
  const auto count = header.count(bhttp::field::transfer_encoding);
  if (count == 0) return true;
  if (count > 1 || header.version() != 11) return false;
  std::string_view value = View(header[bhttp::field::transfer_encoding]);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return beast::iequals(value, "chunked");
}

class Session {
 public:
  Session(std::shared_ptr<ServerState> state, Socket& socket, SessionSlot& slot)
      : state_(std::move(state)),
        options_(state_->options),
        socket_(socket),
        slot_(slot),
        buffer_(kHeaderLimit + options_.body_limit + kFirstReadSize) {}

  asio::awaitable<void> Run() {
    bool first = true;
    for (;;) {
      if (buffer_.size() == 0 &&
          !co_await WaitForBytes(first ? options_.read_timeout : options_.idle_timeout)) {
        break;
      }
      first = false;
      Parser parser;  // fresh per request
      policy_ = {};
      parser.header_limit(kHeaderLimit);
      // No limit until the header names the route (OnHeader sets the route's): Beast checks a
      // declared Content-Length against the limit while parsing the header.
      parser.body_limit(boost::none);
      // Usually the whole request is already buffered: parse it in place, which saves the post
      // that an async_read completing without I/O makes. Read only what is missing.
      const auto began = SteadyClock::now();
      slot_.SetDeadline(began + options_.read_timeout);
      slot_.reading_since.store(began.time_since_epoch().count(), std::memory_order_relaxed);
      boost::system::error_code ec = ParseBuffered(parser);
      if (ec == bhttp::error::need_more) ec = co_await ReadRest(parser);
      slot_.reading_since.store(SessionSlot::kNoDeadline, std::memory_order_relaxed);
      if (ec) {
        co_await RefuseUnreadable(ec);
        break;
      }
      Request request = ToRequest(parser.get());
      if (!policy_.stream) {
        if (!co_await Serve(request)) break;
        continue;
      }
      StreamedBody body(*this, parser);
      request.body_stream = &body;
      // A handler that answered without reading the whole body (a bad header, 401) leaves the
      // rest of it on the wire: the connection cannot be reused.
      slot_.streaming.store(true);
      const bool again = co_await Serve(request, &body);
      slot_.streaming.store(false);
      if (!again) break;
    }
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }

 private:
  // Request::body_stream of a streaming route: parses the bytes already buffered, then reads
  // more from the socket under the read deadline, one chunk per Next().
  class StreamedBody final : public BodyStream {
   public:
    StreamedBody(Session& session, Parser& parser) : session_(session), parser_(parser) {}

    asio::awaitable<core::Result<std::string_view>> Next() override {
      for (;;) {
        std::string& parsed = parser_.get().body();
        if (!parsed.empty()) {
          chunk_.clear();
          chunk_.swap(parsed);  // string_body appends at the body's end: it starts over empty
          co_return std::string_view(chunk_);
        }
        if (parser_.is_done()) {
          finished_ = true;
          co_return std::string_view();
        }
        if (auto ec = co_await session_.ReadBodySome(parser_, continue_sent_)) {
          co_return core::Fail(BodyError(ec));
        }
      }
    }

    bool finished() const { return finished_; }

   private:
    core::Error BodyError(const boost::system::error_code& ec) const {
      if (ec == bhttp::error::body_limit) {
        return core::Error::InvalidArgument("body",
                                            "the body is larger than this route's limit of " +
                                                std::to_string(session_.policy_.limit) + " bytes");
      }
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
          ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        return core::Error::InvalidArgument("body", "malformed body: " + ec.message());
      }
      // Cut short, reset, or not sent within the read timeout: the client's doing, not the
      // store's (and usually nobody is left to read the answer).
      return core::Error::InvalidArgument("body", "the body did not arrive whole: " + ec.message());
    }

    Session& session_;
    Parser& parser_;
    std::string chunk_;  // the chunk handed out last; its capacity is reused
    bool continue_sent_ = false;
    bool finished_ = false;
  };

  // Waits for the first bytes of the next request. False: the connection is over (client closed,
  // deadline passed, or the server is stopping).
  asio::awaitable<bool> WaitForBytes(std::chrono::seconds timeout) {
    slot_.SetDeadline(SteadyClock::now() + timeout);
    // idle before stopping is read, Stop() sets stopping before it reads idle (both seq_cst):
    // either this session sees the flag, or Stop() sees it idle and shuts its reading down.
    slot_.idle.store(true);
    if (state_->stopping.load()) co_return false;
    auto [ec, bytes] = co_await socket_.async_read_some(buffer_.prepare(kFirstReadSize));
    slot_.idle.store(false);
    if (ec) co_return false;  // eof, timeout, reset, or cancelled by Stop(): nothing to answer
    buffer_.commit(bytes);
    co_return true;
  }

  // Feeds the buffered bytes to the parser. Returns success when a whole request was parsed,
  // need_more when bytes are missing, or the parse error.
  // (A streaming route stops after the header: success with the body left unparsed.)
  boost::system::error_code ParseBuffered(Parser& parser) {
    boost::system::error_code ec;
    parser.eager(false);  // stop after the header: its route decides how to read the body
    while (!parser.is_header_done()) {
      if (buffer_.size() == 0) return bhttp::error::need_more;
      buffer_.consume(parser.put(buffer_.data(), ec));
      if (ec) return ec;
    }
    if (ec = OnHeader(parser); ec || policy_.stream) return ec;
    parser.eager(true);
    while (!parser.is_done()) {
      if (buffer_.size() == 0) return bhttp::error::need_more;
      buffer_.consume(parser.put(buffer_.data(), ec));
      if (ec) return ec;
    }
    return ec;
  }

  // Once the header is parsed: the route's body policy (router.h BodyPolicyFor). Returns
  // body_limit when the declared length is over the route's limit.
  boost::system::error_code OnHeader(Parser& parser) {
    if (!FramedAsOneBody(parser.get())) return bhttp::error::bad_transfer_encoding;
    policy_ = BodyPolicyFor(View(parser.get().target()), options_);
    const auto length = parser.content_length();
    if (length && *length > policy_.limit) return bhttp::error::body_limit;
    parser.body_limit(policy_.limit);
    return {};
  }

  // A client that sent `Expect: 100-continue` (curl does for bodies over 1 KiB) gets its interim
  // response before the body is read, once; otherwise it would wait a second before sending it.
  asio::awaitable<boost::system::error_code> SendContinueIfExpected(Parser& parser, bool& sent) {
    if (sent || !beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
      co_return boost::system::error_code();
    }
    sent = true;
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    auto [ec, bytes] =
        co_await asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()));
    co_return ec;
  }

  // Streaming routes: parses buffered bytes or reads some more into the parser's body, under
  // the read deadline (none while the handler works on what it got).
  asio::awaitable<boost::system::error_code> ReadBodySome(Parser& parser, bool& continue_sent) {
    slot_.SetDeadline(SteadyClock::now() + options_.read_timeout);
    auto ec = co_await SendContinueIfExpected(parser, continue_sent);
    if (!ec) {
      parser.eager(true);
      std::tie(ec, std::ignore) = co_await bhttp::async_read_some(socket_, buffer_, parser);
    }
    slot_.ClearDeadline();
    co_return ec;
  }

  // Reads what ParseBuffered() left missing: the header, then (unless the route streams) the
  // body.
  asio::awaitable<boost::system::error_code> ReadRest(Parser& parser) {
    boost::system::error_code ec;
    if (!parser.is_header_done()) {
      std::tie(ec, std::ignore) = co_await bhttp::async_read_header(socket_, buffer_, parser);
      if (!ec) ec = OnHeader(parser);
      if (ec || parser.is_done() || policy_.stream) co_return ec;
    }
    bool continue_sent = false;
    if ((ec = co_await SendContinueIfExpected(parser, continue_sent))) co_return ec;
    parser.eager(true);
    std::tie(ec, std::ignore) = co_await bhttp::async_read(socket_, buffer_, parser);
    co_return ec;
  }

  // Answers one request. False: close the connection.
  asio::awaitable<bool> Serve(const Request& request, const StreamedBody* body = nullptr) {
    const auto started = SteadyClock::now();
    slot_.ClearDeadline();  // no deadline while the store works
    RequestContext context(state_->services);
    Response response = co_await RouteCatchingExceptions(request, context);
    if (body != nullptr && !body->finished()) response.close = true;
    const auto finished = SteadyClock::now();
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(finished - started);
    const bool keep_alive = request.keep_alive && !response.close && !state_->stopping.load();
    out_.clear();
    SerializeResponse(response, request.version, keep_alive, request.method == Method::kHead, out_);
    slot_.SetDeadline(finished + options_.read_timeout);
    auto [ec, bytes] = co_await asio::async_write(socket_, asio::buffer(out_));
    Record(request, response, context, elapsed);
    if (!ec && body != nullptr && !body->finished()) co_await LingeringClose();
    co_return !ec && keep_alive;
  }

  asio::awaitable<Response> RouteCatchingExceptions(const Request& request,
                                                    RequestContext& context) {
    try {
      co_return co_await Route(request, context);
    } catch (const std::exception& e) {
      spdlog::error("http: {} {} failed: {}", MethodName(request.method),
                    LoggablePath(request.path()), e.what());
    }
    Response response = ErrorResponse(core::Error::Internal("internal error"));
    response.close = true;
    co_return response;
  }

  // A read that failed: answer what deserves an answer (413, 400), then close. A request line or
  // header past the limit is SPEC's 400 `invalid_argument` (an absurdly long parameter), not 431:
  // one status for bad input, whichever limit it crossed.
  asio::awaitable<void> RefuseUnreadable(const boost::system::error_code& ec) {
    Response response;
    if (ec == bhttp::error::body_limit) {
      response = PayloadTooLargeResponse(policy_.limit > 0 ? policy_.limit : options_.body_limit);
    } else if (ec == bhttp::error::header_limit) {
      response = MalformedRequestResponse("request line or header is too large");
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
               ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      response = MalformedRequestResponse("malformed HTTP request: " + ec.message());
    } else {
      co_return;  // closed, reset or timed out: nobody to answer
    }
    spdlog::debug("http: refusing request: {}", ec.message());
    out_.clear();
    SerializeResponse(response, 11, false, false, out_);
    slot_.SetDeadline(SteadyClock::now() + options_.read_timeout);
    auto [write_ec, bytes] = co_await asio::async_write(socket_, asio::buffer(out_));
    if (!write_ec) co_await LingeringClose();
  }

  // After answering a request whose body was not read whole: stop sending, then read what the
  // client is still sending for a moment, so that closing with unread data does not reset the
  // connection before the client read the answer.
  asio::awaitable<void> LingeringClose() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    slot_.SetDeadline(SteadyClock::now() + kDrainTimeout);
    std::array<char, 4096> scratch;
    for (std::size_t drained = 0; drained < kMaxDrainBytes;) {
      auto [read_ec, n] = co_await socket_.async_read_some(asio::buffer(scratch));
      if (read_ec) break;
      drained += n;
    }
  }

  // One spdlog line per request; the api_logs row for all but /health.
  void Record(const Request& request, const Response& response, RequestContext& context,
              std::chrono::microseconds elapsed) {
    auto level = response.status >= 500
                     ? (response.status == 503 ? spdlog::level::warn : spdlog::level::err)
                     : spdlog::level::debug;
    const auto micros = static_cast<std::uint32_t>(
        std::min<std::int64_t>(elapsed.count(), std::numeric_limits<std::uint32_t>::max()));
    std::uint64_t times = 1;
    if (response.error_code == core::ErrorCodeName(core::ErrorCode::kNoCallerIdAvailable)) {
      // A dry pool refuses every call of the dialer: one warn line per 10 s says so.
      times = state_->dry_pool_log.Pass();
      if (times == 0) level = spdlog::level::debug;
    }
    if (spdlog::should_log(level)) {
      spdlog::log(level, "http: {} {} -> {} {}in {} us", MethodName(request.method),
                  LoggablePath(request.path()), response.status,
                  times > 1 ? fmt::format("({} times since the last such line) ", times) : "",
                  micros);
    }
    if (!context.log_request) return;
    store::ApiLogEntry entry;
    entry.timestamp = state_->clock.Now();
    entry.endpoint = LoggablePath(request.path());
    entry.method = std::string(MethodName(request.method));
    entry.agent = std::move(context.agent);
    entry.campaign = std::move(context.campaign);
    entry.caller_id_allocated = std::move(context.caller_id);
    entry.response_time_us = micros;
    entry.status_code = static_cast<std::uint16_t>(response.status);
    state_->store.AppendLog(std::move(entry));
  }

  std::shared_ptr<ServerState> state_;
  const ServerOptions& options_;
  Socket& socket_;
  SessionSlot& slot_;
  beast::flat_buffer buffer_;  // reused across requests; bounded, which caps pipelining
  BodyPolicy policy_;          // of the request being read or served
  std::string out_;            // the serialized response; its capacity is reused
};

}  // namespace

asio::awaitable<void> RunSession(std::shared_ptr<ServerState> state, Socket socket) {
  SessionSlot slot(socket.native_handle());
  switch (state->Register(&slot)) {
    case ServerState::Registration::kYes:
      break;
    case ServerState::Registration::kStopping:
      co_return;  // the socket closes with this frame
    case ServerState::Registration::kFull: {
      // A clear answer rather than a reset: a dialplan's CURL() falls back at once. Into the
      // empty send buffer of a new socket, so it never blocks; the socket closes with this frame.
      static constexpr std::string_view kFull =
          "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
          "Connection: close\r\n\r\n";
      [[maybe_unused]] const auto sent =
          ::send(socket.native_handle(), kFull.data(), kFull.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      co_return;
    }
  }
  // Unregisters before `socket` (a parameter, destroyed after the body's locals) closes the
  // descriptor: the sweep and Stop() must never shut down a reused descriptor number.
  struct Unregister {
    ~Unregister() { state->Unregister(slot); }
    ServerState* state;
    SessionSlot* slot;
  } unregister{state.get(), &slot};

  Session session(state, socket, slot);
  co_await session.Run();
}

}  // namespace cidrotor::http
