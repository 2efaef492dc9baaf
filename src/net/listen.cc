#include "net/listen.h"

#include <fmt/format.h>

namespace cidrotor::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

core::Error ListenError(std::string_view what, const std::string& host, std::uint16_t port,
                        const boost::system::error_code& error) {
  return core::Error::Unavailable(
      fmt::format("cannot listen for {} on {}:{}: {}", what, host, port, error.message()));
}

core::Result<tcp::endpoint> ResolveListenEndpoint(asio::io_context& io, const std::string& host,
                                                  std::uint16_t port, std::string_view what) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, port);
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return core::Fail(ListenError(what, host, port, ec));
  if (results.empty())
    return core::Fail(ListenError(what, host, port, asio::error::host_not_found));
  return results.begin()->endpoint();
}

}  // namespace cidrotor::net
