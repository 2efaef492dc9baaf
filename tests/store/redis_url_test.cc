// REDIS_URL parsing for cluster mode's connection options.
#include "store/redis/redis_url.h"
#include "store/redis/redis_reply.h"

#include <gtest/gtest.h>

#include "support/matchers.h"

namespace cidrotor::store::redis {
namespace {

using testing::HasFieldError;
using testing::IsOk;

TEST(RedisUrlTest, HostPortPasswordAndDatabase) {
  auto plain = ParseRedisUrl("redis://cache.internal");
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->host, "cache.internal");
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->password, "");
  EXPECT_EQ(plain->db, 0);

  auto full = ParseRedisUrl("redis://default:s3cr:et@10.0.0.5:6380/2");
  ASSERT_THAT(full, IsOk());
  EXPECT_EQ(full->host, "10.0.0.5");
  EXPECT_EQ(full->port, 6380);
  EXPECT_EQ(full->password, "s3cr:et");
  EXPECT_EQ(full->db, 2);

  auto v6 = ParseRedisUrl("redis://:pw@[::1]:7000");
  ASSERT_THAT(v6, IsOk());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7000);
  EXPECT_EQ(v6->password, "pw");

  // A password holding / : @ or % is percent-encoded, and reaches Redis decoded.
  auto encoded = ParseRedisUrl("redis://:p%40ss%2Fword@cache:6379/1");
  ASSERT_THAT(encoded, IsOk());
  EXPECT_EQ(encoded->password, "p@ss/word");
  EXPECT_EQ(encoded->host, "cache");
  EXPECT_EQ(encoded->db, 1);
  auto bare = ParseRedisUrl("redis://s3cret@cache");  // no colon: the password, as redis-cli
  ASSERT_THAT(bare, IsOk());
  EXPECT_EQ(bare->password, "s3cret");
}

// A password with an unescaped `/` once put its tail into the error ("database must be a number:
// YmFyc2VjcmV0@redis.internal:6379"), printed to stderr and the journal.
TEST(RedisUrlTest, ErrorsNeverQuoteThePassword) {
  for (const char* url : {"redis://:Zm9v/YmFyc2VjcmV0@redis.internal:6379",
                          "redis://:YmFyc2VjcmV0@redis.internal:port", "redis://:YmFyc2VjcmV0@/"}) {
    auto parsed = ParseRedisUrl(url);
    ASSERT_THAT(parsed, HasFieldError(core::ErrorCode::kInvalidArgument, "REDIS_URL")) << url;
    EXPECT_EQ(parsed.error().detail().find("YmFyc2VjcmV0"), std::string::npos)
        << parsed.error().detail();
  }
}

TEST(RedisUrlTest, RejectsWhatItCannotUse) {
  for (const char* bad :
       {"http://localhost:6379", "redis://", "redis://host:0", "redis://host:65536",
        "redis://host:port", "redis://host/db", "redis://[::1"}) {
    EXPECT_THAT(ParseRedisUrl(bad), HasFieldError(core::ErrorCode::kInvalidArgument, "REDIS_URL"))
        << bad;
  }
}

TEST(RedisUrlTest, ServerMajorVersionFromInfo) {
  EXPECT_EQ(ServerMajorVersion("# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:0\r\n"), 7);
  EXPECT_EQ(ServerMajorVersion("redis_version:6.2.6\r\n"), 6);
  EXPECT_EQ(ServerMajorVersion("# Server\r\nredis_mode:standalone\r\n"), std::nullopt);
  EXPECT_EQ(ServerMajorVersion("redis_version:\r\n"), std::nullopt);
}

}  // namespace
}  // namespace cidrotor::store::redis
