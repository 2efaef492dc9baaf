// Test support: a private redis-server on a loopback port, started by the test itself
// (`redis-server --port P --bind 127.0.0.1 --save '' --appendonly no`: nothing on disk, so a
// restart comes back empty, like a cache node that lost its data, unless a test restarts it from
// a snapshot it saved) and killed when the object goes. The child gets SIGKILL if the test process dies (PR_SET_PDEATHSIG), so a crash or a ctest
// timeout never leaves a server behind. Not thread-safe: one test thread drives it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cidrotor::test_support {

class RedisServer {
 public:
  // Starts on a free port. Check running() (and error()) before use.
  RedisServer();
  ~RedisServer();  // SIGKILL and reap
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const { return port_; }
  bool running() const { return pid_ > 0; }
  const std::string& error() const { return error_; }

  // SIGKILL: every connection drops, every key is lost.
  void Kill();
  // SIGSTOP / SIGCONT: the server keeps its connections but answers nothing (a hung node).
  void Pause();
  void Resume();
  // Starts again on the same port, empty. Returns running().
  bool Restart();
  // Writes the keys to this server's own snapshot file (SAVE). Returns whether it did.
  bool SaveSnapshot();
  // Starts again on the same port from the last SaveSnapshot(): the keys as they were then, as
  // after a restore from an older snapshot or a failover to a replica that lagged behind.
  // Returns running().
  bool RestartFromSnapshot();
  // One command over a fresh connection; the raw RESP reply ("" on failure). For FLUSHALL, DEL...
  std::string Command(const std::vector<std::string>& args) const;

 private:
  bool Start(bool from_snapshot = false);
  std::string SnapshotName() const;  // in /tmp, one per port

  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace cidrotor::test_support
