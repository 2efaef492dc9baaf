// Asio type aliases of the http/ layer, with `as_tuple(use_awaitable)` as the default
// completion token (Boost 1.81, STYLE §5): `auto [ec, n] = co_await stream.async_read_some(b);`
// returns the error code instead of throwing, so every `ec` is checked where it happens.
// Include only from .cc files of http/ (Asio headers cost seconds per TU).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace cidrotor::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

using TupleToken = asio::as_tuple_t<asio::use_awaitable_t<>>;
// An any_io_executor whose default completion token is as_tuple(use_awaitable).
using Executor = TupleToken::executor_with_default<asio::any_io_executor>;
using Acceptor = tcp::acceptor::rebind_executor<Executor>::other;
using Socket = tcp::socket::rebind_executor<Executor>::other;

}  // namespace cidrotor::http
