#include "net/listen.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace cidrotor::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

core::Error ListenError(std::string_view what, const std::string& host, std::uint16_t port,
                        const boost::system::error_code& error) {
  return core::Error::Unavailable(
      fmt::format("cannot listen for {} on {}:{}: {}", what, host, port, error.message()));
}

tcp::endpoint ChooseListenEndpoint(const std::vector<tcp::endpoint>& resolved) {
  for (const auto& endpoint : resolved) {
    if (endpoint.address().is_v4()) return endpoint;
  }
  return resolved.front();
}

core::Result<tcp::endpoint> ResolveListenEndpoint(asio::io_context& io, const std::string& host,
                                                  std::uint16_t port, std::string_view what) {
  // "[::1]" as in a URL (the loopback check takes it too).
  std::string_view bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(bare, ec);
  if (!ec) return tcp::endpoint(address, port);
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(bare, std::to_string(port), ec);
  if (ec) return core::Fail(ListenError(what, host, port, ec));
  if (results.empty())
    return core::Fail(ListenError(what, host, port, asio::error::host_not_found));
  std::vector<tcp::endpoint> endpoints;
  for (const auto& result : results) endpoints.push_back(result.endpoint());
  const tcp::endpoint chosen = ChooseListenEndpoint(endpoints);
  spdlog::info("msg=\"{} listens on {} for {}\"", what, chosen.address().to_string(), host);
  return chosen;
}

}  // namespace cidrotor::net
