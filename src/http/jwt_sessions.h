// Admin sessions as JSON Web Tokens (SPEC "Administration"): POST /auth/token exchanges the admin
// token for a short-lived HS256 JWT signed with SECRET_KEY, and every admin endpoint accepts that
// JWT as a Bearer credential (this class is one of the Authenticator's TokenVerifiers).
//
// libjwt (1.10) encodes, signs and checks the signature; it leaves the policy to its caller, so it
// is here: the header's alg must be HS256 (never "none", never HS384/HS512 or an RSA/EC alg),
// `exp` must be present and in the future (by the injected clock), `iat` not in the future (by
// more than kClockSkew: in cluster mode another instance, whose clock may be a little ahead, may
// have issued it, and an iat is whole seconds). A
// token is renewed (the dashboard does it before expiry) by presenting it to /auth/token; the
// renewal keeps the session's login time (`auth_time`), and a session stops renewing
// `max_session` after that login, so a leaked JWT is not good forever. The key is SECRET_KEY
// with the admin token: changing either ends every session.
// No hand-written crypto. Tokens are never logged.
//
// Thread-safety: immutable after construction; Issue/Renew/Verify are safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "http/auth.h"

namespace cidrotor::http {

struct JwtOptions {
  // The HS256 key (SECRET_KEY). REQUIRES: not empty.
  std::string secret;
  // The admin token sessions log in with (ADMIN_TOKEN). It is part of the signing key, so that
  // changing it (a leaked token) ends every session opened with the old one, as changing
  // SECRET_KEY does; otherwise a JWT taken with a leaked token would renew for max_session.
  std::string login_token{};
  // Lifetime of each token. Default 15 minutes.
  std::chrono::seconds ttl{15 * 60};
  // How long after the login renewals are granted. Default 12 hours (an operator's shift).
  std::chrono::seconds max_session{12 * 3600};
};

struct IssuedToken {
  std::string access_token;
  std::chrono::seconds expires_in{0};
};

// What a valid token says.
struct JwtClaims {
  std::int64_t issued_at = 0;   // `iat`, Unix seconds
  std::int64_t expires_at = 0;  // `exp`, Unix seconds
  std::int64_t auth_time = 0;   // login time of the session, Unix seconds
};

class JwtSessions final : public TokenVerifier {
 public:
  // How far in the future an `iat` may be (the issuing instance's clock ahead of this one's).
  static constexpr std::chrono::seconds kClockSkew{5};

  JwtSessions(const core::Clock& clock, JwtOptions options);

  // A token for a new session that logged in now. Errors: kInternal if libjwt fails (memory).
  [[nodiscard]] core::Result<IssuedToken> Issue() const;

  // A fresh token for the session of `token`. Errors: kUnauthorized when `token` is not valid
  // (Decode's reasons) or its session is older than max_session; kInternal as Issue.
  [[nodiscard]] core::Result<IssuedToken> Renew(std::string_view token) const;

  // The claims of a valid token. Errors: kUnauthorized naming why (malformed, bad signature,
  // alg not HS256, expired, missing exp, issued in the future).
  [[nodiscard]] core::Result<JwtClaims> Decode(std::string_view token) const;

  // TokenVerifier: whether `token` is a valid JWT of ours.
  bool Verify(std::string_view token) const override { return Decode(token).has_value(); }

 private:
  core::Result<IssuedToken> IssueFor(std::int64_t auth_time) const;
  std::int64_t NowSeconds() const;

  const core::Clock& clock_;
  const JwtOptions options_;
  const std::string key_;  // HS256 key: secret, then a NUL, then login_token
};

}  // namespace cidrotor::http
