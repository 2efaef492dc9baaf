#include "store/redis/redis_pipeline.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <string>
#include <utility>

namespace cidrotor::store::redis {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kWatchdogPeriod{20};

}  // namespace

// Everything below runs on the pipeline's thread, except Post and Stop (which only post).
class RedisPipeline::Loop {
 public:
  Loop(ConnectionOptions options, std::size_t max_waiting)
      : options_(std::move(options)),
        max_waiting_(max_waiting),
        work_(io_.get_executor()),
        socket_(io_),
        resolver_(io_),
        watchdog_(io_) {
    Watch();
  }
  ~Loop() {
    if (reader_ != nullptr) redisReaderFree(reader_);
  }

  void Run() { io_.run(); }

  void Post(std::string formatted, Done done) {
    asio::post(io_, [this, formatted = std::move(formatted), done = std::move(done)]() mutable {
      Enqueue(std::move(formatted), std::move(done));
    });
  }

  void Stop() {
    asio::post(io_, [this] {
      stopped_ = true;
      Drop("shutting down", /*failure=*/false);
      watchdog_.cancel();
      work_.reset();
    });
  }

 private:
  enum class State { kDown, kConnecting, kUp };
  struct Waiting {
    Done done;
    SteadyClock::time_point queued_at;
  };

  core::Error Unavailable(const std::string& why) const {
    return core::Error::Unavailable("redis " + options_.host + ":" + std::to_string(options_.port) +
                                    ": " + why);
  }

  void Enqueue(std::string formatted, Done done) {
    if (stopped_) {
      done(core::Fail(Unavailable("shutting down")));
      return;
    }
    if (waiting_.size() >= max_waiting_) {
      done(core::Fail(Unavailable("too many commands waiting for a reply")));
      return;
    }
    if (state_ == State::kDown) {
      if (failed_ && SteadyClock::now() - failed_at_ < options_.retry_after) {
        done(core::Fail(Unavailable("unavailable (retrying shortly)")));
        return;
      }
      Connect();
    }
    out_ += formatted;
    waiting_.push_back(Waiting{std::move(done), SteadyClock::now()});
    // Written after every command already posted has been queued: one write for the burst.
    if (!flush_posted_) {
      flush_posted_ = true;
      asio::post(io_, [this] {
        flush_posted_ = false;
        Write();
      });
    }
  }

  void Connect() {
    state_ = State::kConnecting;
    connect_started_ = SteadyClock::now();
    const std::uint64_t id = ++connection_id_;
    resolver_.async_resolve(
        options_.host, std::to_string(options_.port),
        [this, id](const boost::system::error_code& ec, const tcp::resolver::results_type& found) {
          if (id != connection_id_) return;
          if (ec) {
            Drop("cannot resolve the host: " + ec.message(), /*failure=*/true);
            return;
          }
          asio::async_connect(
              socket_, found,
              [this, id](const boost::system::error_code& error, const tcp::endpoint&) {
                if (id != connection_id_) return;
                if (error) {
                  Drop("connect failed: " + error.message(), /*failure=*/true);
                  return;
                }
                Connected();
              });
        });
  }

  void Connected() {
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    reader_ = redisReaderCreate();
    // AUTH and SELECT go before the commands queued while connecting; their replies are checked
    // here and never reach a caller.
    std::string setup;
    std::deque<Waiting> checks;
    const auto check = [this](core::Result<RedisReply> reply) {
      if (reply && reply->is_error()) Drop("setup refused: " + reply->str, /*failure=*/true);
    };
    if (!options_.password.empty()) {
      setup += FormatCommand({"AUTH", options_.password});
      checks.push_back(Waiting{check, SteadyClock::now()});
    }
    if (options_.db != 0) {
      setup += FormatCommand({"SELECT", std::to_string(options_.db)});
      checks.push_back(Waiting{check, SteadyClock::now()});
    }
    out_.insert(0, setup);
    waiting_.insert(waiting_.begin(), std::make_move_iterator(checks.begin()),
                    std::make_move_iterator(checks.end()));
    if (failed_)
      spdlog::info("redis pipeline: reconnected host={} port={}", options_.host, options_.port);
    failed_ = false;
    state_ = State::kUp;
    Read();
    Write();
  }

  void Write() {
    if (state_ != State::kUp || writing_ || out_.empty()) return;
    writing_ = true;
    sending_.swap(out_);
    out_.clear();
    const std::uint64_t id = connection_id_;
    asio::async_write(socket_, asio::buffer(sending_),
                      [this, id](const boost::system::error_code& ec, std::size_t) {
                        if (id != connection_id_) return;
                        writing_ = false;
                        if (ec) {
                          Drop("write failed: " + ec.message(), /*failure=*/true);
                          return;
                        }
                        Write();
                      });
  }

  void Read() {
    const std::uint64_t id = connection_id_;
    socket_.async_read_some(
        asio::buffer(input_), [this, id](const boost::system::error_code& ec, std::size_t n) {
          if (id != connection_id_) return;
          if (ec) {
            // A server that closed an idle connection (a restart) is no failure: the next
            // command connects again at once. With commands waiting, they are lost.
            const bool idle = waiting_.empty();
            Drop(idle ? "connection closed" : "connection lost: " + ec.message(), !idle);
            return;
          }
          if (redisReaderFeed(reader_, input_.data(), n) != REDIS_OK) {
            Drop("unreadable reply", /*failure=*/true);
            return;
          }
          for (;;) {
            void* raw = nullptr;
            if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
              Drop("unreadable reply", /*failure=*/true);
              return;
            }
            if (raw == nullptr) break;
            auto* reply = static_cast<redisReply*>(raw);
            RedisReply value = FromHiredis(*reply);
            freeReplyObject(reply);
            if (waiting_.empty()) {
              Drop("a reply nobody asked for", /*failure=*/true);
              return;
            }
            Done done = std::move(waiting_.front().done);
            waiting_.pop_front();
            done(std::move(value));
            if (id != connection_id_) return;  // that answer dropped the connection
          }
          Read();
        });
  }

  // Closes the connection and fails every waiting command. `failure` starts the retry_after
  // pause (an unreachable server); a closed idle connection does not.
  void Drop(const std::string& why, bool failure) {
    ++connection_id_;  // handlers of the old connection find a new id and return
    boost::system::error_code ignored;
    resolver_.cancel();
    socket_.close(ignored);
    if (reader_ != nullptr) redisReaderFree(reader_);
    reader_ = nullptr;
    const bool was_failed = failed_;
    if (failure) {
      failed_ = true;
      failed_at_ = SteadyClock::now();
    }
    state_ = State::kDown;
    writing_ = false;
    out_.clear();
    std::deque<Waiting> lost;
    lost.swap(waiting_);
    if (failure && !was_failed && !stopped_) {
      spdlog::warn("redis pipeline: {} ({} commands failed)", Unavailable(why).detail(),
                   lost.size());
    }
    for (Waiting& w : lost) w.done(core::Fail(Unavailable(why)));
  }

  // Connect and reply deadlines, checked every kWatchdogPeriod.
  void Watch() {
    watchdog_.expires_after(kWatchdogPeriod);
    watchdog_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      const auto now = SteadyClock::now();
      if (state_ == State::kConnecting && now - connect_started_ > options_.connect_timeout) {
        Drop("connect timed out", /*failure=*/true);
      } else if (state_ == State::kUp && !waiting_.empty() &&
                 now - waiting_.front().queued_at > options_.command_timeout) {
        Drop("no reply within " + std::to_string(options_.command_timeout.count()) + " ms",
             /*failure=*/true);
      }
      Watch();
    });
  }

  const ConnectionOptions options_;
  const std::size_t max_waiting_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::socket socket_;
  tcp::resolver resolver_;
  asio::steady_timer watchdog_;
  State state_ = State::kDown;
  std::uint64_t connection_id_ = 0;  // handlers of an older connection ignore their outcome
  bool failed_ = false;              // the last attempt failed, at failed_at_
  SteadyClock::time_point failed_at_{};
  SteadyClock::time_point connect_started_{};
  std::string out_;      // commands not yet written
  std::string sending_;  // the write in flight
  bool writing_ = false;
  bool flush_posted_ = false;
  std::deque<Waiting> waiting_;  // every command without its reply, in the order written
  std::array<char, 64 * 1024> input_{};
  redisReader* reader_ = nullptr;
  bool stopped_ = false;
};

RedisPipeline::RedisPipeline(ConnectionOptions options, std::size_t max_waiting)
    : loop_(std::make_unique<Loop>(std::move(options), max_waiting)),
      thread_([this] { loop_->Run(); }) {}

RedisPipeline::~RedisPipeline() {
  loop_->Stop();
  thread_.join();
}

void RedisPipeline::Run(const Command& command, Done done) {
  outstanding_.fetch_add(1);
  loop_->Post(FormatCommand(command),
              [this, done = std::move(done)](core::Result<RedisReply> reply) {
                done(std::move(reply));
                if (outstanding_.fetch_sub(1) == 1) {
                  std::lock_guard lock(drain_mu_);
                  drained_.notify_all();
                }
              });
}

void RedisPipeline::Drain() {
  std::unique_lock lock(drain_mu_);
  drained_.wait(lock, [this] { return outstanding_.load() == 0; });
}

}  // namespace cidrotor::store::redis
