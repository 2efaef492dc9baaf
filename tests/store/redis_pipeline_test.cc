// RedisPipeline against a real redis-server on a private loopback port: replies reach their own
// callers in order under concurrent callers, AUTH and SELECT come first, and a killed, hung,
// restarted or absent server gives fast kUnavailable answers and recovery on its own.
#include "store/redis/redis_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/await.h"
#include "support/matchers.h"
#include "support/redis_server.h"

namespace cidrotor::store::redis {
namespace {

using core::ErrorCode;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::Await;
using testing::HasError;
using testing::IsOk;

class RedisPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.running()) << redis_.error(); }

  ConnectionOptions Options() const {
    ConnectionOptions options;
    options.port = redis_.port();
    return options;
  }

  static core::Result<RedisReply> RunOn(RedisPipeline& pipeline, const Command& command) {
    return Await<RedisReply>([&](auto done) { pipeline.Run(command, done); });
  }

  // Runs `command` until it succeeds (at most ~2 s); returns the last result.
  static core::Result<RedisReply> RunUntilOk(RedisPipeline& pipeline, const Command& command) {
    core::Result<RedisReply> result = core::Fail(core::Error::Unavailable("not tried"));
    for (int attempt = 0; attempt < 100 && !result; ++attempt) {
      result = RunOn(pipeline, command);
      if (!result) std::this_thread::sleep_for(milliseconds(20));
    }
    return result;
  }

  test_support::RedisServer redis_;
};

TEST_F(RedisPipelineTest, EveryCallerGetsItsOwnReplyUnderConcurrentCallers) {
  RedisPipeline pipeline(Options());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::atomic<int> right{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string token = std::to_string(t) + ":" + std::to_string(i);
        pipeline.Run({"ECHO", token}, [&, token](core::Result<RedisReply> reply) {
          (reply && reply->str == token ? right : wrong).fetch_add(1);
        });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  pipeline.Drain();
  EXPECT_EQ(right.load(), kThreads * kPerThread);
  EXPECT_EQ(wrong.load(), 0);
  // A Redis error is a reply, not a failure.
  auto error = RunOn(pipeline, {"NOSUCHCOMMAND"});
  ASSERT_THAT(error, IsOk());
  EXPECT_TRUE(error->is_error());
}

TEST_F(RedisPipelineTest, AuthenticatesAndSelectsItsDatabaseBeforeAnyCommand) {
  ASSERT_EQ(redis_.Command({"CONFIG", "SET", "requirepass", "s3cret"}), "+OK\r\n");
  ConnectionOptions options = Options();
  options.password = "s3cret";
  options.db = 3;
  RedisPipeline pipeline(options);
  // Queued at once, before the connection is made: AUTH and SELECT still go first.
  std::vector<core::Result<RedisReply>> replies(3, core::Fail(core::Error::Unavailable("none")));
  pipeline.Run({"SET", "k", "v"}, [&](core::Result<RedisReply> r) { replies[0] = std::move(r); });
  pipeline.Run({"GET", "k"}, [&](core::Result<RedisReply> r) { replies[1] = std::move(r); });
  pipeline.Run({"CLIENT", "INFO"}, [&](core::Result<RedisReply> r) { replies[2] = std::move(r); });
  pipeline.Drain();
  ASSERT_THAT(replies[1], IsOk());
  EXPECT_EQ(replies[1]->str, "v");
  ASSERT_THAT(replies[2], IsOk());
  EXPECT_NE(replies[2]->str.find("db=3"), std::string::npos) << replies[2]->str;

  options.password = "wrong";
  RedisPipeline refused(options);
  EXPECT_THAT(RunOn(refused, {"GET", "k"}), HasError(ErrorCode::kUnavailable));
}

TEST_F(RedisPipelineTest, KilledServerFailsFastAndTheRestartedOneIsUsedAgain) {
  RedisPipeline pipeline(Options());
  ASSERT_THAT(RunOn(pipeline, {"PING"}), IsOk());
  redis_.Kill();
  for (int i = 0; i < 3; ++i) {
    const auto started = steady_clock::now();
    EXPECT_THAT(RunOn(pipeline, {"PING"}), HasError(ErrorCode::kUnavailable));
    EXPECT_LT(steady_clock::now() - started, milliseconds(500));  // SPEC: fast, never a hang
  }
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  EXPECT_THAT(RunUntilOk(pipeline, {"PING"}), IsOk());
}

TEST_F(RedisPipelineTest, AServerRestartedWhileIdleCostsNoFailedCommand) {
  RedisPipeline pipeline(Options());
  ASSERT_THAT(RunOn(pipeline, {"PING"}), IsOk());
  redis_.Kill();
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  std::this_thread::sleep_for(milliseconds(100));  // the pipeline has seen its connection close
  EXPECT_THAT(RunOn(pipeline, {"PING"}), IsOk());
}

TEST_F(RedisPipelineTest, HungServerAnswersUnavailableWithinTheDeadline) {
  RedisPipeline pipeline(Options());
  ASSERT_THAT(RunOn(pipeline, {"PING"}), IsOk());
  redis_.Pause();  // the connection stays open, nothing is answered
  std::vector<steady_clock::duration> took(64);
  std::vector<core::Result<RedisReply>> results(64, core::Fail(core::Error::Internal("none")));
  const auto started = steady_clock::now();
  for (std::size_t i = 0; i < results.size(); ++i) {
    pipeline.Run({"PING"}, [&, i](core::Result<RedisReply> reply) {
      took[i] = steady_clock::now() - started;
      results[i] = std::move(reply);
    });
  }
  pipeline.Drain();
  redis_.Resume();
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_THAT(results[i], HasError(ErrorCode::kUnavailable));
    EXPECT_LT(took[i], milliseconds(500));
  }
  EXPECT_THAT(RunUntilOk(pipeline, {"PING"}), IsOk());
}

TEST_F(RedisPipelineTest, NoServerFailsFastThenRetriesAfterThePause) {
  ConnectionOptions options = Options();
  redis_.Kill();  // nothing listens on the port
  RedisPipeline pipeline(options);
  const auto started = steady_clock::now();
  EXPECT_THAT(RunOn(pipeline, {"PING"}), HasError(ErrorCode::kUnavailable));
  EXPECT_THAT(RunOn(pipeline, {"PING"}), HasError(ErrorCode::kUnavailable));  // within the pause
  EXPECT_LT(steady_clock::now() - started, milliseconds(500));
  ASSERT_TRUE(redis_.Restart()) << redis_.error();
  EXPECT_THAT(RunUntilOk(pipeline, {"PING"}), IsOk());
}

TEST_F(RedisPipelineTest, DestroyingThePipelineAnswersWhatStillWaits) {
  std::atomic<int> unavailable{0};
  redis_.Pause();
  {
    RedisPipeline pipeline(Options());
    for (int i = 0; i < 10; ++i) {
      pipeline.Run({"PING"}, [&](core::Result<RedisReply> reply) {
        if (!reply && reply.error().code() == ErrorCode::kUnavailable) unavailable.fetch_add(1);
      });
    }
  }
  redis_.Resume();
  EXPECT_EQ(unavailable.load(), 10);
}

}  // namespace
}  // namespace cidrotor::store::redis
