// Opening a listening TCP socket, shared by the HTTP and FastAGI servers (both listen on
// API_HOST). Asio is in this header: include it only from .cc files of http/ and agi/.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/socket_base.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cidrotor::net {

// The endpoint for `host` (a numeric address, bracketed or not, or a name such as "localhost",
// resolved once: this runs at start-up; of its addresses the first IPv4 one, logged) and
// `port`, or the kUnavailable error ListenError describes.
[[nodiscard]] core::Result<boost::asio::ip::tcp::endpoint> ResolveListenEndpoint(
    boost::asio::io_context& io, const std::string& host, std::uint16_t port,
    std::string_view what);

// Of a name's addresses, the one listened on: the first IPv4 one, else the first. Debian's
// /etc/hosts gives "localhost" ::1 too, and the dialplans dial 127.0.0.1. REQUIRES: not empty.
[[nodiscard]] boost::asio::ip::tcp::endpoint ChooseListenEndpoint(
    const std::vector<boost::asio::ip::tcp::endpoint>& resolved);

// "cannot listen for HTTP on 127.0.0.1:8000: Address already in use", as kUnavailable.
core::Error ListenError(std::string_view what, const std::string& host, std::uint16_t port,
                        const boost::system::error_code& error);

// Resolves, then opens, binds (SO_REUSEADDR) and listens on `acceptor` (any executor type).
// Port 0 picks a free port. Returns the bound port; kUnavailable naming `what`, host and port
// otherwise, with the acceptor closed.
template <class Acceptor>
[[nodiscard]] core::Result<std::uint16_t> Listen(boost::asio::io_context& io, Acceptor& acceptor,
                                                 const std::string& host, std::uint16_t port,
                                                 std::string_view what) {
  auto endpoint = ResolveListenEndpoint(io, host, port, what);
  if (!endpoint) return core::Fail(endpoint.error());
  boost::system::error_code ec;
  auto fail = [&] {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    return core::Fail(ListenError(what, host, port, ec));
  };
  if (acceptor.open(endpoint->protocol(), ec); ec) return fail();
  if (acceptor.set_option(boost::asio::socket_base::reuse_address(true), ec); ec) return fail();
  if (acceptor.bind(*endpoint, ec); ec) return fail();
  if (acceptor.listen(boost::asio::socket_base::max_listen_connections, ec); ec) return fail();
  const auto bound = acceptor.local_endpoint(ec);
  if (ec) return fail();
  return bound.port();
}

}  // namespace cidrotor::net
