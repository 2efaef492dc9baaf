// JwtSessions: tokens it issues pass; expired, tampered, re-signed, "none", other-alg and
// other-key tokens fail; renewals keep the login time and stop after max_session. Tokens that
// JwtSessions would never issue are built with libjwt itself (or by hand for "none").
#include "http/jwt_sessions.h"

#include <gtest/gtest.h>
#include <jwt.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "support/manual_clock.h"
#include "support/matchers.h"

namespace cidrotor::http {
namespace {

using cidrotor::testing::HasError;
using cidrotor::testing::IsOk;
using cidrotor::testing::ManualClock;
using std::chrono::seconds;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";
constexpr char kLoginToken[] = "the-admin-token";
// The HS256 key JwtSessions signs with: SECRET_KEY, a NUL, the admin token.
const std::string kKey = std::string(kSecret) + std::string(1, '\0') + kLoginToken;
// 2026-03-01T12:00:00Z
constexpr core::TimePoint kStart{seconds(1'772'366'400)};
constexpr std::int64_t kStartUnix = 1'772'366'400;

std::string Base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3F]);
  return out;
}

struct Grants {
  std::int64_t iat = kStartUnix;
  std::int64_t exp = kStartUnix + 900;
  std::int64_t auth_time = kStartUnix;
  bool with_exp = true;
  std::string sub = "admin";
};

// A token signed by libjwt with `alg` and `key`, carrying `grants`.
std::string Signed(jwt_alg_t alg, std::string_view key, const Grants& grants) {
  jwt_t* raw = nullptr;
  EXPECT_EQ(jwt_new(&raw), 0);
  std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, jwt_free);
  jwt_add_grant(jwt.get(), "sub", grants.sub.c_str());
  jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(grants.iat));
  if (grants.with_exp) jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(grants.exp));
  jwt_add_grant_int(jwt.get(), "auth_time", static_cast<long>(grants.auth_time));
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  EXPECT_EQ(jwt_set_alg(jwt.get(), alg, alg == JWT_ALG_NONE ? nullptr : k,
                        alg == JWT_ALG_NONE ? 0 : static_cast<int>(key.size())),
            0);
  char* encoded = jwt_encode_str(jwt.get());
  std::string out = encoded == nullptr ? "" : encoded;
  std::free(encoded);  // NOLINT: libjwt's malloc'ed string
  return out;
}

class JwtSessionsTest : public ::testing::Test {
 protected:
  ManualClock clock_{kStart};
  JwtSessions sessions_{clock_, JwtOptions{.secret = kSecret,
                                           .login_token = kLoginToken,
                                           .ttl = seconds(900),
                                           .max_session = seconds(3600)}};
};

TEST_F(JwtSessionsTest, IssuedTokenIsValidUntilItsExpiry) {
  auto issued = sessions_.Issue();
  ASSERT_THAT(issued, IsOk());
  EXPECT_EQ(issued->expires_in, seconds(900));
  EXPECT_EQ(issued->access_token.rfind("eyJ", 0), 0U);  // a JWS compact token

  auto claims = sessions_.Decode(issued->access_token);
  ASSERT_THAT(claims, IsOk());
  EXPECT_EQ(claims->issued_at, kStartUnix);
  EXPECT_EQ(claims->expires_at, kStartUnix + 900);
  EXPECT_EQ(claims->auth_time, kStartUnix);

  clock_.Advance(seconds(899));
  EXPECT_TRUE(sessions_.Verify(issued->access_token));
  clock_.Advance(seconds(1));
  EXPECT_FALSE(sessions_.Verify(issued->access_token));
  EXPECT_THAT(sessions_.Decode(issued->access_token), HasError(core::ErrorCode::kUnauthorized));
}

// A leaked admin token is changed: every session opened with it ends, as when SECRET_KEY changes
// (a review found a JWT taken with the old token kept renewing for its 12 hours).
TEST_F(JwtSessionsTest, ChangingTheAdminTokenOrTheSecretEndsEverySession) {
  const std::string token = sessions_.Issue()->access_token;
  ASSERT_TRUE(sessions_.Verify(token));
  const JwtSessions rotated_token{clock_,
                                  JwtOptions{.secret = kSecret, .login_token = "a-new-token"}};
  EXPECT_FALSE(rotated_token.Verify(token));
  EXPECT_THAT(rotated_token.Renew(token), HasError(core::ErrorCode::kUnauthorized));
  const JwtSessions rotated_secret{
      clock_, JwtOptions{.secret = "another-secret-of-32-characters!", .login_token = kLoginToken}};
  EXPECT_FALSE(rotated_secret.Verify(token));
  const JwtSessions same{clock_, JwtOptions{.secret = kSecret, .login_token = kLoginToken}};
  EXPECT_TRUE(same.Verify(token));  // another instance of the same configuration
}

TEST_F(JwtSessionsTest, TamperedPayloadOrSignatureIsRefused) {
  const std::string token = sessions_.Issue()->access_token;
  const auto first_dot = token.find('.');
  const auto second_dot = token.find('.', first_dot + 1);

  // A payload that claims a later expiry, with the original signature.
  const std::string forged_payload =
      Base64Url(R"({"auth_time":1772366400,"exp":1999999999,"iat":1772366400,"sub":"admin"})");
  const std::string forged =
      token.substr(0, first_dot + 1) + forged_payload + token.substr(second_dot);
  EXPECT_FALSE(sessions_.Verify(forged));

  // One character of the signature changed.
  std::string flipped = token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(sessions_.Verify(flipped));

  EXPECT_FALSE(sessions_.Verify(token.substr(0, second_dot)));  // no signature part
  EXPECT_FALSE(sessions_.Verify("not-a-jwt"));
  EXPECT_FALSE(sessions_.Verify(""));
  EXPECT_FALSE(sessions_.Verify(std::string(5000, 'a')));
}

TEST_F(JwtSessionsTest, AlgNoneIsRefused) {
  // By hand, as an attacker would send it: header alg "none", empty signature.
  const std::string header = Base64Url(R"({"alg":"none","typ":"JWT"})");
  const std::string payload =
      Base64Url(R"({"auth_time":1772366400,"exp":1772367300,"iat":1772366400,"sub":"admin"})");
  EXPECT_FALSE(sessions_.Verify(header + "." + payload + "."));
  EXPECT_FALSE(sessions_.Verify(header + "." + payload));
  // And as libjwt writes it.
  EXPECT_FALSE(sessions_.Verify(Signed(JWT_ALG_NONE, "", Grants{})));
}

TEST_F(JwtSessionsTest, OtherAlgorithmOrKeyIsRefused) {
  EXPECT_TRUE(sessions_.Verify(Signed(JWT_ALG_HS256, kKey, Grants{})));  // the control
  EXPECT_FALSE(sessions_.Verify(Signed(JWT_ALG_HS512, kKey, Grants{})));
  EXPECT_FALSE(sessions_.Verify(Signed(JWT_ALG_HS384, kKey, Grants{})));
  EXPECT_FALSE(
      sessions_.Verify(Signed(JWT_ALG_HS256, "another-key-of-the-same-length!!", Grants{})));
}

TEST_F(JwtSessionsTest, MissingExpFutureIatAndOtherSubjectsAreRefused) {
  EXPECT_FALSE(sessions_.Verify(Signed(JWT_ALG_HS256, kKey, Grants{.with_exp = false})));
  EXPECT_FALSE(sessions_.Verify(
      Signed(JWT_ALG_HS256, kKey, Grants{.iat = kStartUnix + 60, .exp = kStartUnix + 900})));
  EXPECT_FALSE(sessions_.Verify(Signed(JWT_ALG_HS256, kKey, Grants{.sub = "agent"})));
  EXPECT_FALSE(sessions_.Verify(
      Signed(JWT_ALG_HS256, kKey, Grants{.iat = kStartUnix - 10, .exp = kStartUnix - 1})));
}

// Issued by another instance whose clock is a little ahead (cluster mode, behind a balancer).
TEST_F(JwtSessionsTest, AnIatAFewSecondsAheadIsAccepted) {
  EXPECT_TRUE(sessions_.Verify(Signed(
      JWT_ALG_HS256, kKey,
      Grants{.iat = kStartUnix + JwtSessions::kClockSkew.count(), .exp = kStartUnix + 900})));
  EXPECT_FALSE(sessions_.Verify(Signed(
      JWT_ALG_HS256, kKey,
      Grants{.iat = kStartUnix + JwtSessions::kClockSkew.count() + 1, .exp = kStartUnix + 900})));
}

TEST_F(JwtSessionsTest, RenewalKeepsTheLoginTimeAndEndsAfterMaxSession) {
  std::string token = sessions_.Issue()->access_token;
  for (int i = 0; i < 3; ++i) {  // renew every 14 minutes: 42 minutes into the session
    clock_.Advance(seconds(14 * 60));
    auto renewed = sessions_.Renew(token);
    ASSERT_THAT(renewed, IsOk()) << "renewal " << i;
    token = renewed->access_token;
    auto claims = sessions_.Decode(token);
    ASSERT_THAT(claims, IsOk());
    EXPECT_EQ(claims->auth_time, kStartUnix);
    EXPECT_EQ(claims->expires_at, claims->issued_at + 900);
  }
  clock_.Advance(seconds(14 * 60));  // 56 minutes: still within the hour
  auto last = sessions_.Renew(token);
  ASSERT_THAT(last, IsOk());
  token = last->access_token;
  clock_.Advance(seconds(5 * 60));  // 61 minutes after login: the token is valid, renewal is not
  EXPECT_TRUE(sessions_.Verify(token));
  EXPECT_THAT(sessions_.Renew(token), HasError(core::ErrorCode::kUnauthorized));
}

TEST_F(JwtSessionsTest, ExpiredTokenCannotBeRenewed) {
  const std::string token = sessions_.Issue()->access_token;
  clock_.Advance(seconds(901));
  EXPECT_THAT(sessions_.Renew(token), HasError(core::ErrorCode::kUnauthorized));
}

}  // namespace
}  // namespace cidrotor::http
