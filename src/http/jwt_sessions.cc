#include "http/jwt_sessions.h"

#include <jwt.h>

#include <cstdlib>
#include <memory>
#include <utility>

namespace cidrotor::http {
namespace {

// Far above any token we issue (~200 bytes); bounds the work an attacker can ask of libjwt.
constexpr std::size_t kMaxTokenLength = 4096;
constexpr char kSubject[] = "admin";

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

struct CharFree {
  void operator()(char* text) const { std::free(text); }  // NOLINT: libjwt's strings are malloc'ed
};

core::Error Refused(std::string detail) { return core::Error::Unauthorized(std::move(detail)); }

}  // namespace

JwtSessions::JwtSessions(const core::Clock& clock, JwtOptions options)
    : clock_(clock),
      options_(std::move(options)),
      key_(options_.secret + std::string(1, '\0') + options_.login_token) {}

std::int64_t JwtSessions::NowSeconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
}

core::Result<IssuedToken> JwtSessions::Issue() const { return IssueFor(NowSeconds()); }

core::Result<IssuedToken> JwtSessions::Renew(std::string_view token) const {
  auto claims = Decode(token);
  if (!claims) return core::Fail(claims.error());
  if (NowSeconds() - claims->auth_time > options_.max_session.count()) {
    return core::Fail(Refused("session too old to renew: log in again"));
  }
  return IssueFor(claims->auth_time);
}

core::Result<IssuedToken> JwtSessions::IssueFor(std::int64_t auth_time) const {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return core::Fail(core::Error::Internal("jwt_new failed"));
  JwtPtr jwt(raw);
  const std::int64_t now = NowSeconds();
  const auto* key = reinterpret_cast<const unsigned char*>(key_.data());
  if (jwt_add_grant(jwt.get(), "sub", kSubject) != 0 ||
      jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(now)) != 0 ||
      jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(now + options_.ttl.count())) != 0 ||
      jwt_add_grant_int(jwt.get(), "auth_time", static_cast<long>(auth_time)) != 0 ||
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, key, static_cast<int>(key_.size())) != 0) {
    return core::Fail(core::Error::Internal("cannot build the JWT"));
  }
  std::unique_ptr<char, CharFree> encoded(jwt_encode_str(jwt.get()));
  if (!encoded) return core::Fail(core::Error::Internal("cannot sign the JWT"));
  return IssuedToken{std::string(encoded.get()), options_.ttl};
}

core::Result<JwtClaims> JwtSessions::Decode(std::string_view token) const {
  if (token.size() > kMaxTokenLength) return core::Fail(Refused("token too long"));
  const std::string text(token);  // libjwt wants a C string
  jwt_t* raw = nullptr;
  const auto* key = reinterpret_cast<const unsigned char*>(key_.data());
  // jwt_decode checks the signature with `key` for the alg the header names, and accepts "none"
  // without one: the alg check below is what pins HS256.
  if (jwt_decode(&raw, text.c_str(), key, static_cast<int>(key_.size())) != 0) {
    if (raw != nullptr) jwt_free(raw);
    return core::Fail(Refused("invalid token"));
  }
  JwtPtr jwt(raw);
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256)
    return core::Fail(Refused("token alg must be HS256"));
  const char* subject = jwt_get_grant(jwt.get(), "sub");
  if (subject == nullptr || std::string_view(subject) != kSubject) {
    return core::Fail(Refused("token is not an admin session"));
  }
  JwtClaims claims;
  claims.expires_at = jwt_get_grant_int(jwt.get(), "exp");
  claims.issued_at = jwt_get_grant_int(jwt.get(), "iat");
  claims.auth_time = jwt_get_grant_int(jwt.get(), "auth_time");
  const std::int64_t now = NowSeconds();
  if (claims.expires_at <= 0) return core::Fail(Refused("token has no exp"));
  if (now >= claims.expires_at) return core::Fail(Refused("token expired"));
  if (claims.issued_at <= 0 || claims.issued_at > now + kClockSkew.count() ||
      claims.auth_time <= 0 || claims.auth_time > claims.issued_at) {
    return core::Fail(Refused("token times are inconsistent"));
  }
  return claims;
}

}  // namespace cidrotor::http
