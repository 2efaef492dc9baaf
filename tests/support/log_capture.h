// Capturing what spdlog's default logger writes, for tests that check a log line: while a
// LogCapture lives, every line also goes to it. It removes itself when destroyed, also when a
// failed ASSERT leaves the test early. Safe while other threads log: it is added to and removed
// from one hub sink (a dist_sink_mt, which changes its list under the mutex it logs under) that
// goes into the default logger before main, before any thread logs. The logger's own list of
// sinks is not guarded: changing it while a server thread logs called a destroyed sink.
//
// Example:
//   testing::LogCapture log;
//   RunTheThingThatWarns();
//   EXPECT_EQ(log.Count("pool empty"), 1U) << log.Text();
#pragma once

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace cidrotor::testing {

namespace log_capture_detail {
// Initialized during static initialization, in whichever test binary includes this header.
inline const std::shared_ptr<spdlog::sinks::dist_sink_mt> kHub = [] {
  auto hub = std::make_shared<spdlog::sinks::dist_sink_mt>();
  spdlog::default_logger()->sinks().push_back(hub);
  return hub;
}();
}  // namespace log_capture_detail

class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<Sink>()) { log_capture_detail::kHub->add_sink(sink_); }
  // After remove_sink no thread is inside this capture's sink: the hub logs under that mutex.
  ~LogCapture() { log_capture_detail::kHub->remove_sink(sink_); }
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
