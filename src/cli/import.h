// `cidrotor import FILE.csv`: bulk import of a pool CSV (SPEC "CSV format").
//
// Direct path (default): validates rows with service/number_rows.h and writes them straight into
// the embedded store's SQLite file through store/sqlite/bulk_import.h (batches of batch_rows rows,
// one transaction each, rows sorted by key). Holds the data-dir lock (cli/data_dir_lock.h) while it
// writes, so it refuses to run beside a `serve` on the same data directory and says to use
// `--via-api` instead (the server then validates the same way and makes the numbers allocatable at
// once). `--via-api URL --token T` posts the file to URL/api/numbers/import instead
// (cli/import_client.cc).
//
// Output: on a terminal (stderr), a progress bar (rows, rows/s, ETA when the input size is
// known); otherwise nothing until the end. Always one summary line on stderr:
//   import: 1000000 rows: 999990 imported, 0 updated, 0 skipped, 10 rejected in 1.42 s
// Rejected rows go to `--rejects FILE` as CSV: line,reason, then the file's own columns.
// Exit status (SPEC): 0 every row imported (updated and skipped rows count as handled), 1 some
// imported and some rejected (or the import stopped after committing some batches), 2 usage
// error or nothing imported.
// Not thread-safe; one call per process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>

#include "store/store.h"

namespace cidrotor::cli {

enum class ProgressMode : std::uint8_t { kAuto, kBar, kNone };

struct ImportOptions {
  std::filesystem::path data_dir = "./var";  // CIDROTOR_DATA_DIR
  std::string input = "-";                   // FILE.csv, or "-" for stdin
  store::OnDuplicate on_duplicate = store::OnDuplicate::kUpdate;
  std::string rejects_path;                     // --rejects; empty = none
  bool dry_run = false;                         // validate and count, write nothing
  std::size_t batch_rows = 1'000'000;           // rows per transaction (--batch-rows)
  ProgressMode progress = ProgressMode::kAuto;  // kAuto: a bar when stderr is a terminal
  std::string via_api;                          // --via-api URL (http://host:port); empty = direct
  std::string token;                            // --token (or ADMIN_TOKEN)
};

struct ImportCounts {
  std::uint64_t rows = 0;  // data rows read
  std::uint64_t imported = 0;
  std::uint64_t updated = 0;
  std::uint64_t skipped = 0;
  std::uint64_t rejected = 0;
};

// SPEC's exit status for these counts (`stopped`: a batch failed after some were committed).
int ImportExitStatus(const ImportCounts& counts, bool stopped);

// The command; messages and the summary on `err`. Returns the exit status.
int RunImport(const ImportOptions& options, std::ostream& err);

// cli/import_client.cc: the --via-api path. Returns the exit status.
int RunImportViaApi(const ImportOptions& options, std::ostream& err);

}  // namespace cidrotor::cli
