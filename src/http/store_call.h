// Awaiting a callback-based store::Store operation from a coroutine.
//
//   auto added = co_await CallStore<core::NumberView>(
//       [&](store::Callback<core::NumberView> done) { store.AddNumber(spec, std::move(done)); });
//
// The store may complete on any thread (the SQLite group-commit writer's, or inline): the result
// is posted back to the awaiting coroutine's executor (an I/O thread of the io_context), never
// resumed on the store's thread. While the operation is pending the coroutine's executor counts
// outstanding work, so io_context::run() does not return under an in-flight request. If the store
// drops the callback without calling it, the coroutine is destroyed with it (its connection
// closes). Include only from .cc files of http/ (Asio).
#pragma once

#include <atomic>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <utility>

#include "core/result.h"
#include "store/store.h"

namespace cidrotor::http {

// `start(store::Callback<T>)` starts the store operation; it runs once the coroutine has
// suspended, and may capture the caller's locals by reference. Returns the operation's result.
template <class T, class Start>
boost::asio::awaitable<core::Result<T>> CallStore(Start start) {
  namespace asio = boost::asio;
  auto initiate = [start = std::move(start)](auto handler) mutable {
    using CompletionHandler = decltype(handler);
    using HandlerExecutor = asio::associated_executor_t<CompletionHandler>;
    // std::function (store::Callback) needs a copyable callable: the move-only handler lives in a
    // shared state, taken exactly once.
    struct Pending {
      explicit Pending(CompletionHandler h)
          : work(asio::get_associated_executor(h)), handler(std::move(h)) {}
      asio::executor_work_guard<HandlerExecutor> work;
      std::optional<CompletionHandler> handler;
      std::atomic<bool> completed{false};
    };
    auto pending = std::make_shared<Pending>(std::move(handler));
    start(store::Callback<T>([pending](core::Result<T> result) {
      if (pending->completed.exchange(true)) return;  // a store calling back twice: ignored
      asio::post(pending->work.get_executor(), [pending, result = std::move(result)]() mutable {
        CompletionHandler resume = std::move(*pending->handler);
        pending->handler.reset();
        pending->work.reset();
        std::move(resume)(std::move(result));
      });
    }));
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(core::Result<T>)>(
      std::move(initiate), asio::use_awaitable);
}

}  // namespace cidrotor::http
