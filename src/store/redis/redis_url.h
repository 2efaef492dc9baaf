// REDIS_URL / REDIS_HOST+REDIS_PORT as connection options, for the composition root (app/) that
// wires cluster mode. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/result.h"
#include "store/redis/redis_connection.h"

namespace cidrotor::store::redis {

// Parses `redis://[[user]:password@]host[:port][/db]` with Boost.URL (user is ignored: Redis 5
// AUTH takes only a password; the password is percent-decoded; an IPv6 host goes in brackets).
// Port defaults to 6379, db to 0. Errors: kInvalidArgument naming field "REDIS_URL", whose detail
// never quotes the URL (it may hold the password).
[[nodiscard]] core::Result<ConnectionOptions> ParseRedisUrl(std::string_view url);

}  // namespace cidrotor::store::redis
