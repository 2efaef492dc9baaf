// Who may call the admin endpoints: `Authorization: Bearer <token>` checked by a list of token
// verifiers: one compares against ADMIN_TOKEN in constant time, the other (jwt_sessions.h)
// checks the HS256 JWTs that POST /auth/token issues. Tokens are never logged. Immutable after
// set-up, so thread-safe to share.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace cidrotor::http {

class TokenVerifier {
 public:
  virtual ~TokenVerifier() = default;
  // Whether `token` (the credentials after "Bearer ") grants admin access. Thread-safe.
  virtual bool Verify(std::string_view token) const = 0;
};

// Accepts exactly one static token. An empty configured token accepts nothing.
class StaticTokenVerifier final : public TokenVerifier {
 public:
  explicit StaticTokenVerifier(std::string token) : token_(std::move(token)) {}
  bool Verify(std::string_view token) const override;

 private:
  std::string token_;
};

class Authenticator {
 public:
  // Shared, so that a verifier that does more (JwtSessions also issues tokens) can be held by
  // its other users too.
  void AddVerifier(std::shared_ptr<const TokenVerifier> verifier) {
    verifiers_.push_back(std::move(verifier));
  }

  // Checks an Authorization header value. Returns kUnauthorized when it is missing, not a Bearer
  // credential, or no verifier accepts the token.
  [[nodiscard]] core::Result<void> Authorize(std::string_view authorization_header) const;

 private:
  std::vector<std::shared_ptr<const TokenVerifier>> verifiers_;
};

// The token of a `Bearer <token>` header (scheme case-insensitive, surrounding spaces ignored),
// or nullopt.
std::optional<std::string_view> BearerToken(std::string_view authorization_header);

// Compares in time that depends only on the longer length, never on where the inputs differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace cidrotor::http
