#include "store/redis/redis_url.h"

#include <charconv>
#include <string>

namespace cidrotor::store::redis {
namespace {

core::Error Bad(std::string detail) {
  return core::Error::InvalidArgument("REDIS_URL", std::move(detail));
}

// A whole decimal number in [min, max], or nothing.
bool ParseNumber(std::string_view text, long min, long max, long* out) {
  long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  *out = value;
  return true;
}

}  // namespace

core::Result<ConnectionOptions> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) return core::Fail(Bad("must start with redis://"));
  std::string_view rest = url.substr(kScheme.size());
  ConnectionOptions options;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    long value = 0;
    if (!db.empty() && !ParseNumber(db, 0, 1'000'000, &value)) {
      return core::Fail(Bad("database must be a number: " + std::string(db)));
    }
    options.db = static_cast<int>(value);
    rest = rest.substr(0, slash);
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    const auto colon = credentials.find(':');
    options.password =
        std::string(colon == std::string_view::npos ? credentials : credentials.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // [::1]:6379
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return core::Fail(Bad("unclosed [ in host"));
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return core::Fail(Bad("unexpected text after ]"));
      port = rest.substr(close + 2);
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return core::Fail(Bad("no host"));
  options.host = std::string(host);
  if (!port.empty()) {
    long value = 0;
    if (!ParseNumber(port, 1, 65'535, &value)) {
      return core::Fail(Bad("port must be 1..65535: " + std::string(port)));
    }
    options.port = static_cast<std::uint16_t>(value);
  }
  return options;
}

}  // namespace cidrotor::store::redis
