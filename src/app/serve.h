// `cidrotor serve`: the composition root of the running service. Opens the store of the
// deployment mode (app/store_factory.h: embedded, the SQLite journal in CIDROTOR_DATA_DIR under the
// in-memory index; cluster, PostgreSQL under Redis), starts the
// HTTP server on an Asio io_context run by HTTP_THREADS threads, drives the store's housekeeping
// from its own thread, and shuts down gracefully on SIGINT/SIGTERM (stop accepting, finish
// in-flight requests, flush the store, exit 0; a second signal exits at once).
// The only unit that knows which backend runs. Call once per process.
#pragma once

#include <filesystem>

#include "app/config.h"

namespace cidrotor::app {

struct ServeOptions {
  // --ready-file: when set, `{"http_port":N}` is written here (atomically) once the API listens,
  // so scripts and tests can use API_PORT=0 and learn the port without guessing or sleeping.
  std::filesystem::path ready_file;
};

// Runs the service until it is stopped. Returns the process exit status: 0 after a graceful
// stop, 1 when the store or the listener fails at start-up, 2 for configuration errors
// (printed on stderr naming the variable).
int RunServe(const Config& config, const ServeOptions& options);

}  // namespace cidrotor::app
