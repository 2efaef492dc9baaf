// Process-wide logging set-up for `cidrotor` (spdlog's default logger, which every layer logs
// through): plain structured lines on stderr, one event per line, UTC timestamps:
//   ts=2026-03-08T07:00:00.123Z level=info msg="listening" address=127.0.0.1:8000
// Call once at start-up, before any thread logs. Tokens and request bodies are never logged.
#pragma once

namespace cidrotor::app {

enum class LogLevel : unsigned char { kInfo, kDebug };

void SetUpLogging(LogLevel level);

}  // namespace cidrotor::app
