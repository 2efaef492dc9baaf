#include "store/redis/redis_connection.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <cerrno>
#include <utility>

namespace cidrotor::store::redis {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

std::string FormatCommand(const Command& command) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(command.size());
  lengths.reserve(command.size());
  for (const std::string& arg : command) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* formatted = nullptr;
  const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(),
                                            lengths.data());
  std::string out;
  if (length > 0) out.assign(formatted, static_cast<std::size_t>(length));
  redisFreeCommand(formatted);
  return out;
}

RedisConnection::RedisConnection(ConnectionOptions options) : options_(std::move(options)) {}

RedisConnection::~RedisConnection() {
  if (context_ != nullptr) redisFree(context_);
}

core::Error RedisConnection::Drop(const std::string& what) {
  std::string detail = "redis " + options_.host + ":" + std::to_string(options_.port) + ": " + what;
  if (context_ != nullptr && context_->err != 0) detail += ": " + std::string(context_->errstr);
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
  failed_ = true;
  failed_at_ = std::chrono::steady_clock::now();
  return core::Error::Unavailable(std::move(detail));
}

core::Result<void> RedisConnection::EnsureConnected() {
  if (context_ != nullptr) return {};
  if (failed_ && std::chrono::steady_clock::now() - failed_at_ < options_.retry_after) {
    return core::Fail(core::Error::Unavailable("redis unavailable (retrying shortly)"));
  }
  context_ = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                     ToTimeval(options_.connect_timeout));
  if (context_ == nullptr) return core::Fail(Drop("cannot allocate a context"));
  if (context_->err != 0) return core::Fail(Drop("connect failed"));
  if (redisSetTimeout(context_, ToTimeval(options_.command_timeout)) != REDIS_OK) {
    return core::Fail(Drop("cannot set the command timeout"));
  }
  std::vector<Command> setup;
  if (!options_.password.empty()) setup.push_back({"AUTH", options_.password});
  if (options_.db != 0) setup.push_back({"SELECT", std::to_string(options_.db)});
  const bool recovering = failed_;
  failed_ = false;
  if (!setup.empty()) {
    auto replies = Exchange(setup);  // not Pipeline: its reconnect-and-resend would recurse
    if (!replies) return core::Fail(replies.error());
    for (const RedisReply& reply : *replies) {
      if (reply.is_error()) return core::Fail(Drop("setup refused: " + reply.str));
    }
  }
  if (recovering) {
    spdlog::info("redis: reconnected host={} port={}", options_.host, options_.port);
  } else {
    spdlog::debug("redis: connected host={} port={}", options_.host, options_.port);
  }
  return {};
}

core::Result<RedisReply> RedisConnection::Run(const Command& command) {
  auto replies = Pipeline({command});
  if (!replies) return core::Fail(replies.error());
  return std::move(replies->front());
}

core::Result<std::vector<RedisReply>> RedisConnection::Pipeline(
    const std::vector<Command>& commands) {
  const bool reused = context_ != nullptr;
  auto replies = Exchange(commands);
  if (replies || !reused || !stale_) return replies;
  // The server closed this idle connection (Redis restarted, or an idle timeout): nothing was
  // read, so the commands never ran on a live server. Reconnect at once and send them again.
  failed_ = false;
  return Exchange(commands);
}

core::Result<std::vector<RedisReply>> RedisConnection::Exchange(
    const std::vector<Command>& commands) {
  stale_ = false;
  if (auto connected = EnsureConnected(); !connected) return core::Fail(connected.error());
  for (const Command& command : commands) {
    const std::string formatted = FormatCommand(command);
    redisAppendFormattedCommand(context_, formatted.data(), formatted.size());
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      stale_ =
          i == 0 && (context_->err == REDIS_ERR_EOF ||
                     (context_->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE)));
      return core::Fail(Drop("command failed"));
    }
    auto* reply = static_cast<redisReply*>(raw);
    replies.push_back(FromHiredis(*reply));
    freeReplyObject(reply);
  }
  return replies;
}

}  // namespace cidrotor::store::redis
