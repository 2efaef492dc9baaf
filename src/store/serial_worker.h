// One thread that runs posted tasks in order, with a bounded queue: the journals' reader (the
// SQLite and PostgreSQL journals run history queries there on a connection of their own, off the
// callers' threads).
//
// Thread-safety: Post may be called from any thread. Stop (and the destructor) runs every task
// already accepted, then joins the thread. Ownership: tasks are owned by the worker until they run.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace cidrotor::store {

class SerialWorker {
 public:
  // REQUIRES: max_pending >= 1.
  explicit SerialWorker(std::size_t max_pending);
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;
  ~SerialWorker();

  // Queues `task`. Returns false, and drops it, when max_pending tasks already wait (the caller
  // reports "busy") or the worker is shutting down.
  [[nodiscard]] bool Post(std::function<void()> task);

  // Refuses new tasks, runs the ones accepted, and joins the thread. Tasks may still call Post
  // (it returns false), as the worker object stays whole until it is destroyed. Idempotent.
  // REQUIRES: not called from a task.
  void Stop();

 private:
  void Run();

  const std::size_t max_pending_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  std::thread thread_;                       // last: starts after the fields above exist
};

}  // namespace cidrotor::store
