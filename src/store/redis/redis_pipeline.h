// One Redis connection, on a thread of its own, that pipelines: every command queued while a
// write is in flight goes out with the others in the next single write, and the replies are
// matched to their callers in order. It carries the hot path (allocate and release scripts):
// where RedisExecutor costs each request a worker wake-up and a round trip of its own, this costs
// a handful of syscalls per batch of requests, on both sides of the socket.
//
// Bounded like the executor: at most `max_waiting` commands wait for a reply (more fail at
// once); with no reply within command_timeout every waiting command fails and the connection
// is dropped; a failed connect makes commands fail at once for retry_after, then the next
// command connects again (connect_timeout). A server that closes an idle connection (a Redis
// restart) is reconnected by the next command without failing it. Errors are kUnavailable.
//
// Thread-safe. `done` runs on the pipeline's thread, exactly once; it must not block.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/result.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_reply.h"

namespace cidrotor::store::redis {

class RedisPipeline {
 public:
  using Done = std::function<void(core::Result<RedisReply>)>;

  explicit RedisPipeline(ConnectionOptions options, std::size_t max_waiting = 10'000);
  // Fails what is still waiting (kUnavailable) and joins the thread.
  ~RedisPipeline();
  RedisPipeline(const RedisPipeline&) = delete;
  RedisPipeline& operator=(const RedisPipeline&) = delete;

  // Queues `command`; never blocks. A Redis error reply is a value (is_error()).
  void Run(const Command& command, Done done);
  // Returns once every command queued before the call has its answer.
  // REQUIRES: not called from a `done`.
  void Drain();

 private:
  class Loop;  // the Asio side, in redis_pipeline.cc

  std::unique_ptr<Loop> loop_;
  std::mutex drain_mu_;
  std::condition_variable drained_;
  std::atomic<std::size_t> outstanding_{0};  // queued by Run, not yet answered
  std::thread thread_;
};

}  // namespace cidrotor::store::redis
