// Keys only one holder sets at a time (docs/redis-keys.md).
//
// RedisStore::ClaimTurn (store/redis/redis_store.h): of the instances sharing one Redis, one at a
// time takes a turn of a periodic job (automatic resting reads a window of every number's calls:
// one instance doing it per period is enough). The first to ask within a period sets
// `cid:turn:<job>` with SET NX PX <period>; the others find the key and skip that turn. The key is
// never deleted, only left to expire: an instance that dies during its turn holds it to the end
// of the period, and the next turn goes to whoever asks first after that.
//
// RedisStore::LoadShared / SaveShared: `cid:shared:<name>`, a text the instances share (the
// webhooks' alert levels, which whoever holds the check's turn reads and writes), SET with PX.
//
// RedisStore::LockEdit / UnlockEditThen (SubmitEdit): `cid:edit:<caller_id>` while a change
// of that number reads, writes and journals it (`cid:edit:campaign:<name>` and
// `cid:edit:pool:<name>` for a campaign's pool and a pool's settings). Taken with SET NX PX and a
// token of its own, deleted by a script only while it still holds that token (a lock that expired
// and was taken by another change is not deleted by the first).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "store/redis/instance_token.h"
#include "store/redis/redis_store.h"
#include "store/redis/script_args.h"

namespace cidrotor::store {

using redis::RedisConnection;

namespace {

constexpr std::string_view kTurnKeyPrefix = "cid:turn:";
constexpr std::string_view kSharedKeyPrefix = "cid:shared:";
// Deletes the lock only while it holds this change's token.
constexpr std::string_view kUnlockScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";
// Between two tries of a lock held elsewhere: a change holds it for milliseconds.
constexpr std::chrono::milliseconds kEditRetry{2};

// A token of one edit lock: the instance's, and a count no other lock of this process repeats.
std::string EditToken() {
  static std::atomic<std::uint64_t> edits{0};
  return redis::InstanceToken() + ":" + std::to_string(edits.fetch_add(1) + 1);
}

// Deletes the edit lock `cid:edit:<key>` if it holds `token`.
redis::Command UnlockCommand(const std::string& key, const std::string& token) {
  return {"EVAL", std::string(kUnlockScript), "1", std::string(redis::kEditKeyPrefix) + key, token};
}

// The claim's answer: true when the SET was made ("OK"), false when the key was there (nil).
// Errors: kUnavailable for a Redis error reply (e.g. out of memory, a read-only replica).
core::Result<bool> ReadClaim(const redis::RedisReply& reply) {
  if (reply.is_error()) return core::Fail(core::Error::Unavailable("redis: " + reply.str));
  return !reply.is_nil();
}

}  // namespace

template <class T, class Read>
void RedisStore::SubmitCommand(redis::Command command, Callback<T> on_done, Read read) {
  auto run = [this, command = std::move(command), read = std::move(read)](
                 RedisConnection& connection, Callback<T>& done) {
    auto reply = connection.Run(command);
    NoteRedis(reply ? core::Result<void>{} : core::Result<void>(core::Fail(reply.error())));
    if (!reply) {
      done(core::Fail(reply.error()));
    } else if (reply->is_error()) {  // e.g. out of memory, a read-only replica
      done(core::Fail(core::Error::Unavailable("redis: " + reply->str)));
    } else {
      done(read(*reply));
    }
  };
  // On a worker, bounded by its queue deadline and command timeout: kUnavailable, never a hang.
  Submit<T>(std::move(on_done), std::move(run));
}

void RedisStore::ClaimTurn(std::string job, std::chrono::milliseconds period,
                           Callback<bool> on_done) {
  // PX needs a positive time; a period under a millisecond still claims one turn.
  const std::string millis = std::to_string(std::max<std::int64_t>(period.count(), 1));
  SubmitCommand<bool>(
      {"SET", std::string(kTurnKeyPrefix) + job, redis::InstanceToken(), "NX", "PX", millis},
      std::move(on_done), [](const redis::RedisReply& reply) { return ReadClaim(reply); });
}

void RedisStore::LoadShared(std::string name, Callback<std::optional<std::string>> on_done) {
  SubmitCommand<std::optional<std::string>>(
      {"GET", std::string(kSharedKeyPrefix) + name}, std::move(on_done),
      [](redis::RedisReply& reply) -> core::Result<std::optional<std::string>> {
        if (reply.is_nil()) return std::optional<std::string>();
        return std::optional<std::string>(std::move(reply.str));
      });
}

void RedisStore::SaveShared(std::string name, std::string value, std::chrono::milliseconds ttl,
                            Callback<void> on_done) {
  SubmitCommand<void>({"SET", std::string(kSharedKeyPrefix) + name, std::move(value), "PX",
                       std::to_string(std::max<std::int64_t>(ttl.count(), 1))},
                      std::move(on_done),
                      [](const redis::RedisReply&) { return core::Result<void>{}; });
}

RedisStore::EditSubject RedisStore::NumberEdit(core::PhoneNumber caller_id) {
  return {caller_id.ToString(), "caller_id " + caller_id.ToString()};
}

core::Result<std::string> RedisStore::LockEdit(RedisConnection& connection,
                                               const EditSubject& subject) {
  const std::string token = EditToken();
  const redis::Command lock = {"SET", std::string(redis::kEditKeyPrefix) + subject.key, token, "NX",
                               "PX",  std::to_string(options_.edit_lease.count())};
  const auto give_up = std::chrono::steady_clock::now() + kEditWait;
  // Waiting holds a worker (this thread sleeps between tries): at most half of them wait, so the
  // holder's unlock (an urgent task) and every other worker-side call still find one. Nine
  // changes of one number at once had all eight workers waiting for 2 s, the unlock among the
  // queued tasks, and unrelated releases answered 503.
  bool waiting = false;
  struct StopWaiting {
    std::atomic<int>& waiters;
    bool& waiting;
    ~StopWaiting() {
      if (waiting) waiters.fetch_sub(1);
    }
  } stop_waiting{lock_waiters_, waiting};
  while (true) {
    auto reply = connection.Run(lock);
    NoteRedis(reply ? core::Result<void>{} : core::Result<void>(core::Fail(reply.error())));
    if (!reply) {
      // The SET may have been made with its answer lost (a timeout): take the lock back at once
      // if so, rather than leave the subject unchangeable until the lease ends (best effort).
      (void)connection.Run(UnlockCommand(subject.key, token));
      return core::Fail(reply.error());
    }
    auto taken = ReadClaim(*reply);
    if (!taken) return core::Fail(taken.error());
    if (*taken) return token;
    const int max_waiters = std::max(1, static_cast<int>(options_.redis.workers / 2));
    if (!waiting && lock_waiters_.fetch_add(1) >= max_waiters) {
      lock_waiters_.fetch_sub(1);
      return core::Fail(core::Error::Unavailable("redis: " + subject.name +
                                                 " is being changed by other requests; try again"));
    }
    waiting = true;
    if (std::chrono::steady_clock::now() >= give_up) {
      return core::Fail(core::Error::Unavailable(
          "redis: " + subject.name + " is being changed by another request; try again"));
    }
    std::this_thread::sleep_for(kEditRetry);
  }
}

void RedisStore::UnlockEditThen(std::string key, std::string token, std::function<void()> then) {
  auto shared_then = std::make_shared<std::function<void()>>(std::move(then));
  SubmitTask(
      [key = std::move(key), token = std::move(token), shared_then](RedisConnection& connection) {
        auto unlocked = connection.Run(UnlockCommand(key, token));
        if (!unlocked || unlocked->is_error()) {
          spdlog::warn("redis: the edit lock {}{} stays until it expires: {}",
                       redis::kEditKeyPrefix, key,
                       unlocked ? unlocked->str : unlocked.error().ToString());
        }
        (*shared_then)();
      },
      [shared_then](const core::Error&) { (*shared_then)(); }, /*urgent=*/true);
}

}  // namespace cidrotor::store
