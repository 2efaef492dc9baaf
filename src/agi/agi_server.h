// The FastAGI server: Asterisk's `AGI(agi://host:4573/next-cid?...)` and `.../release?...`, one
// Asio coroutine per connection (one request per connection, as Asterisk opens them). Protocol
// and behaviour: docs/agi.md. Every request is answered within `deadline` once its environment
// block has arrived, even when the store is slow or down: CIDROTOR_STATUS carries the error and
// CALLERID(num) is left alone, so the dialplan falls back (Asterisk itself applies no timeout to a
// connected FastAGI server). An allocation that completes after its deadline is released at once.
// Every request is appended to api_logs (endpoint `agi:next-cid`, `agi:release`, `agi:unknown`).
//
// Thread-safety: Listen() and Start() are called once each, in that order. Stop() may be called
// from any thread, any number of times. Each connection runs on its own strand, so the io_context
// may be run by several threads.
// Ownership: references `io`, the store and the clock, which must outlive the server; the server
// must outlive io.run() (late store callbacks only touch the store and shared state they own).
// This header is free of Asio includes on purpose (an Asio TU costs ~8 s to compile).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "store/store.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace cidrotor::agi {

struct AgiContext {
  store::Store& store;
  const core::Clock& clock;
  // AGI_TIMEOUT_MS: from the end of the environment block to the answer's first command (the
  // store call's bound). Default 250 ms.
  std::chrono::milliseconds deadline{250};
  // Bound on receiving the environment block after connecting, and on each reply of Asterisk to
  // a command; a silent peer is disconnected after it. Default 5 s.
  std::chrono::milliseconds read_timeout{5000};
  // The uniqueid -> reservation memo used by `release` without `reservation=`: entries kept for
  // this long (default 2 h, longer than any call), at most this many (default 100,000).
  std::chrono::seconds memo_ttl{7200};
  std::size_t memo_capacity = 100'000;
  // Connections open at once beyond which new ones are closed as soon as accepted, so Asterisk
  // falls back at once (AGISTATUS=FAILURE) and a flood of silent peers cannot take every file
  // descriptor (the HTTP API's too). One exchange lasts milliseconds: a busy dialer keeps a few
  // dozen open. Default 1,000.
  std::size_t max_connections = 1'000;
  // At max_connections, a connection that has not sent its environment block this long after it
  // was accepted gives its place to a new one (Asterisk sends the block at once): silent
  // connections cannot hold every place for their read timeout each. Default 1 s.
  std::chrono::milliseconds silent_grace{1'000};
  // After Stop(), how long the exchanges under way have in all: the read timeout restarts at
  // every command, so a slow peer answering each just in time would hold the stop for seconds
  // per command (29 s for a `lookup` in a review, near systemd's TimeoutStopSec). 2 s, as HTTP.
  std::chrono::milliseconds stop_grace{2000};
};

// The share of the process's descriptors max_connections may take (net::ConnectionCapFor).
inline constexpr std::size_t kOpenFilesParts = 4;

class AgiServer {
 public:
  AgiServer(boost::asio::io_context& io, AgiContext context);
  ~AgiServer();
  AgiServer(const AgiServer&) = delete;
  AgiServer& operator=(const AgiServer&) = delete;

  // Binds and listens on host:port; port 0 picks a free port. Returns the bound port, or
  // kUnavailable naming host:port and the reason.
  [[nodiscard]] core::Result<std::uint16_t> Listen(const std::string& host, std::uint16_t port);

  // Spawns the accept loop. REQUIRES: Listen() succeeded.
  void Start();

  // Graceful stop: no new connections; connections still waiting for their environment block are
  // closed; requests under way finish (each is bounded by the deadlines above). Once the last one
  // ended the server holds no work on the io_context. Idempotent, any thread.
  void Stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace cidrotor::agi
