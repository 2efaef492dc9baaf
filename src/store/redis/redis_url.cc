#include "store/redis/redis_url.h"

#include <boost/url/parse.hpp>
#include <charconv>
#include <string>

namespace cidrotor::store::redis {
namespace {

// Never quotes the URL: it may hold the password (an unescaped `/` in it would otherwise show up
// in what follows the host).
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

core::Result<ConnectionOptions> ParseRedisUrl(std::string_view text) {
  if (!text.starts_with("redis://")) return core::Fail(Bad("must start with redis://"));
  auto url = boost::urls::parse_uri(text);
  if (!url) {
    return core::Fail(
        Bad("not a URL of the form redis://[:password@]host[:port][/db] (a password holding / : @ "
            "or % must be percent-encoded)"));
  }
  ConnectionOptions options;
  // Percent-decoded. `redis://secret@host` (no colon) names the password too, as redis-cli reads
  // it.
  if (url->has_password()) {
    options.password = url->password();
  } else if (url->has_userinfo()) {
    options.password = url->user();
  }
  options.host = std::string(url->host_address());  // an IPv6 address without its brackets
  if (options.host.empty()) return core::Fail(Bad("no host"));
  if (url->has_port()) {
    long value = 0;
    if (!ParseNumber(url->port(), 1, 65'535, &value))
      return core::Fail(Bad("port must be 1..65535"));
    options.port = static_cast<std::uint16_t>(value);
  }
  std::string_view path = url->encoded_path();
  if (path.starts_with('/')) path.remove_prefix(1);
  if (!path.empty()) {
    long value = 0;
    if (!ParseNumber(path, 0, 1'000'000, &value)) {
      return core::Fail(Bad("the database (after the host's /) must be a number"));
    }
    options.db = static_cast<int>(value);
  }
  return options;
}

}  // namespace cidrotor::store::redis
