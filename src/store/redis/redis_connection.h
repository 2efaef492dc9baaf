// One blocking hiredis connection with connect and command timeouts (hiredis 0.14 has no Redis
// Cluster support: one server). Used by one thread at a time (a RedisExecutor worker owns it).
//
// Failure handling: any I/O error or timeout drops the context (a timed-out context may hold a
// half-read reply, so it is never reused) and the connection reconnects on the next command,
// but not before `retry_after` has passed since the failure: while Redis is down, commands fail
// at once with kUnavailable instead of each waiting for a connect timeout. One exception: a
// pooled connection that the server had closed (EOF or reset before the first reply, as after a
// Redis restart) is reconnected and the commands sent again at once, so a restart does not fail
// one request per pooled connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/redis/redis_reply.h"

struct redisContext;

namespace cidrotor::store::redis {

struct ConnectionOptions {
  std::string host = "127.0.0.1";  // REDIS_HOST
  std::uint16_t port = 6379;       // REDIS_PORT
  std::string password;            // empty: no AUTH
  int db = 0;                      // SELECT db when not 0
  std::chrono::milliseconds connect_timeout{200};
  std::chrono::milliseconds command_timeout{200};
  std::chrono::milliseconds retry_after{100};  // after a failure, no new attempt before this
};

using Command = std::vector<std::string>;

// `command` in the Redis protocol (RESP), as hiredis writes it.
std::string FormatCommand(const Command& command);

class RedisConnection {
 public:
  explicit RedisConnection(ConnectionOptions options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command and reads its reply. A Redis error reply is a value (is_error()), not a
  // failure. Errors: kUnavailable (cannot connect, I/O error, timeout).
  [[nodiscard]] core::Result<RedisReply> Run(const Command& command);
  // Sends every command before reading any reply (one round trip). Same errors as Run.
  [[nodiscard]] core::Result<std::vector<RedisReply>> Pipeline(
      const std::vector<Command>& commands);

  bool connected() const { return context_ != nullptr; }

 private:
  core::Result<void> EnsureConnected();
  // One send-all-then-read-all exchange; sets stale_ when the server had closed the connection.
  core::Result<std::vector<RedisReply>> Exchange(const std::vector<Command>& commands);
  core::Error Drop(const std::string& what);  // frees the context, returns kUnavailable

  ConnectionOptions options_;
  redisContext* context_ = nullptr;
  std::chrono::steady_clock::time_point failed_at_{};
  bool failed_ = false;
  bool stale_ = false;  // the last exchange found the connection closed before any reply
};

}  // namespace cidrotor::store::redis
