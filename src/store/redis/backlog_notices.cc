#include "store/redis/backlog_notices.h"

#include <charconv>

namespace cidrotor::store::redis {
namespace {

std::string KeyOf(std::string_view instance) {
  std::string key(kBacklogKeyPrefix);
  key += instance;
  return key;
}

core::Result<void> Checked(const core::Result<RedisReply>& reply, const char* what) {
  if (!reply) return core::Fail(reply.error());
  if (reply->is_error()) {
    return core::Fail(
        core::Error::Unavailable(std::string(what) + ": redis answered " + reply->str));
  }
  return {};
}

}  // namespace

core::Result<void> AnnounceBacklog(RedisConnection& connection, std::string_view instance,
                                   std::size_t depth) {
  return Checked(connection.Run({"SET", KeyOf(instance), std::to_string(depth), "PX",
                                 std::to_string(kBacklogNoticeLife.count())}),
                 "announce the journal backlog");
}

core::Result<void> WithdrawBacklog(RedisConnection& connection, std::string_view instance) {
  return Checked(connection.Run({"DEL", KeyOf(instance)}), "withdraw the journal backlog");
}

core::Result<std::vector<BacklogNotice>> OtherBacklogs(RedisConnection& connection,
                                                       std::string_view instance) {
  const std::string own = KeyOf(instance);
  std::vector<Command> gets;  // one GET each: single-key commands, whatever slot a key is in
  std::string cursor = "0";
  do {
    auto page = connection.Run(
        {"SCAN", cursor, "MATCH", std::string(kBacklogKeyPrefix) + "*", "COUNT", "1000"});
    if (!page) return core::Fail(page.error());
    if (page->type != RedisReply::Type::kArray || page->elements.size() != 2) {
      return core::Fail(core::Error::Unavailable("unexpected SCAN reply"));
    }
    cursor = page->elements[0].str;
    for (const RedisReply& key : page->elements[1].elements) {
      if (key.str != own) gets.push_back({"GET", key.str});
    }
  } while (cursor != "0");
  std::vector<BacklogNotice> notices;
  if (gets.empty()) return notices;
  auto depths = connection.Pipeline(gets);
  if (!depths) return core::Fail(depths.error());
  for (std::size_t i = 0; i < depths->size() && i < gets.size(); ++i) {
    const RedisReply& value = (*depths)[i];
    if (value.is_nil() || value.is_error()) continue;  // expired between the SCAN and the GET
    BacklogNotice notice;
    notice.instance = gets[i][1].substr(kBacklogKeyPrefix.size());
    std::from_chars(value.str.data(), value.str.data() + value.str.size(), notice.depth);
    notices.push_back(std::move(notice));
  }
  return notices;
}

}  // namespace cidrotor::store::redis
