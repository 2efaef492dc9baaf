// The accept loop (one coroutine on the acceptor's strand, spawning a session coroutine per
// connection) and the deadline sweep (closes connections past their read/idle/write deadline).
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "http/server_state.h"

namespace cidrotor::http {

asio::awaitable<void> AcceptLoop(std::shared_ptr<ServerState> state) {
  for (;;) {
    asio::io_context& context = state->NextSessionContext();
    auto [ec, socket] = co_await state->acceptor.async_accept(context.get_executor());
    if (state->stopping.load()) break;  // the socket, if any, closes as it goes out of scope
    if (ec) {
      if (ec == asio::error::operation_aborted || !state->acceptor.is_open()) break;
      // Out of file descriptors and the like: back off instead of spinning on the error.
      if (const auto times = state->accept_error_log.Pass()) {
        spdlog::warn("http: accept failed ({} times since the last such line): {}", times,
                     ec.message());
      }
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(context.get_executor(), RunSession(state, Socket(std::move(socket))),
                   [](std::exception_ptr error) { LogEscapedException("session", error); });
  }
  spdlog::debug("http: accept loop ended");
}

// One timer for all connections instead of one per read and write (Beast's tcp_stream arms a
// timer per operation: timer-queue work and locking on every request).
asio::awaitable<void> DeadlineSweep(std::shared_ptr<ServerState> state) {
  for (;;) {
    state->sweep_timer.expires_after(kSweepPeriod);
    co_await state->sweep_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    // Stopping: keep enforcing deadlines while sessions drain, end with the last one.
    if (state->stopping.load() && !state->HasSessions()) break;
    state->ShutDownExpired(SteadyClock::now());
  }
  spdlog::debug("http: deadline sweep ended");
}

}  // namespace cidrotor::http
