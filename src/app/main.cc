// `cidrotor`: the one binary. Parses the command line (CLI11), merges the configuration sources
// (app/config.h), sets up logging and hands over to the chosen subcommand. Usage and
// configuration errors print one line on stderr and exit 2.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>

#include "app/config.h"
#include "app/logging.h"
#include "app/serve.h"
#include "cli/init_db.h"
#include "core/clock.h"

namespace {

using cidrotor::app::ConfigErrorMessage;

int Main(int argc, char** argv) {
  CLI::App app("cidrotor: caller-ID rotation for VICIdial call centers", "cidrotor");
  app.set_version_flag("--version,-V", std::string("cidrotor ") + CIDROTOR_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // `cidrotor serve --env-file F` as well as `cidrotor --env-file F serve`
  std::string env_file = ".env";
  app.add_option("--env-file", env_file,
                 "File of NAME=VALUE lines read before the environment (a variable set in the "
                 "environment wins; flags win over both)")
      ->capture_default_str();

  cidrotor::app::Values flags;
  auto* serve = app.add_subcommand(
      "serve", "Serve the HTTP API (embedded mode: SQLite store in CIDROTOR_DATA_DIR)");
  cidrotor::app::AddConfigFlags(*serve, cidrotor::app::kScopeServe, flags);
  cidrotor::app::ServeOptions serve_options;
  std::string ready_file;
  serve->add_option("--ready-file", ready_file,
                    "Write {\"http_port\":N} to this file once listening (scripts, tests)");

  auto* init_db = app.add_subcommand(
      "init-db", "Create or migrate the store's schema; optionally load a sample pool");
  bool sample_data = false;
  init_db->add_flag("--sample-data", sample_data,
                    "Load a sample pool (150 numbers over 15 US area codes) when the store has "
                    "no numbers yet; says so and skips otherwise");
  cidrotor::app::AddConfigFlags(*init_db, cidrotor::app::kScopeStore, flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // help and version print and exit 0
  }

  auto dotenv = cidrotor::app::ReadDotEnvFile(env_file);
  if (!dotenv) {
    std::cerr << "cidrotor: " << ConfigErrorMessage(dotenv.error()) << "\n";
    return 2;
  }
  auto config = cidrotor::app::ResolveConfig(*dotenv, cidrotor::app::ReadEnvironment(), flags);
  if (!config) {
    std::cerr << "cidrotor: " << ConfigErrorMessage(config.error()) << "\n";
    return 2;
  }
  cidrotor::app::SetUpLogging(config->debug ? cidrotor::app::LogLevel::kDebug
                                            : cidrotor::app::LogLevel::kInfo);

  if (serve->parsed()) {
    serve_options.ready_file = ready_file;
    return cidrotor::app::RunServe(*config, serve_options);
  }
  // init-db
  auto mode = cidrotor::app::SelectMode(*config);
  if (!mode) {
    std::cerr << "cidrotor init-db: " << ConfigErrorMessage(mode.error()) << "\n";
    return 2;
  }
  if (*mode == cidrotor::app::DeploymentMode::kCluster) {
    std::cerr << "cidrotor init-db: " << cidrotor::app::kClusterUnavailable << "\n";
    return 2;
  }
  const cidrotor::core::SystemClock clock;
  return cidrotor::cli::RunInitDb({config->data_dir, sample_data}, clock, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    spdlog::critical("msg=\"fatal\" error=\"{}\"", e.what());
    return 1;
  }
}
