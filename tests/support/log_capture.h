// Capturing what spdlog's default logger writes, for tests that check a log line: while a
// LogCapture lives, every line also goes to it. It removes itself when destroyed, also when a
// failed ASSERT leaves the test early. Text() may be read while other threads log.
//
// Example:
//   testing::LogCapture log;
//   RunTheThingThatWarns();
//   EXPECT_EQ(log.Count("pool empty"), 1U) << log.Text();
//
// Create it before the threads whose lines it should see start logging, where a test can: the
// logger's list of sinks is not guarded against a line logged while it changes.
#pragma once

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace cidrotor::testing {

class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<Sink>()) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Every line written so far, formatted as the logger's other sinks write them.
  std::string Text() const { return sink_->Text(); }

  // How many times `what` occurs in Text().
  std::size_t Count(std::string_view what) const {
    const std::string text = Text();
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

 private:
  class Sink final : public spdlog::sinks::base_sink<std::mutex> {
   public:
    std::string Text() {
      std::lock_guard lock(mutex_);
      return text_;
    }

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      spdlog::memory_buf_t formatted;
      formatter_->format(msg, formatted);
      text_.append(formatted.data(), formatted.size());
    }
    void flush_() override {}

   private:
    std::string text_;
  };

  std::shared_ptr<Sink> sink_;
};

}  // namespace cidrotor::testing
