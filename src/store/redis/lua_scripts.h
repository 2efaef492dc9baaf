// The store's Lua scripts (scripts/*.lua, embedded at build time) and how they are run: loaded
// with SCRIPT LOAD once, run with EVALSHA, and loaded again when Redis answers NOSCRIPT (a
// restarted or failed-over server has an empty script cache). Thread-safe (the SHA cache is
// shared by every connection: a script's SHA1 is the same on every server).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_reply.h"

namespace cidrotor::store::redis {

enum class Script : std::size_t {
  kAllocate,
  kRelease,
  kUpsert,
  kInsert,
  kRestore,
  kDelete,
  kGet,
  kList,
  kStats,
  kTick,
  kLive,
  kCount
};

// One script call: the script, its KEYS and its ARGV.
struct ScriptCall {
  Script script = Script::kTick;
  std::vector<std::string> keys;
  std::vector<std::string> args;
};

class ScriptRunner {
 public:
  // Runs before this runner first loads a script into Redis, and again after NOSCRIPT: a
  // server whose script cache is empty is another server than before (restarted, or a replica
  // promoted), and its data may be older than what the callers saw. One check at a time; an
  // error fails the calls instead of loading, and the next load checks again.
  using LoadCheck = std::function<core::Result<void>(RedisConnection&)>;
  // REQUIRES: called before any Run.
  void SetLoadCheck(LoadCheck check) { load_check_ = std::move(check); }

  // Runs one script. A script's own error reply (a Lua error) is returned as kInternal: the
  // scripts only fail on a bug. Errors: kUnavailable (connection), kInternal.
  [[nodiscard]] core::Result<RedisReply> Run(RedisConnection& connection, const ScriptCall& call);
  // Runs the calls in one round trip; replies in call order. Calls refused with NOSCRIPT (which
  // changed nothing) are loaded and re-run. Errors: as Run, for any call.
  [[nodiscard]] core::Result<std::vector<RedisReply>> RunAll(RedisConnection& connection,
                                                             const std::vector<ScriptCall>& calls);

  // The SHA of `script`, loaded (after the load check) when this runner has not loaded it yet.
  // Errors: as Run.
  [[nodiscard]] core::Result<std::string> LoadedSha(RedisConnection& connection, Script script) {
    return Sha(connection, script, /*reload=*/false);
  }
  // Loads `script` again, after the load check, for a caller that found the server without it
  // (SCRIPT EXISTS): another server, as after a NOSCRIPT. Errors: as Run.
  [[nodiscard]] core::Result<void> Reload(RedisConnection& connection, Script script);

  // For a caller that sends its own commands (RedisPipeline): the EVALSHA of `call`, or nothing
  // while the script's SHA is not known yet (Run loads it).
  [[nodiscard]] std::optional<Command> LoadedCall(const ScriptCall& call);
  // Whether Redis refused an EVALSHA for not having the script (it changed nothing).
  static bool IsNoScript(const RedisReply& reply);
  // A script's reply as Run returns it: an error reply becomes kUnavailable (a server that
  // cannot serve now) or kInternal (a Lua error).
  [[nodiscard]] static core::Result<RedisReply> Checked(RedisReply reply);

 private:
  core::Result<std::string> Sha(RedisConnection& connection, Script script, bool reload);
  Command EvalSha(const std::string& sha, const ScriptCall& call) const;

  // load_check_ unless it passed since the last NOSCRIPT.
  core::Result<void> CheckBeforeLoad(RedisConnection& connection);

  LoadCheck load_check_;
  std::mutex check_mu_;               // one check at a time
  std::atomic<bool> checked_{false};  // load_check_ passed, no NOSCRIPT since
  std::mutex mu_;
  std::array<std::string, static_cast<std::size_t>(Script::kCount)> shas_;  // guarded by mu_
};

}  // namespace cidrotor::store::redis
