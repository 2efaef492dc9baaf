// State shared by AgiServer, its accept loop and its sessions (internal to agi/; Asio).
//
// Threads: every connection runs on its own strand: the session coroutine, its watchdog and the
// completions the store posts back all touch the connection there only. The acceptor lives on a
// strand of its own. `connections` is guarded by `mu` (Stop() walks it from any thread).
// Owned by a shared_ptr that the accept loop and every session also hold.
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "agi/agi_server.h"
#include "agi/reservation_memo.h"
#include "net/log_throttle.h"

namespace cidrotor::agi {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// One FastAGI connection. Touched only on its strand (the socket's executor).
struct AgiConnection {
  explicit AgiConnection(tcp::socket s) : socket(std::move(s)), watchdog(socket.get_executor()) {}

  // Moves the instant at which the watchdog closes the socket; max() = no deadline. Never past
  // the stop's (StopBy).
  void SetDeadline(SteadyClock::time_point at) {
    deadline = std::min(at, stop_by);
    timed_out = false;
    watchdog.cancel();  // the watchdog re-arms for the new instant
  }
  // The stop began: the exchange ends by `at` at the latest, whatever it is waiting for.
  void StopBy(SteadyClock::time_point at) {
    stop_by = at;
    if (!timed_out && !finished && deadline > at) SetDeadline(at);
  }

  tcp::socket socket;
  asio::steady_timer watchdog;
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  SteadyClock::time_point stop_by = SteadyClock::time_point::max();  // StopBy's
  // Nothing asked yet: Stop() may close it, and at the limit a new connection may take its place
  // (AgiState::Register). Atomic: the acceptor's strand reads it.
  std::atomic<bool> awaiting_environment{true};
  const SteadyClock::time_point accepted_at = SteadyClock::now();
  bool evicted = false;              // guarded by AgiState::mu: closed for a new connection
  bool closed_for_new = false;       // strand only: so closed, which Lost() need not log again
  bool timed_out = false;            // the watchdog cancelled the pending operation
  bool finished = false;             // the session ended; the watchdog ends too
};

struct AgiState : std::enable_shared_from_this<AgiState> {
  AgiState(asio::io_context& io_context, const AgiContext& context);

  enum class Registered { kYes, kStopping, kFull };
  // kFull when context.max_connections are open and none of them has been silent for
  // context.silent_grace (one that has is closed for this one, EvictSilent): the caller closes
  // the connection.
  Registered Register(const std::shared_ptr<AgiConnection>& connection);
  void Unregister(const std::shared_ptr<AgiConnection>& connection);

  asio::io_context& io;
  store::Store& store;
  const core::Clock& clock;
  const AgiContext context;
  ReservationMemo memo;
  tcp::acceptor acceptor;  // on its own strand
  std::atomic<bool> stopping{false};
  net::LogThrottle accept_error_log{std::chrono::seconds(10)};  // accept(2) failing
  net::LogThrottle dry_pool_log{std::chrono::seconds(10)};      // no_caller_id_available
  net::LogThrottle rate_limited_log{std::chrono::seconds(10)};  // an agent over its limit
  net::LogThrottle full_log{std::chrono::seconds(1)};           // max_connections reached
  net::LogThrottle silent_log{std::chrono::seconds(10)};        // a silent one closed for a new one

  std::mutex mu;
  std::unordered_set<std::shared_ptr<AgiConnection>> connections;  // guarded by mu
  std::size_t evicted_connections = 0;  // guarded by mu: of `connections`, closing for new ones

 private:
  // Closes (on its strand) one connection among the first kEvictionScan that has not sent its
  // environment block within context.silent_grace, and marks it evicted. REQUIRES: mu held.
  bool EvictSilent();
};

// One connection, from accept to close (agi_session.cc).
asio::awaitable<void> RunAgiSession(std::shared_ptr<AgiState> state,
                                    std::shared_ptr<AgiConnection> connection);

}  // namespace cidrotor::agi
