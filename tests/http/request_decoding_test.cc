#include "http/request_decoding.h"

#include <gtest/gtest.h>

#include <string>

namespace cidrotor::http {
namespace {

Request Get(std::string_view target) {
  Request request;
  request.method = Method::kGet;
  request.target = target;
  return request;
}

Request Post(std::string_view target, std::string_view body, std::string_view content_type) {
  Request request;
  request.method = Method::kPost;
  request.target = target;
  request.body = body;
  request.content_type = content_type;
  return request;
}

void ExpectRejected(const Request& request, ParamSources sources, std::string_view field) {
  auto params = DecodeParams(request, sources);
  ASSERT_FALSE(params.has_value()) << request.target << " " << request.body;
  EXPECT_EQ(params.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(params.error().field(), field) << params.error().ToString();
}

TEST(RequestDecodingTest, PercentDecodesTheQuery) {
  auto params =
      DecodeParams(Get("/next-cid?to=%2B1%20(310)%20555-9876&campaign=sales+team&agent=&flag"),
                   ParamSources::kQuery);
  ASSERT_TRUE(params.has_value()) << params.error().ToString();
  EXPECT_EQ(params->Get("to"), "+1 (310) 555-9876");
  EXPECT_EQ(params->Get("campaign"), "sales team");  // '+' is a space in a query
  EXPECT_FALSE(params->Get("agent").has_value());    // empty counts as absent
  EXPECT_FALSE(params->Get("flag").has_value());
}

// `a=${X}&b=${Y}&` from a script, or `&&`: nothing there (the admin writes, which refuse names
// they do not know, refused the empty one, naming `body` even for the query's).
TEST(RequestDecodingTest, EmptyPairsAreNoParameters) {
  auto params = DecodeParams(Post("/add-number?caller_id=2125550183&", "pool=west&&carrier=A&",
                                  "application/x-www-form-urlencoded"),
                             ParamSources::kQueryAndBody);
  ASSERT_TRUE(params.has_value()) << params.error().ToString();
  EXPECT_EQ(params->size(), 3u);
  EXPECT_EQ(params->Get("caller_id"), "2125550183");
  EXPECT_EQ(params->Get("carrier"), "A");
  auto unnamed = DecodeParams(Get("/add-number?=x"), ParamSources::kQuery);
  ASSERT_TRUE(unnamed.has_value());
  EXPECT_TRUE(unnamed->Given("")) << "a value without a name is still there, to be refused";
}

TEST(RequestDecodingTest, NoQueryIsNoParams) {
  auto params = DecodeParams(Get("/health"), ParamSources::kQuery);
  ASSERT_TRUE(params.has_value());
  EXPECT_TRUE(params->empty());
}

TEST(RequestDecodingTest, ReadsFormBodiesAfterTheQuery) {
  auto params = DecodeParams(
      Post("/release?caller_id=2125550000&outcome=busy", "caller_id=2125551234&duration=42",
           "application/x-www-form-urlencoded; charset=utf-8"),
      ParamSources::kQueryAndBody);
  ASSERT_TRUE(params.has_value()) << params.error().ToString();
  EXPECT_EQ(params->Get("caller_id"), "2125551234");  // the body wins
  EXPECT_EQ(params->Get("outcome"), "busy");          // the query still counts
  EXPECT_EQ(params->Get("duration"), "42");
}

// `curl -d "carrier=AT T"` sends the space as it is, and a hand-made body may hold raw UTF-8:
// those bytes can only mean themselves (the seed's server took them too).
TEST(RequestDecodingTest, FormBodiesMayHoldUnencodedSpacesAndUtf8) {
  auto params = DecodeParams(
      Post("/api/numbers", "caller_id=2125551234&carrier=AT T&state=T\xc3\xa9l\xc3\xa9+x",
           "application/x-www-form-urlencoded"),
      ParamSources::kQueryAndBody);
  ASSERT_TRUE(params.has_value()) << params.error().ToString();
  EXPECT_EQ(params->Get("carrier"), "AT T");
  EXPECT_EQ(params->Get("state"), "T\xc3\xa9l\xc3\xa9 x");
  EXPECT_EQ(params->Get("caller_id"), "2125551234");
}

TEST(RequestDecodingTest, FormIsTheDefaultWithoutContentType) {
  // Asterisk's CURL(url,data) posts a form; some clients send no Content-Type.
  auto params = DecodeParams(Post("/release", "reservation_id=9", ""), ParamSources::kQueryAndBody);
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->Get("reservation_id"), "9");
}

TEST(RequestDecodingTest, JsonValuesBecomeText) {
  auto params = DecodeParams(
      Post("/api/numbers",
           R"({"caller_id":"2125551234","hourly_limit":100,"daily_limit":500.0,"active":false,
               "big":18446744073709551615,"neg":-3,"frac":1.5,"carrier":null})",
           "application/json"),
      ParamSources::kQueryAndBody);
  ASSERT_TRUE(params.has_value()) << params.error().ToString();
  EXPECT_EQ(params->Get("caller_id"), "2125551234");
  EXPECT_EQ(params->Get("hourly_limit"), "100");
  EXPECT_EQ(params->Get("daily_limit"), "500");  // not "5E2"
  EXPECT_EQ(params->Get("active"), "false");
  EXPECT_EQ(params->Get("big"), "18446744073709551615");
  EXPECT_EQ(params->Get("neg"), "-3");
  EXPECT_EQ(params->Get("frac"), "1.5");
  EXPECT_FALSE(params->Get("carrier").has_value());  // null is absent
}

TEST(RequestDecodingTest, JsonWithoutContentTypeIsRecognized) {
  auto params =
      DecodeParams(Post("/release", R"( {"reservation_id":"5"})", ""), ParamSources::kQueryAndBody);
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->Get("reservation_id"), "5");
}

// `curl -d '{...}'` without -H labels JSON a form: an object is taken as JSON (a form's first
// name never starts with '{'). A multipart form (curl -F) is refused, saying so.
TEST(RequestDecodingTest, JsonSentAsAFormIsJsonAndAMultipartFormIsRefusedAsOne) {
  auto params = DecodeParams(
      Post("/add-number", R"({"caller_id":"2125551234"})", "application/x-www-form-urlencoded"),
      ParamSources::kQueryAndBody);
  ASSERT_TRUE(params.has_value()) << params.error().ToString();
  EXPECT_EQ(params->Get("caller_id"), "2125551234");

  auto multipart = DecodeParams(Post("/add-number",
                                     "--x\r\nContent-Disposition: form-data; name=\"caller_id\""
                                     "\r\n\r\n2125551234\r\n--x--\r\n",
                                     "multipart/form-data; boundary=x"),
                                ParamSources::kQueryAndBody);
  ASSERT_FALSE(multipart.has_value());
  EXPECT_EQ(multipart.error().field(), "body");
  EXPECT_NE(multipart.error().detail().find("multipart form (curl -F)"), std::string::npos)
      << multipart.error().ToString();
  EXPECT_TRUE(IsMultipart(Post("/api/numbers/import", "", "Multipart/Form-Data; boundary=y")));
  EXPECT_FALSE(IsMultipart(Post("/api/numbers/import", "", "text/csv")));
}

TEST(RequestDecodingTest, GetIgnoresTheBody) {
  auto params = DecodeParams(Post("/next-cid?to=2125551234", "{not json", "application/json"),
                             ParamSources::kQuery);
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->Get("to"), "2125551234");
}

TEST(RequestDecodingTest, RejectsMalformedInputNamingTheField) {
  const std::string long_value(2000, 'x');
  const std::string long_query = "/next-cid?to=" + long_value;
  const std::string long_json = R"({"carrier":")" + long_value + R"("})";
  ExpectRejected(Get("/next-cid?to=%zz"), ParamSources::kQuery, "target");
  ExpectRejected(Get(long_query), ParamSources::kQuery, "to");
  ExpectRejected(Post("/release", "{\"reservation_id\":", "application/json"),
                 ParamSources::kQueryAndBody, "body");
  ExpectRejected(Post("/release", "[1,2]", "application/json"), ParamSources::kQueryAndBody,
                 "body");
  ExpectRejected(Post("/release", R"({"caller_id":["2125551234"]})", "application/json"),
                 ParamSources::kQueryAndBody, "caller_id");
  ExpectRejected(Post("/release", R"({"caller_id":{"a":1}})", "application/json"),
                 ParamSources::kQueryAndBody, "caller_id");
  ExpectRejected(Post("/api/numbers", long_json, "application/json"), ParamSources::kQueryAndBody,
                 "carrier");
  ExpectRejected(Post("/release", "a=%zz", "application/x-www-form-urlencoded"),
                 ParamSources::kQueryAndBody, "body");
  ExpectRejected(Post("/release", "<xml/>", "text/xml"), ParamSources::kQueryAndBody, "body");
}

TEST(RequestDecodingTest, RejectsTooManyParameters) {
  std::string target = "/next-cid?";
  for (int i = 0; i < 65; ++i) {
    target += 'p';
    target += std::to_string(i);
    target += "=1&";
  }
  auto params = DecodeParams(Get(target), ParamSources::kQuery);
  ASSERT_FALSE(params.has_value());
  EXPECT_EQ(params.error().field(), "p64");
}

TEST(RequestDecodingTest, DecodesPathSegments) {
  EXPECT_EQ(DecodePathSegment("2125551234", "caller_id").value(), "2125551234");
  EXPECT_EQ(DecodePathSegment("%2B1%20(212)%20555-1234", "caller_id").value(), "+1 (212) 555-1234");
  auto bad = DecodePathSegment("21%2", "caller_id");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field(), "caller_id");
}

}  // namespace
}  // namespace cidrotor::http
