// A blocking call that may not be waited for longer than a deadline, though it cannot be
// cancelled: getaddrinfo(3), whose DNS server may never answer (it then takes the resolver's own
// timeouts and retries, 10 s and more per name).
//
// Example:
//   auto addresses = CallWithin<Addresses>([host] { return Lookup(host); }, 5s);
//   if (!addresses) ...  // not within 5 s: the lookup goes on, unwaited for, and is dropped
//
// Thread-safety: each call is independent. The work runs on a thread of its own, detached: past
// the deadline it finishes on its own, holding only its own state (the work and the result), so
// `work` must not capture references to anything that may be gone by then.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

namespace cidrotor::notify {

// `work()`'s result when it returns within `timeout`; nullopt when it does not (or no thread
// could be started).
template <class T>
std::optional<T> CallWithin(std::function<T()> work, std::chrono::milliseconds timeout) {
  struct State {
    std::mutex mu;
    std::condition_variable done;
    std::optional<T> result;  // guarded by mu
  };
  auto state = std::make_shared<State>();
  try {
    std::thread([state, work = std::move(work)] {
      T value = work();
      std::lock_guard lock(state->mu);
      state->result.emplace(std::move(value));
      state->done.notify_all();
    }).detach();
  } catch (const std::system_error&) {
    return std::nullopt;
  }
  std::unique_lock lock(state->mu);
  if (!state->done.wait_for(lock, timeout, [&] { return state->result.has_value(); })) {
    return std::nullopt;
  }
  return std::move(state->result);
}

}  // namespace cidrotor::notify
