#include "store/redis/lua_scripts.h"

#include <spdlog/spdlog.h>

#include "store/redis/lua_sources.h"

namespace cidrotor::store::redis {
namespace {

const char* Source(Script script) {
  switch (script) {
    case Script::kAllocate:
      return lua::kAllocate;
    case Script::kRelease:
      return lua::kRelease;
    case Script::kUpsert:
      return lua::kUpsert;
    case Script::kInsert:
      return lua::kInsert;
    case Script::kRestore:
      return lua::kRestore;
    case Script::kDelete:
      return lua::kDelete;
    case Script::kGet:
      return lua::kGet;
    case Script::kList:
      return lua::kList;
    case Script::kStats:
      return lua::kStats;
    case Script::kTick:
      return lua::kTick;
    case Script::kLive:
      return lua::kLive;
    case Script::kCount:
      break;
  }
  return "";
}

// Errors of a server that cannot serve right now (loading a dataset, a replica after failover,
// a script running too long): the store is unavailable, the script is not at fault.
bool IsTransient(const RedisReply& reply) {
  for (const char* prefix : {"LOADING", "READONLY", "BUSY", "MASTERDOWN", "TRYAGAIN", "OOM"}) {
    if (reply.str.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace

bool ScriptRunner::IsNoScript(const RedisReply& reply) {
  return reply.is_error() && reply.str.rfind("NOSCRIPT", 0) == 0;
}

core::Result<RedisReply> ScriptRunner::Checked(RedisReply reply) {
  if (reply.is_error() && IsTransient(reply)) {
    return core::Fail(core::Error::Unavailable("redis not ready: " + reply.str));
  }
  if (reply.is_error()) {
    spdlog::error("redis: script failed: {}", reply.str);
    return core::Fail(core::Error::Internal("redis script failed: " + reply.str));
  }
  return reply;
}

std::optional<Command> ScriptRunner::LoadedCall(const ScriptCall& call) {
  std::lock_guard lock(mu_);
  const std::string& sha = shas_[static_cast<std::size_t>(call.script)];
  if (sha.empty()) return std::nullopt;
  return EvalSha(sha, call);
}

core::Result<std::string> ScriptRunner::Sha(RedisConnection& connection, Script script,
                                            bool reload) {
  const auto index = static_cast<std::size_t>(script);
  if (!reload) {
    std::lock_guard lock(mu_);
    if (!shas_[index].empty()) return shas_[index];
  }
  if (auto checked = CheckBeforeLoad(connection); !checked) return core::Fail(checked.error());
  auto loaded = connection.Run({"SCRIPT", "LOAD", Source(script)});
  if (!loaded) return core::Fail(loaded.error());
  if (loaded->type != RedisReply::Type::kString) {
    return core::Fail(core::Error::Internal("SCRIPT LOAD refused script " + std::to_string(index) +
                                            ": " + loaded->str));
  }
  std::lock_guard lock(mu_);
  shas_[index] = loaded->str;
  return loaded->str;
}

core::Result<void> ScriptRunner::Reload(RedisConnection& connection, Script script) {
  checked_ = false;  // another server: check it before loading
  auto sha = Sha(connection, script, /*reload=*/true);
  if (!sha) return core::Fail(sha.error());
  return {};
}

core::Result<void> ScriptRunner::CheckBeforeLoad(RedisConnection& connection) {
  if (!load_check_ || checked_) return {};
  std::lock_guard lock(check_mu_);
  if (checked_) return {};  // another worker checked meanwhile
  auto checked = load_check_(connection);
  if (checked) checked_ = true;
  return checked;
}

Command ScriptRunner::EvalSha(const std::string& sha, const ScriptCall& call) const {
  Command command;
  command.reserve(3 + call.keys.size() + call.args.size());
  command.push_back("EVALSHA");
  command.push_back(sha);
  command.push_back(std::to_string(call.keys.size()));
  command.insert(command.end(), call.keys.begin(), call.keys.end());
  command.insert(command.end(), call.args.begin(), call.args.end());
  return command;
}

core::Result<RedisReply> ScriptRunner::Run(RedisConnection& connection, const ScriptCall& call) {
  auto replies = RunAll(connection, {call});
  if (!replies) return core::Fail(replies.error());
  return std::move(replies->front());
}

core::Result<std::vector<RedisReply>> ScriptRunner::RunAll(RedisConnection& connection,
                                                           const std::vector<ScriptCall>& calls) {
  std::vector<RedisReply> replies(calls.size());
  std::vector<std::size_t> pending(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i) pending[i] = i;
  for (int attempt = 0; attempt < 2 && !pending.empty(); ++attempt) {
    std::vector<Command> commands;
    commands.reserve(pending.size());
    for (std::size_t i : pending) {
      auto sha = Sha(connection, calls[i].script, /*reload=*/attempt > 0);
      if (!sha) return core::Fail(sha.error());
      commands.push_back(EvalSha(*sha, calls[i]));
    }
    auto got = connection.Pipeline(commands);
    if (!got) return core::Fail(got.error());
    std::vector<std::size_t> again;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      if (IsNoScript((*got)[k])) {
        again.push_back(pending[k]);
      } else {
        replies[pending[k]] = std::move((*got)[k]);
      }
    }
    pending.swap(again);
    if (!pending.empty()) checked_ = false;  // another server: check it before loading
  }
  if (!pending.empty()) {
    return core::Fail(core::Error::Unavailable("redis keeps answering NOSCRIPT"));
  }
  for (RedisReply& reply : replies) {
    auto checked = Checked(std::move(reply));
    if (!checked) return core::Fail(checked.error());
    reply = std::move(*checked);
  }
  return replies;
}

}  // namespace cidrotor::store::redis
