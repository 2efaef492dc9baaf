// `cidrotor`: the one binary. Parses the command line (CLI11), merges the configuration sources
// (app/config.h), sets up logging and hands over to the chosen subcommand. Usage and
// configuration errors print one line on stderr and exit 2.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>

#include "app/cluster_export.h"
#include "app/cluster_import.h"
#include "app/cluster_init_db.h"
#include "app/config.h"
#include "app/logging.h"
#include "app/move_to_cluster.h"
#include "app/serve.h"
#include "app/tz_calendar.h"
#include "cli/backup.h"
#include "cli/export.h"
#include "cli/import.h"
#include "cli/init_db.h"
#include "cli/sample_csv.h"
#include "core/clock.h"
#include "service/number_rows.h"

namespace {

using cidrotor::app::ConfigErrorMessage;

int Main(int argc, char** argv) {
  CLI::App app("cidrotor: caller-ID rotation for VICIdial call centers", "cidrotor");
  app.set_version_flag("--version,-V", std::string("cidrotor ") + CIDROTOR_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // `cidrotor serve --env-file F` as well as `cidrotor --env-file F serve`
  std::string env_file = ".env";
  auto* env_file_option =
      app.add_option("--env-file", env_file,
                     "File of NAME=VALUE lines read before the environment (a variable set in the "
                     "environment wins; flags win over both); ./.env may be missing, a file named "
                     "here may not")
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

  // import / export / sample-csv (issue 3): cli/import.h, cli/export.h, cli/sample_csv.h.
  auto* import = app.add_subcommand(
      "import",
      "Bulk-import a pool CSV into the store (exit 0 all imported, 1 some rejected, "
      "2 usage error or nothing imported)");
  cidrotor::cli::ImportOptions import_options;
  std::string on_duplicate = "update";
  bool progress = false;
  bool no_progress = false;
  int redis_wait_seconds = static_cast<int>(import_options.redis_wait.count());
  import->add_option("FILE", import_options.input, "CSV file, or - for stdin")->required();
  import
      ->add_option("--on-duplicate", on_duplicate,
                   "Numbers already in the store: update (default), skip, or fail (rejected "
                   "as duplicates)")
      ->check(CLI::IsMember({"update", "skip", "fail"}));
  import->add_option("--rejects", import_options.rejects_path,
                     "Write rejected rows here as CSV: line,reason, then the original columns");
  import->add_flag("--dry-run", import_options.dry_run, "Validate and count; write nothing");
  import
      ->add_option("--batch-rows", import_options.batch_rows,
                   "Rows per transaction (an interrupted import keeps whole batches)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  import
      ->add_option("--redis-wait", redis_wait_seconds,
                   "Cluster mode: seconds to keep offering a batch to a Redis that is down or "
                   "being reloaded before stopping")
      ->capture_default_str()
      ->check(CLI::Range(0, 86'400));
  import->add_option("--via-api", import_options.via_api,
                     "Import through a running server instead (http://HOST:PORT): use this while "
                     "`serve` runs on the same data directory");
  import->add_option("--token", import_options.token,
                     "Admin token for --via-api (default: ADMIN_TOKEN)");
  import->add_flag("--progress", progress, "Show the progress bar even when not on a terminal");
  import->add_flag("--no-progress", no_progress, "Never show the progress bar");
  cidrotor::app::AddConfigFlags(*import, cidrotor::app::kScopeStore, flags);

  auto* export_cmd = app.add_subcommand(
      "export",
      "Write the pool with its usage columns as CSV (re-importable as is), or as VICIdial DIDs");
  cidrotor::cli::ExportOptions export_options;
  export_cmd->add_option("FILE", export_options.output, "Output file, or - for stdout")->required();
  std::string export_format = "csv";
  export_cmd
      ->add_option("--format", export_format,
                   "csv (default), or vicidial-dids: SQL rows for VICIdial's vicidial_inbound_dids")
      ->check(CLI::IsMember({"csv", "vicidial-dids"}));
  std::string export_pool;
  export_cmd->add_option("--pool", export_pool, "vicidial-dids: only this pool's numbers");
  export_cmd->add_option("--in-group", export_options.dids.in_group,
                         "vicidial-dids: route the DIDs to this in-group (default: VICIdial's "
                         "default DID extension)");
  export_cmd->add_option("--did-prefix", export_options.dids.did_prefix,
                         "vicidial-dids: digits before each 10-digit number, e.g. 1");
  cidrotor::app::AddConfigFlags(*export_cmd, cidrotor::app::kScopeStore, flags);

  auto* sample_csv =
      app.add_subcommand("sample-csv", "Write a realistic sample pool CSV over real US area codes");
  cidrotor::cli::SampleCsvOptions sample_options;
  std::string area_codes;
  sample_csv->add_option("FILE", sample_options.output, "CSV file, or - for stdout")->required();
  sample_csv->add_option("--count", sample_options.count, "Numbers to write")
      ->capture_default_str()
      ->check(CLI::Range(1, 50'000'000));
  sample_csv->add_option("--area-codes", area_codes,
                         "Comma-separated area codes, largest share first (default: 60 real US "
                         "area codes)");
  sample_csv->add_option("--seed", sample_options.seed, "Random seed")->capture_default_str();

  auto* backup = app.add_subcommand(
      "backup",
      "Write a consistent online copy of the embedded store to FILE (safe while serve "
      "runs)");
  cidrotor::cli::BackupOptions backup_options;
  backup->add_option("FILE", backup_options.output, "Where to write the copy (replaced)")
      ->required();
  cidrotor::app::AddConfigFlags(*backup, cidrotor::app::kScopeStore, flags);

  auto* move = app.add_subcommand(
      "move-to-cluster",
      "Copy the embedded store (CIDROTOR_DATA_DIR) into the cluster's empty PostgreSQL, history "
      "included, and make Redis rebuild from it (serve stopped; docs/DEPLOYMENT.md)");
  cidrotor::app::AddConfigFlags(*move, cidrotor::app::kScopeStore, flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // help and version print and exit 0
  }

  if (sample_csv->parsed()) {  // needs no configuration
    if (!area_codes.empty()) {
      auto list = cidrotor::cli::ParseAreaCodeList(area_codes);
      if (!list) {
        std::cerr << "cidrotor sample-csv: --area-codes: " << list.error().detail() << "\n";
        return 2;
      }
      sample_options.area_codes = std::move(*list);
    }
    return cidrotor::cli::RunSampleCsv(sample_options, std::cout, std::cerr);
  }

  auto dotenv = cidrotor::app::ReadDotEnvFile(env_file, env_file_option->count() > 0);
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
  const std::string command = import->parsed()       ? "import"
                              : export_cmd->parsed() ? "export"
                              : backup->parsed()     ? "backup"
                              : move->parsed()       ? "move-to-cluster"
                                                     : "init-db";
  auto mode = cidrotor::app::SelectMode(*config);
  if (!mode) {
    std::cerr << "cidrotor " << command << ": " << ConfigErrorMessage(mode.error()) << "\n";
    return 2;
  }
  const bool cluster = *mode == cidrotor::app::DeploymentMode::kCluster;
  if (move->parsed()) {
    if (!cluster) {
      std::cerr << "cidrotor move-to-cluster: configure the cluster to move into: PostgreSQL "
                   "(DATABASE_URL or POSTGRES_HOST) and Redis (REDIS_URL or REDIS_HOST)\n";
      return 2;
    }
    return cidrotor::app::RunMoveToCluster(*config, std::cout, std::cerr);
  }
  if (cluster && backup->parsed()) {
    std::cerr << "cidrotor backup: copies the embedded SQLite store; in cluster mode (PostgreSQL "
                 "+ Redis are configured) back up PostgreSQL with pg_dump (docs/DEPLOYMENT.md)\n";
    return 2;
  }
  const cidrotor::core::SystemClock clock;
  if (cluster && init_db->parsed()) {
    auto calendar = cidrotor::app::TzCalendar::Open(config->timezone);
    if (!calendar) {
      std::cerr << "cidrotor init-db: " << ConfigErrorMessage(calendar.error()) << "\n";
      return 2;
    }
    return cidrotor::app::RunClusterInitDb(*config, clock, **calendar, sample_data, std::cout,
                                           std::cerr);
  }
  if (import->parsed()) {
    auto calendar = cidrotor::app::TzCalendar::Open(config->timezone);
    if (!calendar) {
      std::cerr << "cidrotor import: " << ConfigErrorMessage(calendar.error()) << "\n";
      return 2;
    }
    if (cluster) {  // PostgreSQL with COPY, then Redis (app/cluster_import.h)
      import_options.open_target = [&](const cidrotor::cli::ImportOptions& options) {
        return cidrotor::app::OpenClusterImportTarget(*config, clock, **calendar, options);
      };
    }
    import_options.data_dir = config->data_dir;
    import_options.warm_from_today =
        cidrotor::core::ToCompact((*calendar)->WindowsAt(clock.Now()).day_start);
    import_options.now = cidrotor::core::ToCompact(clock.Now());
    import_options.on_duplicate =
        cidrotor::service::ParseOnDuplicate(on_duplicate, "on-duplicate").value();
    if (import_options.token.empty()) import_options.token = config->admin_token;
    import_options.redis_wait = std::chrono::seconds(redis_wait_seconds);
    import_options.progress = no_progress ? cidrotor::cli::ProgressMode::kNone
                              : progress  ? cidrotor::cli::ProgressMode::kBar
                                          : cidrotor::cli::ProgressMode::kAuto;
    // A direct import stops on SIGINT/SIGTERM with its summary; through the API the signal ends
    // the upload as it always did (the server keeps the chunks it answered).
    if (import_options.via_api.empty()) {
      import_options.stop_requested = cidrotor::cli::CatchStopSignals();
    }
    return cidrotor::cli::RunImport(import_options, std::cerr);
  }
  if (export_cmd->parsed()) {
    auto calendar = cidrotor::app::TzCalendar::Open(config->timezone);
    if (!calendar) {
      std::cerr << "cidrotor export: " << ConfigErrorMessage(calendar.error()) << "\n";
      return 2;
    }
    export_options.data_dir = config->data_dir;
    if (export_format == "vicidial-dids") {
      export_options.format = cidrotor::cli::ExportFormat::kVicidialDids;
    }
    if (!export_pool.empty()) export_options.dids.pool = export_pool;
    if (export_options.format == cidrotor::cli::ExportFormat::kCsv &&
        (!export_pool.empty() || !export_options.dids.in_group.empty() ||
         !export_options.dids.did_prefix.empty())) {
      std::cerr << "cidrotor export: --pool, --in-group and --did-prefix need --format "
                   "vicidial-dids\n";
      return 2;
    }
    if (cluster) export_options.scan = cidrotor::app::ClusterNumberScan(*config);
    return cidrotor::cli::RunExport(export_options, clock, **calendar, std::cout, std::cerr);
  }
  if (backup->parsed()) {
    backup_options.data_dir = config->data_dir;
    return cidrotor::cli::RunBackup(backup_options, std::cout, std::cerr);
  }
  // init-db
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
