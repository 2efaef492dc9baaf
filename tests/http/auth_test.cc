#include "http/auth.h"

#include <gtest/gtest.h>

namespace cidrotor::http {
namespace {

TEST(AuthTest, ExtractsBearerTokens) {
  EXPECT_EQ(BearerToken("Bearer abc123"), "abc123");
  EXPECT_EQ(BearerToken("bearer abc123"), "abc123");
  EXPECT_EQ(BearerToken("  BEARER   abc123  "), "abc123");
  EXPECT_FALSE(BearerToken("").has_value());
  EXPECT_FALSE(BearerToken("Bearer").has_value());
  EXPECT_FALSE(BearerToken("Bearer ").has_value());
  EXPECT_FALSE(BearerToken("Basic dXNlcjpwYXNz").has_value());
  EXPECT_FALSE(BearerToken("Bearerabc").has_value());
}

TEST(AuthTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secre"));
  EXPECT_FALSE(ConstantTimeEquals("secret", ""));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a\0", 2), "a"));  // a NUL is not the end
}

TEST(AuthTest, AuthorizesOnlyTheAdminToken) {
  Authenticator auth;
  auth.AddVerifier(std::make_unique<StaticTokenVerifier>("s3cret"));
  EXPECT_TRUE(auth.Authorize("Bearer s3cret"));
  for (const char* header : {"", "Bearer wrong", "Bearer s3cret2", "s3cret", "Basic s3cret"}) {
    auto result = auth.Authorize(header);
    ASSERT_FALSE(result) << header;
    EXPECT_EQ(result.error().code(), core::ErrorCode::kUnauthorized);
    EXPECT_EQ(result.error().detail().find("s3cret"), std::string::npos) << "token leaked";
  }
}

TEST(AuthTest, EmptyAdminTokenAuthorizesNobody) {
  Authenticator auth;
  auth.AddVerifier(std::make_unique<StaticTokenVerifier>(""));
  EXPECT_FALSE(auth.Authorize("Bearer "));
  EXPECT_FALSE(auth.Authorize("Bearer x"));
}

class AcceptEverything final : public TokenVerifier {
 public:
  bool Verify(std::string_view token) const override { return token == "jwt.like.token"; }
};

TEST(AuthTest, ASecondVerifierSlotsIn) {
  Authenticator auth;
  auth.AddVerifier(std::make_unique<StaticTokenVerifier>("s3cret"));
  auth.AddVerifier(std::make_unique<AcceptEverything>());
  EXPECT_TRUE(auth.Authorize("Bearer s3cret"));
  EXPECT_TRUE(auth.Authorize("Bearer jwt.like.token"));
  EXPECT_FALSE(auth.Authorize("Bearer other"));
}

}  // namespace
}  // namespace cidrotor::http
