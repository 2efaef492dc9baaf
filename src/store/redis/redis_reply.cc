#include "store/redis/redis_reply.h"

#include <charconv>

namespace cidrotor::store::redis {

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

}  // namespace cidrotor::store::redis
