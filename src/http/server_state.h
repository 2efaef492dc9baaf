// State shared by the accept loop, the deadline sweep, the sessions and HttpServer (internal to
// http/).
//
// Threads: the io_context may run on several threads. Each connection is one coroutine, so its
// socket is only ever touched by that coroutine, one operation at a time: no strand per
// connection (a strand costs a scheduler hop per completion, ~10 % of /health). What other
// threads must do to a connection (close it at its deadline, or at Stop() when it is idle)
// they do to the kernel socket with shutdown(2), which is thread-safe, under `mu`; a session
// unregisters under `mu` before it closes its descriptor, so the number is never reused under
// them. The acceptor and the sweep timer live on one strand (`acceptor`'s executor).
// Owned by a shared_ptr that the accept loop, the sweep and every session also hold.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "http/asio_types.h"
#include "http/auth.h"
#include "http/jwt_sessions.h"
#include "http/request_metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "net/log_throttle.h"

namespace cidrotor::http {

using SteadyClock = std::chrono::steady_clock;

// One live connection as the sweep and Stop() see it.
struct SessionSlot {
  explicit SessionSlot(int native_socket) : fd(native_socket) {}

  // Sets the instant after which the sweep closes the connection; kNoDeadline while the request
  // waits for the store (the store has its own timeouts).
  void SetDeadline(SteadyClock::time_point deadline) {
    deadline_ticks.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
  }
  void ClearDeadline() { deadline_ticks.store(kNoDeadline, std::memory_order_relaxed); }

  static constexpr SteadyClock::rep kNoDeadline = 0;

  const int fd;  // the socket, while registered
  std::atomic<SteadyClock::rep> deadline_ticks{kNoDeadline};
  std::atomic<bool> idle{false};  // waiting for the first byte of the next request
  // When the request being read began to arrive (kNoDeadline when none is: idle, handled, or a
  // streaming route's body): at the limit, one arriving for long gives its place (EvictOne).
  std::atomic<SteadyClock::rep> reading_since{kNoDeadline};
  // Serving a streaming route (an import reading its body): a stop lets it finish.
  std::atomic<bool> streaming{false};
  bool shut_down = false;         // guarded by ServerState::mu
  bool evicted = false;           // guarded by ServerState::mu: closed for a new connection
};

struct ServerState : std::enable_shared_from_this<ServerState> {
  ServerState(asio::io_context& io_context, ServerContext context);

  enum class Registration { kYes, kStopping, kFull };
  // Registers a new session; not when the server is stopping, nor when it holds
  // options.max_connections sessions and none can give its place (the caller closes it). At the
  // limit, an idle session, or else one whose request is slow to arrive, is evicted for it
  // (EvictOne).
  Registration Register(SessionSlot* slot);
  // REQUIRES: called before the session closes its socket.
  void Unregister(SessionSlot* slot);
  // Closes (shutdown(2) both ways) every session whose deadline has passed; once stopping,
  // every deadline but a streaming route's ends by stop_deadline at the latest.
  void ShutDownExpired(SteadyClock::time_point now);
  // Stops reading from every idle session, so its pending read ends; busy ones finish their
  // request and close after the response.
  void ShutDownIdle();
  bool HasSessions();

  // The io_context for a new connection: session_contexts round-robin, else `io`. Called by the
  // accept loop only.
  asio::io_context& NextSessionContext();

  asio::io_context& io;
  const std::vector<asio::io_context*> session_contexts;
  std::size_t next_session_context = 0;  // the accept loop's (one coroutine on its strand)
  store::Store& store;
  const core::Clock& clock;
  const ServerOptions options;
  Authenticator auth;
  std::shared_ptr<const JwtSessions> jwt;  // null without a SECRET_KEY
  RequestMetrics request_metrics;
  service::CoverageCache coverage_cache;
  service::ActivityHistory activity_history;
  Services services;
  Acceptor acceptor;               // on its own strand
  asio::steady_timer sweep_timer;  // on the acceptor's strand
  std::atomic<bool> stopping{false};
  net::LogThrottle dry_pool_log{std::chrono::seconds(10)};      // 503 no_caller_id_available
  net::LogThrottle accept_error_log{std::chrono::seconds(10)};  // accept(2) failing
  net::LogThrottle full_log{std::chrono::seconds(10)};   // max_connections reached, none idle
  net::LogThrottle evict_log{std::chrono::seconds(10)};  // an idle one closed for a new one
  net::LogThrottle slow_evict_log{std::chrono::seconds(10)};  // a slow request's, closed
  // Set by Stop(): a connection still sending its request, or not reading its answer, is closed
  // then rather than at its 30 s deadline (a stop must end within the service manager's wait).
  std::atomic<SteadyClock::rep> stop_deadline{SessionSlot::kNoDeadline};

  std::mutex mu;
  std::unordered_set<SessionSlot*> sessions;  // guarded by mu
  std::size_t evicted_sessions = 0;           // guarded by mu: of `sessions`, evicted ones

 private:
  // Among the first kEvictionScan of `sessions`: stops reading from an idle one (its pending
  // read ends, and it closes), or, when none is idle there, shuts down one whose request has been
  // arriving for longer than options.slow_request_grace (nothing of it can be answered); marks it
  // evicted. False when there is neither.
  // REQUIRES: mu held.
  bool EvictOne();
};

// Sessions Register looks at for an idle one to evict: a bounded cost per accept, also when
// every session is busy.
inline constexpr std::size_t kEvictionScan = 64;
// Evicted sessions that may still hold their descriptors (each closes as soon as its thread runs
// it): beyond that, a new connection is refused rather than exceed the limit further.
inline constexpr std::size_t kMaxEvicting = 64;

// The accept loop and the deadline sweep (listener.cc), and one connection's loop (session.cc).
asio::awaitable<void> AcceptLoop(std::shared_ptr<ServerState> state);
asio::awaitable<void> DeadlineSweep(std::shared_ptr<ServerState> state);
asio::awaitable<void> RunSession(std::shared_ptr<ServerState> state, Socket socket);

// The sweep's period: deadlines are enforced within one period after they pass.
inline constexpr std::chrono::seconds kSweepPeriod{1};
// How long a stop waits for a request still being sent, or an answer the client does not read.
inline constexpr std::chrono::seconds kStopGrace{2};

// co_spawn completion handler: logs an exception that escaped a coroutine (only that coroutine's
// connection is affected).
void LogEscapedException(std::string_view what, std::exception_ptr error);

}  // namespace cidrotor::http
