#include "store/redis/redis_reply.h"

#include <hiredis/hiredis.h>

#include <charconv>

namespace cidrotor::store::redis {

RedisReply FromHiredis(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r.elements);
      for (size_t i = 0; i < r.elements; ++i) out.elements.push_back(FromHiredis(*r.element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

std::string RedisReply::Text(std::size_t i) const {
  if (i >= elements.size()) return {};
  const RedisReply& e = elements[i];
  if (e.type == Type::kInteger) return std::to_string(e.integer);
  return e.str;
}

long long RedisReply::Int(std::size_t i) const {
  if (i >= elements.size()) return 0;
  const RedisReply& e = elements[i];
  if (e.type == Type::kInteger) return e.integer;
  long long value = 0;
  std::from_chars(e.str.data(), e.str.data() + e.str.size(), value);
  return value;
}

std::string_view RedisReply::Status() const {
  if (type != Type::kArray || elements.empty()) return {};
  return elements[0].str;
}

std::optional<int> ServerMajorVersion(std::string_view info) {
  constexpr std::string_view kKey = "redis_version:";
  const std::size_t at = info.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  int major = 0;
  const char* first = info.data() + at + kKey.size();
  const auto [end, error] = std::from_chars(first, info.data() + info.size(), major);
  if (error != std::errc() || end == first) return std::nullopt;
  return major;
}

}  // namespace cidrotor::store::redis
