// RedisStore::ClaimTurn (store/redis/redis_store.h): of the instances sharing one Redis, one at a
// time takes a turn of a periodic job (automatic resting reads a window of every number's calls:
// one instance doing it per period is enough). The first to ask within a period sets
// `cid:turn:<job>` with SET NX PX <period>; the others find the key and skip that turn. The key is
// never deleted, only left to expire: an instance that dies during its turn holds it to the end
// of the period, and the next turn goes to whoever asks first after that (docs/redis-keys.md).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "store/redis/redis_store.h"

namespace cidrotor::store {

using redis::RedisConnection;

namespace {

constexpr std::string_view kTurnKeyPrefix = "cid:turn:";

// The value a claim writes: which instance holds the turn (host:pid:random, so a GET names it).
// One per process, as one `serve` process is one instance; the claim itself does not read it
// (NX only asks whether the key exists).
const std::string& InstanceToken() {
  static const std::string token = [] {
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
    std::random_device device;
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(device());
  }();
  return token;
}

// The claim's answer: true when the SET was made ("OK"), false when the key was there (nil).
// Errors: kUnavailable for a Redis error reply (e.g. out of memory, a read-only replica).
core::Result<bool> ReadClaim(const redis::RedisReply& reply) {
  if (reply.is_error()) return core::Fail(core::Error::Unavailable("redis: " + reply.str));
  return !reply.is_nil();
}

}  // namespace

void RedisStore::ClaimTurn(std::string job, std::chrono::milliseconds period,
                           Callback<bool> on_done) {
  // PX needs a positive time; a period under a millisecond still claims one turn.
  const std::string millis = std::to_string(std::max<std::int64_t>(period.count(), 1));
  redis::Command claim = {"SET", std::string(kTurnKeyPrefix) + job, InstanceToken(), "NX", "PX",
                          millis};
  auto run = [this, claim = std::move(claim)](RedisConnection& connection, Callback<bool>& done) {
    auto reply = connection.Run(claim);
    NoteRedis(reply ? core::Result<void>{} : core::Result<void>(core::Fail(reply.error())));
    if (!reply) {
      done(core::Fail(reply.error()));
      return;
    }
    done(ReadClaim(*reply));
  };
  // On a worker, bounded by its queue deadline and command timeout: kUnavailable, never a hang.
  Submit<bool>(std::move(on_done), std::move(run));
}

}  // namespace cidrotor::store
