// A few worker threads, each owning one RedisConnection, that run Redis work off the caller's
// thread (STYLE §5: never block an I/O thread). Store calls complete through callbacks run on
// these workers.
//
// Bounded on every side: the queue holds at most `max_queue` tasks (more fail at once), and a
// task that waited longer than `queue_deadline` fails without touching Redis, so while Redis is
// down or slow a caller hears kUnavailable within about queue_deadline + one command timeout
// (SPEC: 503 within 500 ms, never a hang). Thread-safe; the destructor fails what is still queued
// and joins the workers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/result.h"
#include "store/redis/redis_connection.h"

namespace cidrotor::store::redis {

struct ExecutorOptions {
  ConnectionOptions connection;
  std::size_t workers = 8;                        // connections, one per worker thread
  std::size_t max_queue = 10'000;                 // tasks waiting for a worker
  std::chrono::milliseconds queue_deadline{250};  // a task waiting longer fails unrun
};

class RedisExecutor {
 public:
  // `run` gets a worker's connection; `fail` is called instead when the task cannot run.
  struct Task {
    std::function<void(RedisConnection&)> run;
    std::function<void(core::Error)> fail;
    // Finishes work already begun (the undo of a change PostgreSQL refused, the release of a
    // number's edit lock): queued ahead of the others and never failed for having waited, so a
    // busy queue cannot leave that work half done.
    bool urgent = false;
  };

  explicit RedisExecutor(ExecutorOptions options);
  ~RedisExecutor();
  RedisExecutor(const RedisExecutor&) = delete;
  RedisExecutor& operator=(const RedisExecutor&) = delete;

  // Queues `task`; never blocks. When the queue is full `task.fail` runs on the caller's thread.
  void Submit(Task task);
  // Returns once every task queued before the call has run (or failed) and no task is running.
  // REQUIRES: not called from a task.
  void Drain();

 private:
  struct Queued {
    Task task;
    std::chrono::steady_clock::time_point queued_at;
  };
  void WorkerLoop(std::size_t index);

  ExecutorOptions options_;
  std::vector<std::unique_ptr<RedisConnection>> connections_;  // one per worker, its own
  std::mutex mu_;
  std::condition_variable cv_;       // workers wait for work
  std::condition_variable idle_cv_;  // Drain waits for an empty queue and no running task
  std::deque<Queued> queue_;         // guarded by mu_
  std::size_t running_ = 0;          // guarded by mu_; tasks being run by workers
  bool stop_ = false;                // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace cidrotor::store::redis
