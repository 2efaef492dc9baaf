#include "http/message.h"

#include <gtest/gtest.h>

namespace cidrotor::http {
namespace {

// The Date header changes every second: compare everything else.
std::string WithoutDate(std::string wire) {
  const auto start = wire.find("Date: ");
  if (start == std::string::npos) return wire;
  const auto end = wire.find("\r\n", start);
  return wire.erase(start, end + 2 - start);
}

TEST(MessageTest, SerializesAKeepAliveResponse) {
  Response response;
  response.body = R"({"ok":true})";
  std::string wire;
  SerializeResponse(response, 11, true, false, wire);
  EXPECT_EQ(WithoutDate(wire),
            "HTTP/1.1 200 OK\r\nServer: cidrotor\r\nContent-Type: application/json\r\n"
            "Content-Length: 11\r\n\r\n{\"ok\":true}");
  EXPECT_NE(wire.find("\r\nDate: "), std::string::npos);
}

TEST(MessageTest, AddsHeadersAndClose) {
  Response response;
  response.status = 429;
  response.AddHeader("Retry-After", "3");
  std::string wire;
  SerializeResponse(response, 11, false, false, wire);
  EXPECT_EQ(WithoutDate(wire),
            "HTTP/1.1 429 Too Many Requests\r\nServer: cidrotor\r\nContent-Type: "
            "application/json\r\nContent-Length: 0\r\nRetry-After: 3\r\nConnection: close\r\n\r\n");
}

TEST(MessageTest, Http10KeepAliveIsExplicit) {
  Response response;
  std::string wire;
  SerializeResponse(response, 10, true, false, wire);
  EXPECT_NE(wire.find("Connection: keep-alive\r\n"), std::string::npos);
}

TEST(MessageTest, HeadResponsesHaveNoBody) {
  Response response;
  response.body = "12345";
  std::string wire;
  SerializeResponse(response, 11, true, true, wire);
  EXPECT_NE(wire.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(wire.substr(wire.size() - 4), "\r\n\r\n");
}

TEST(MessageTest, PathDropsTheQuery) {
  Request request;
  request.target = "/next-cid?to=2125551234";
  EXPECT_EQ(request.path(), "/next-cid");
  request.target = "/health";
  EXPECT_EQ(request.path(), "/health");
}

}  // namespace
}  // namespace cidrotor::http
