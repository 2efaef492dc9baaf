// net::ResolveListenEndpoint: the address API_HOST / AGI_HOST names is the one listened on.
#include "net/listen.h"

#include <gtest/gtest.h>

#include <vector>

namespace cidrotor::net {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::tcp;

TEST(ListenEndpointTest, ANumericAddressBracketedOrNot) {
  boost::asio::io_context io;
  for (const char* host : {"::1", "[::1]"}) {
    auto endpoint = ResolveListenEndpoint(io, host, 8000, "HTTP");
    ASSERT_TRUE(endpoint.has_value()) << host << ": " << endpoint.error().ToString();
    EXPECT_EQ(endpoint->address(), make_address("::1")) << host;
    EXPECT_EQ(endpoint->port(), 8000);
  }
  auto v4 = ResolveListenEndpoint(io, "127.0.0.1", 0, "HTTP");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->address(), make_address("127.0.0.1"));
}

// "localhost" on a stock Debian resolves to ::1 and 127.0.0.1: listening on ::1 alone refused
// the dialplans' 127.0.0.1.
TEST(ListenEndpointTest, ANameIsListenedOnAtItsIpv4AddressWhenItHasOne) {
  const std::vector<tcp::endpoint> both = {{make_address("::1"), 8000},
                                           {make_address("127.0.0.1"), 8000}};
  EXPECT_EQ(ChooseListenEndpoint(both).address(), make_address("127.0.0.1"));
  const std::vector<tcp::endpoint> v6 = {{make_address("::1"), 8000}};
  EXPECT_EQ(ChooseListenEndpoint(v6).address(), make_address("::1"));
  boost::asio::io_context io;
  auto localhost = ResolveListenEndpoint(io, "localhost", 0, "HTTP");
  ASSERT_TRUE(localhost.has_value()) << localhost.error().ToString();
  EXPECT_TRUE(localhost->address().is_loopback());
}

}  // namespace
}  // namespace cidrotor::net
