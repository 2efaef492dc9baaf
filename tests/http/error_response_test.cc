#include "http/error_response.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace cidrotor::http {
namespace {

using core::Error;
using core::ErrorCode;

struct MappingCase {
  Error error;
  unsigned status;
  const char* code;
};

TEST(ErrorResponseTest, MapsEveryCodeToItsStatusAndWireName) {
  const MappingCase cases[] = {
      {Error::InvalidArgument("to", "bad"), 400, "invalid_argument"},
      {Error::Unauthorized("no token"), 401, "unauthorized"},
      {Error::NotFound("no such number"), 404, "not_found"},
      {Error::Conflict("exists"), 409, "conflict"},
      {Error::RateLimited("slow down", 12), 429, "rate_limited"},
      {Error::NoCallerIdAvailable("dry"), 503, "no_caller_id_available"},
      {Error::Unavailable("db down"), 503, "store_unavailable"},
      {Error::Internal("bug"), 500, "internal"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(core::StatusCodeFor(c.error.code()), c.status) << c.code;
    const Response response = ErrorResponse(c.error);
    EXPECT_EQ(response.status, c.status);
    EXPECT_EQ(response.content_type, kJsonContentType);
    const auto body = boost::json::parse(response.body).as_object();
    EXPECT_EQ(body.at("success"), false);
    EXPECT_EQ(body.at("error"), c.code);
    EXPECT_EQ(body.at("detail").as_string(), c.error.detail());
    EXPECT_EQ(body.contains("field"), !c.error.field().empty()) << c.code;
  }
}

TEST(ErrorResponseTest, NamesTheFieldAtFault) {
  const Response response = ErrorResponse(Error::InvalidArgument("to", "needs 10 digits"));
  EXPECT_EQ(
      response.body,
      R"({"success":false,"error":"invalid_argument","detail":"needs 10 digits","field":"to"})");
}

TEST(ErrorResponseTest, RateLimitedCarriesRetryAfter) {
  EXPECT_EQ(ErrorResponse(Error::RateLimited("x", 12)).extra_headers, "Retry-After: 12\r\n");
  // Never "Retry-After: 0": a client would retry at once.
  EXPECT_EQ(ErrorResponse(Error::RateLimited("x", 0)).extra_headers, "Retry-After: 1\r\n");
  EXPECT_EQ(PlainErrorResponse(Error::RateLimited("x", 5)).extra_headers, "Retry-After: 5\r\n");
}

TEST(ErrorResponseTest, UnauthorizedAsksForABearerToken) {
  EXPECT_EQ(ErrorResponse(Error::Unauthorized("x")).extra_headers, "WWW-Authenticate: Bearer\r\n");
}

TEST(ErrorResponseTest, PlainErrorsHaveAnEmptyBody) {
  const Response response = PlainErrorResponse(Error::NoCallerIdAvailable("dry"));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.content_type, kTextContentType);
  EXPECT_TRUE(response.body.empty());
}

TEST(ErrorResponseTest, TransportErrors) {
  const Response not_allowed = MethodNotAllowedResponse("GET, HEAD");
  EXPECT_EQ(not_allowed.status, 405);
  EXPECT_EQ(not_allowed.extra_headers, "Allow: GET, HEAD\r\n");
  EXPECT_EQ(boost::json::parse(not_allowed.body).at("error"), "method_not_allowed");

  const Response too_large = PayloadTooLargeResponse(65536);
  EXPECT_EQ(too_large.status, 413);
  EXPECT_TRUE(too_large.close);
  EXPECT_EQ(boost::json::parse(too_large.body).at("field"), "body");

  const Response malformed = MalformedRequestResponse("bad request line");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_TRUE(malformed.close);
}

}  // namespace
}  // namespace cidrotor::http
