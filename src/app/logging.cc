#include "app/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace cidrotor::app {

void SetUpLogging(LogLevel level) {
  // A plain (uncoloured) sink: the lines go to journald or a file, and are parsed as key=value.
  auto logger = std::make_shared<spdlog::logger>("cidrotor",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  logger->set_level(level == LogLevel::kDebug ? spdlog::level::debug : spdlog::level::info);
  // Warnings and errors reach the disk/terminal at once; info lines are flushed by stderr's own
  // (unbuffered) behaviour anyway.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace cidrotor::app
