#include "http/auth.h"

#include <algorithm>
#include <cctype>

namespace cidrotor::http {
namespace {

std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  const std::size_t length = std::max(a.size(), b.size());
  // volatile keeps the compiler from turning the loop into an early-exit comparison.
  volatile unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < length; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    difference = static_cast<unsigned char>(difference | (x ^ y));
  }
  return difference == 0;
}

bool StaticTokenVerifier::Verify(std::string_view token) const {
  if (token_.empty()) return false;
  return ConstantTimeEquals(token, token_);
}

std::optional<std::string_view> BearerToken(std::string_view authorization_header) {
  std::string_view header = TrimSpaces(authorization_header);
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  if (header[kScheme.size()] != ' ' && header[kScheme.size()] != '\t') return std::nullopt;
  const std::string_view token = TrimSpaces(header.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  return token;
}

core::Result<void> Authenticator::Authorize(std::string_view authorization_header) const {
  const auto token = BearerToken(authorization_header);
  if (!token) {
    return core::Fail(
        core::Error::Unauthorized("admin endpoint: send Authorization: Bearer <token>"));
  }
  bool accepted = false;
  for (const auto& verifier : verifiers_) {
    // Every verifier runs, so timing does not tell which one (if any) accepted.
    accepted = verifier->Verify(*token) || accepted;
  }
  if (!accepted) return core::Fail(core::Error::Unauthorized("invalid token"));
  return {};
}

}  // namespace cidrotor::http
