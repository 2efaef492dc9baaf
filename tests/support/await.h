// Waiting for a callback-style store call in a test: store callbacks may run on another thread
// (the journal's writer), so the result is handed over through a promise.
#pragma once

#include <future>
#include <utility>

#include "core/result.h"

namespace cidrotor::testing {

// Runs `call(done)` and returns what `done` received.
template <class T, class Call>
core::Result<T> Await(Call call) {
  std::promise<core::Result<T>> promise;
  auto future = promise.get_future();
  call([&promise](core::Result<T> result) { promise.set_value(std::move(result)); });
  return future.get();
}

}  // namespace cidrotor::testing
