#include "store/serial_worker.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

namespace cidrotor::store {

SerialWorker::SerialWorker(std::size_t max_pending)
    : max_pending_(max_pending), thread_([this] { Run(); }) {}

SerialWorker::~SerialWorker() { Stop(); }

void SerialWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

bool SerialWorker::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stop_ || tasks_.size() >= max_pending_) return false;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void SerialWorker::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stop_ and drained
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    try {
      task();
    } catch (const std::exception& e) {  // a callback broke its contract; keep serving others
      spdlog::error("sqlite journal reader: task threw: {}", e.what());
    } catch (...) {
      spdlog::error("sqlite journal reader: task threw a non-standard exception");
    }
    lock.lock();
  }
}

}  // namespace cidrotor::store
