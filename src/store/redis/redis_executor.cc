#include "store/redis/redis_executor.h"

#include <utility>

namespace cidrotor::store::redis {

RedisExecutor::RedisExecutor(ExecutorOptions options) : options_(std::move(options)) {
  if (options_.workers == 0) options_.workers = 1;
  for (std::size_t i = 0; i < options_.workers; ++i) {
    connections_.push_back(std::make_unique<RedisConnection>(options_.connection));
  }
  for (std::size_t i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

RedisExecutor::~RedisExecutor() {
  std::deque<Queued> left;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    left.swap(queue_);
  }
  cv_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  for (Queued& q : left) q.task.fail(core::Error::Unavailable("redis store shutting down"));
}

void RedisExecutor::Submit(Task task) {
  {
    std::lock_guard lock(mu_);
    if (!stop_ && queue_.size() < options_.max_queue) {
      const bool urgent = task.urgent;
      Queued queued{std::move(task), std::chrono::steady_clock::now()};
      if (urgent) {
        queue_.push_front(std::move(queued));
      } else {
        queue_.push_back(std::move(queued));
      }
      cv_.notify_one();
      return;
    }
  }
  task.fail(core::Error::Unavailable("redis work queue full"));
}

void RedisExecutor::WorkerLoop(std::size_t index) {
  RedisConnection& connection = *connections_[index];
  for (;;) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Queued queued = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    if (!queued.task.urgent &&
        std::chrono::steady_clock::now() - queued.queued_at > options_.queue_deadline) {
      queued.task.fail(core::Error::Unavailable("redis too slow: request waited too long"));
    } else {
      queued.task.run(connection);
    }
    lock.lock();
    --running_;
    if (queue_.empty() && running_ == 0) idle_cv_.notify_all();
  }
}

void RedisExecutor::Drain() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return stop_ || (queue_.empty() && running_ == 0); });
}

}  // namespace cidrotor::store::redis
