#include "store/redis/deleted_numbers.h"

#include <charconv>
#include <string>

#include "store/deleted_usage.h"

namespace cidrotor::store::redis {
namespace {

// Drops the fields named in ARGV (field, value pairs) that still hold that value: an entry a
// delete rewrote since the sweep read it stays.
constexpr const char* kDropUnchanged =
    "local n = 0 for i = 1, #ARGV, 2 do if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] "
    "then n = n + redis.call('HDEL', KEYS[1], ARGV[i]) end end return n";

std::string Encode(const DeletedUsage& kept) {
  const core::NumberUsage& u = kept.usage;
  std::string out;
  for (const std::uint32_t v :
       {u.last_used, u.hour_start, std::uint32_t{u.hourly_used}, u.day_start,
        std::uint32_t{u.daily_used}, u.warm_from, u.rest_until, kept.keep_until}) {
    if (!out.empty()) out.push_back(' ');
    out += std::to_string(v);
  }
  return out;
}

// nullopt: not the encoding above (a hand-edited entry): ignored.
std::optional<DeletedUsage> Decode(std::string_view text) {
  std::uint32_t v[8];
  const char* at = text.data();
  const char* end = text.data() + text.size();
  for (std::size_t i = 0; i < 8; ++i) {
    if (i > 0) {
      if (at == end || *at != ' ') return std::nullopt;
      ++at;
    }
    const auto [next, ec] = std::from_chars(at, end, v[i]);
    if (ec != std::errc()) return std::nullopt;
    at = next;
  }
  if (at != end || v[2] > UINT16_MAX || v[4] > UINT16_MAX) return std::nullopt;
  DeletedUsage kept;
  kept.usage = core::NumberUsage{.last_used = v[0],
                                 .hour_start = v[1],
                                 .day_start = v[3],
                                 .hourly_used = static_cast<std::uint16_t>(v[2]),
                                 .daily_used = static_cast<std::uint16_t>(v[4]),
                                 .warm_from = v[5],
                                 .rest_until = v[6]};
  kept.keep_until = v[7];
  return kept;
}

}  // namespace

Command KeepDeletedCommand(core::PhoneNumber caller_id, const DeletedUsage& kept) {
  if (kept.keep_until == 0) return {"HDEL", kDeletedKey, caller_id.ToString()};
  return {"HSET", kDeletedKey, caller_id.ToString(), Encode(kept)};
}

core::Result<std::vector<std::optional<DeletedUsage>>> ReadDeleted(
    RedisConnection& connection, std::span<const core::PhoneNumber> numbers, core::CompactTime now,
    std::size_t chunk) {
  std::vector<std::optional<DeletedUsage>> kept(numbers.size());
  if (numbers.empty()) return kept;
  if (numbers.size() > 1) {
    auto size = connection.Run({"HLEN", kDeletedKey});
    if (!size) return core::Fail(size.error());
    if (size->integer == 0) return kept;
  }
  for (std::size_t begin = 0; begin < numbers.size(); begin += chunk) {
    const std::size_t end = std::min(numbers.size(), begin + chunk);
    Command hmget = {"HMGET", kDeletedKey};
    for (std::size_t i = begin; i < end; ++i) hmget.push_back(numbers[i].ToString());
    auto reply = connection.Run(hmget);
    if (!reply) return core::Fail(reply.error());
    if (reply->is_error() || reply->elements.size() != end - begin) {
      return core::Fail(core::Error::Unavailable("redis: unexpected HMGET reply: " + reply->str));
    }
    for (std::size_t i = begin; i < end; ++i) {
      const RedisReply& entry = reply->elements[i - begin];
      if (entry.is_nil()) continue;
      auto decoded = Decode(entry.str);
      if (decoded && StillKept(*decoded, now)) kept[i] = *decoded;
    }
  }
  return kept;
}

core::Result<std::string> SweepDeletedPage(RedisConnection& connection, const std::string& cursor,
                                           core::CompactTime now) {
  auto page = connection.Run({"HSCAN", kDeletedKey, cursor, "COUNT", "512"});
  if (!page) return core::Fail(page.error());
  if (page->type != RedisReply::Type::kArray || page->elements.size() != 2) {
    return core::Fail(core::Error::Unavailable("redis: unexpected HSCAN reply: " + page->str));
  }
  Command drop = {"EVAL", kDropUnchanged, "1", kDeletedKey};
  const auto& fields = page->elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    const auto decoded = Decode(fields[i + 1].str);
    if (decoded && StillKept(*decoded, now)) continue;
    drop.push_back(fields[i].str);
    drop.push_back(fields[i + 1].str);
  }
  if (drop.size() > 4) {
    auto dropped = connection.Run(drop);
    if (!dropped) return core::Fail(dropped.error());
  }
  return page->elements[0].str;
}

}  // namespace cidrotor::store::redis
