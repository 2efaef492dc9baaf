// HttpServer: listening, start and graceful stop; the shared ServerState.
#include "http/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <string>
#include <utility>
#include <vector>

#include "http/server_state.h"
#include "net/listen.h"

namespace cidrotor::http {

ServerState::ServerState(asio::io_context& io_context, ServerContext context)
    : io(io_context),
      session_contexts(std::move(context.session_contexts)),
      store(context.store),
      clock(context.clock),
      options(std::move(context.options)),
      jwt(options.jwt_secret.empty() ? nullptr
                                     : std::make_shared<const JwtSessions>(
                                           clock, JwtOptions{.secret = options.jwt_secret,
                                                             .login_token = options.admin_token,
                                                             .ttl = options.jwt_ttl})),
      request_metrics(RegisteredRoutes().size() + 1),
      services{store,
               clock,
               options,
               auth,
               jwt.get(),
               &request_metrics,
               context.telemetry,
               &coverage_cache,
               context.auto_rest,
               &activity_history,
               context.webhooks},
      acceptor(asio::make_strand(io_context)),
      sweep_timer(acceptor.get_executor()) {
  auth.AddVerifier(std::make_unique<StaticTokenVerifier>(options.admin_token));
  if (jwt != nullptr) auth.AddVerifier(jwt);
}

asio::io_context& ServerState::NextSessionContext() {
  if (session_contexts.empty()) return io;
  asio::io_context& next = *session_contexts[next_session_context];
  next_session_context = (next_session_context + 1) % session_contexts.size();
  return next;
}

ServerState::Registration ServerState::Register(SessionSlot* slot) {
  std::size_t open = 0;
  {
    std::lock_guard lock(mu);
    // Checked under the lock: a session registered after ShutDownIdle() walked the set sees the
    // flag, so none is missed.
    if (stopping.load()) return Registration::kStopping;
    open = sessions.size();
    const std::size_t live = open - evicted_sessions;
    const bool room =
        live < options.max_connections || (evicted_sessions < kMaxEvicting && EvictOne());
    if (room) {
      sessions.insert(slot);
      return Registration::kYes;
    }
  }
  if (const auto times = full_log.Pass()) {
    spdlog::warn(
        "http: {} connections open, the most allowed, none of them idle or slow: refused {} new "
        "one(s) with 503",
        open, times);
  }
  return Registration::kFull;
}

bool ServerState::EvictOne() {
  const auto slow_since =
      (SteadyClock::now() - options.slow_request_grace).time_since_epoch().count();
  SessionSlot* slow = nullptr;
  std::size_t scanned = 0;
  for (SessionSlot* slot : sessions) {
    if (++scanned > kEvictionScan) break;
    if (slot->shut_down || slot->evicted) continue;
    if (slot->idle.load()) {
      // As at Stop(): SHUT_RD ends the pending read for the next request with end-of-stream; a
      // request whose first bytes were read just now is still answered.
      ::shutdown(slot->fd, SHUT_RD);
      slot->evicted = true;
      ++evicted_sessions;
      if (const auto times = evict_log.Pass()) {
        spdlog::warn(
            "http: {} connections open, the most allowed: closed {} idle one(s) for new ones",
            sessions.size(), times);
      }
      return true;
    }
    const auto since = slot->reading_since.load(std::memory_order_relaxed);
    if (slow == nullptr && since != SessionSlot::kNoDeadline && since < slow_since) slow = slot;
  }
  if (slow == nullptr) return false;
  ::shutdown(slow->fd, SHUT_RDWR);  // its read ends with an error; nothing is answered
  slow->shut_down = true;
  slow->evicted = true;
  ++evicted_sessions;
  if (const auto times = slow_evict_log.Pass()) {
    spdlog::warn(
        "http: {} connections open, the most allowed, none idle: closed {} whose request was "
        "still arriving after {} ms, for new ones",
        sessions.size(), times, options.slow_request_grace.count());
  }
  return true;
}

void ServerState::Unregister(SessionSlot* slot) {
  bool last_while_stopping = false;
  {
    std::lock_guard lock(mu);
    sessions.erase(slot);
    if (slot->evicted) --evicted_sessions;
    last_while_stopping = stopping.load() && sessions.empty();
  }
  if (last_while_stopping) {
    // Wake the sweep so it ends now rather than at its next period: then io.run() can return.
    asio::post(acceptor.get_executor(),
               [self = shared_from_this()] { self->sweep_timer.cancel(); });
  }
}

void ServerState::ShutDownExpired(SteadyClock::time_point now) {
  const auto now_ticks = now.time_since_epoch().count();
  std::lock_guard lock(mu);
  const auto stop_ticks = stop_deadline.load();
  for (SessionSlot* slot : sessions) {
    auto deadline = slot->deadline_ticks.load(std::memory_order_relaxed);
    if (slot->shut_down || deadline == SessionSlot::kNoDeadline) continue;
    if (stop_ticks != SessionSlot::kNoDeadline && !slot->streaming.load()) {
      deadline = std::min(deadline, stop_ticks);
    }
    if (deadline > now_ticks) continue;
    ::shutdown(slot->fd, SHUT_RDWR);  // the pending read or write ends with an error
    slot->shut_down = true;
  }
}

void ServerState::ShutDownIdle() {
  std::lock_guard lock(mu);
  for (SessionSlot* slot : sessions) {
    // SHUT_RD: a request whose bytes were read just now is still answered; the pending (or next)
    // read ends at once with end-of-stream.
    if (!slot->shut_down && slot->idle.load()) ::shutdown(slot->fd, SHUT_RD);
  }
}

bool ServerState::HasSessions() {
  std::lock_guard lock(mu);
  return !sessions.empty();
}

void LogEscapedException(std::string_view what, std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("http: {} ended by an exception: {}", what, e.what());
  } catch (...) {
    spdlog::error("http: {} ended by an unknown exception", what);
  }
}

struct HttpServer::Impl {
  std::shared_ptr<ServerState> state;
};

HttpServer::HttpServer(asio::io_context& io, ServerContext context)
    : impl_(std::make_unique<Impl>(Impl{std::make_shared<ServerState>(io, std::move(context))})) {}

HttpServer::~HttpServer() = default;

core::Result<std::uint16_t> HttpServer::Listen(const std::string& host, std::uint16_t port) {
  ServerState& state = *impl_->state;
  auto bound = net::Listen(state.io, state.acceptor, host, port, "HTTP");
  if (bound) spdlog::info("http: listening on {}:{}", host, *bound);
  return bound;
}

void HttpServer::Start() {
  auto state = impl_->state;
  asio::co_spawn(state->acceptor.get_executor(), AcceptLoop(state),
                 [](std::exception_ptr error) { LogEscapedException("accept loop", error); });
  asio::co_spawn(state->acceptor.get_executor(), DeadlineSweep(state),
                 [](std::exception_ptr error) { LogEscapedException("deadline sweep", error); });
}

void HttpServer::Stop() {
  auto state = impl_->state;
  if (state->stopping.exchange(true)) return;
  state->stop_deadline.store((SteadyClock::now() + kStopGrace).time_since_epoch().count());
  spdlog::info("http: stopping: no new connections, finishing in-flight requests");
  asio::post(state->acceptor.get_executor(), [state] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);  // the pending accept completes with operation_aborted
    state->sweep_timer.cancel();     // the sweep ends once the last session has
  });
  state->ShutDownIdle();
}

}  // namespace cidrotor::http
