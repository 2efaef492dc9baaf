// A Redis reply as an owned value, copied out of hiredis's redisReply so that no hiredis type
// leaves the connection code. Plain value, thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;  // hiredis

namespace cidrotor::store::redis {

struct RedisReply {
  enum class Type : std::uint8_t { kNil, kInteger, kString, kStatus, kError, kArray };

  Type type = Type::kNil;
  long long integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
  // The i-th element as text ("" for nil or out of range; integers in decimal).
  std::string Text(std::size_t i) const;
  // The i-th element as an integer (0 for nil, out of range, or not a number).
  long long Int(std::size_t i) const;
  // The first element of an array reply (a script's status word), or "".
  std::string_view Status() const;
};

// A deep copy of hiredis's reply (RedisConnection and RedisPipeline read with hiredis).
RedisReply FromHiredis(const redisReply& reply);

// The major version in the text of `INFO server` ("redis_version:7.0.15"), or nullopt.
std::optional<int> ServerMajorVersion(std::string_view info);

}  // namespace cidrotor::store::redis
