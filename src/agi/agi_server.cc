// AgiServer: listening, the accept loop, graceful stop.
#include "agi/agi_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>
#include <utility>
#include <vector>

#include "agi/agi_state.h"
#include "net/listen.h"

namespace cidrotor::agi {
namespace {

void LogEscaped(std::string_view what, std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("agi: {} ended by an exception: {}", what, e.what());
  } catch (...) {
    spdlog::error("agi: {} ended by an unknown exception", what);
  }
}

asio::awaitable<void> AcceptLoop(std::shared_ptr<AgiState> state) {
  for (;;) {
    auto [ec, socket] = co_await state->acceptor.async_accept(asio::make_strand(state->io),
                                                              asio::as_tuple(asio::use_awaitable));
    if (state->stopping.load()) break;
    if (ec) {
      if (ec == asio::error::operation_aborted || !state->acceptor.is_open()) break;
      if (const auto times = state->accept_error_log.Pass()) {
        spdlog::warn("agi: accept failed ({} times since the last such line): {}", times,
                     ec.message());
      }
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto connection = std::make_shared<AgiConnection>(std::move(socket));
    const auto registered = state->Register(connection);
    if (registered == AgiState::Registered::kStopping) break;
    if (registered == AgiState::Registered::kFull) {
      connection->socket.close(ignored);
      continue;
    }
    asio::co_spawn(connection->socket.get_executor(), RunAgiSession(state, connection),
                   [](std::exception_ptr error) { LogEscaped("session", error); });
  }
  spdlog::debug("agi: accept loop ended");
}

}  // namespace

AgiState::AgiState(asio::io_context& io_context, const AgiContext& ctx)
    : io(io_context),
      store(ctx.store),
      clock(ctx.clock),
      context(ctx),
      memo(ctx.memo_capacity, ctx.memo_ttl),
      acceptor(asio::make_strand(io_context)) {}

// Connections Register looks at for a silent one, and evicted ones that may still hold their
// descriptors (each closes as soon as its strand runs): bounded work per accept, bounded excess.
constexpr std::size_t kEvictionScan = 64;
constexpr std::size_t kMaxEvicting = 64;

bool AgiState::EvictSilent() {
  const auto silent_since = SteadyClock::now() - context.silent_grace;
  std::size_t scanned = 0;
  for (const auto& connection : connections) {
    if (++scanned > kEvictionScan) break;
    if (connection->evicted || !connection->awaiting_environment.load() ||
        connection->accepted_at > silent_since) {
      continue;
    }
    connection->evicted = true;
    ++evicted_connections;
    asio::post(connection->socket.get_executor(), [connection] {
      if (!connection->awaiting_environment.load() || connection->finished) return;
      connection->closed_for_new = true;
      boost::system::error_code ignored;
      connection->socket.close(ignored);  // its pending read ends; nothing was asked yet
    });
    if (const auto times = silent_log.Pass()) {
      spdlog::warn(
          "agi: {} connections open, the most allowed: closed {} silent for {} ms for new ones",
          connections.size(), times, context.silent_grace.count());
    }
    return true;
  }
  return false;
}

AgiState::Registered AgiState::Register(const std::shared_ptr<AgiConnection>& connection) {
  std::lock_guard lock(mu);
  if (stopping.load()) return Registered::kStopping;
  const std::size_t live = connections.size() - evicted_connections;
  if (live >= context.max_connections && !(evicted_connections < kMaxEvicting && EvictSilent())) {
    // One warning a second at most, with the count: a flood must not flood the log too.
    if (const auto times = full_log.Pass()) {
      spdlog::warn(
          "agi: {} connections open, the most allowed: closed {} new one(s) at once since the "
          "last such line",
          connections.size(), times);
    }
    return Registered::kFull;
  }
  connections.insert(connection);
  return Registered::kYes;
}

void AgiState::Unregister(const std::shared_ptr<AgiConnection>& connection) {
  std::lock_guard lock(mu);
  if (connections.erase(connection) > 0 && connection->evicted) --evicted_connections;
}

struct AgiServer::Impl {
  std::shared_ptr<AgiState> state;
};

AgiServer::AgiServer(asio::io_context& io, AgiContext context)
    : impl_(std::make_shared<Impl>(Impl{std::make_shared<AgiState>(io, context)})) {}

AgiServer::~AgiServer() = default;

core::Result<std::uint16_t> AgiServer::Listen(const std::string& host, std::uint16_t port) {
  AgiState& state = *impl_->state;
  auto bound = net::Listen(state.io, state.acceptor, host, port, "FastAGI");
  if (bound) {
    spdlog::info("agi: listening on {}:{} deadline_ms={}", host, *bound,
                 state.context.deadline.count());
  }
  return bound;
}

void AgiServer::Start() {
  auto state = impl_->state;
  asio::co_spawn(state->acceptor.get_executor(), AcceptLoop(state),
                 [](std::exception_ptr error) { LogEscaped("accept loop", error); });
}

void AgiServer::Stop() {
  auto state = impl_->state;
  if (state->stopping.exchange(true)) return;
  spdlog::info("agi: stopping: no new connections, finishing requests under way");
  asio::post(state->acceptor.get_executor(), [state] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
  });
  std::vector<std::shared_ptr<AgiConnection>> connections;
  {
    std::lock_guard lock(state->mu);
    connections.assign(state->connections.begin(), state->connections.end());
  }
  const auto stop_by = SteadyClock::now() + state->context.stop_grace;
  for (auto& connection : connections) {
    asio::post(connection->socket.get_executor(), [connection, stop_by] {
      if (connection->finished) return;
      if (!connection->awaiting_environment) {
        connection->StopBy(stop_by);
        return;
      }
      boost::system::error_code ignored;
      connection->socket.close(ignored);  // its pending read ends; nothing was asked yet
    });
  }
}

}  // namespace cidrotor::agi
