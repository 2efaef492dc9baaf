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

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/phone_number.h"
#include "core/result.h"
#include "store/store.h"

namespace cidrotor::cli {

enum class ProgressMode : std::uint8_t { kAuto, kBar, kNone };

// Where a direct import writes: the embedded store's SQLite file (the default), or cluster mode's
// PostgreSQL + Redis (app/cluster_import.h). The same shape as the bulk importers of
// store/sqlite/bulk_import.h and store/postgres/bulk_import.h: rows go in whole batches, one
// transaction each.
class ImportTarget {
 public:
  virtual ~ImportTarget() = default;
  // Whether the store already holds `number`. Errors: kUnavailable.
  [[nodiscard]] virtual core::Result<bool> Exists(core::PhoneNumber number) = 0;
  // Buffers a row, writing a batch when one is full. Errors: kUnavailable (that batch is lost,
  // earlier ones stay).
  [[nodiscard]] virtual core::Result<void> Add(store::ImportItem item) = 0;
  // Writes the last batch. Errors as Add().
  [[nodiscard]] virtual core::Result<void> Finish() = 0;
  // Totals of the batches written.
  virtual const store::ImportResult& result() const = 0;
};

struct ImportOptions;
// Opens the target of a direct import. Errors: kConflict (someone else writes the store) or
// kUnavailable, with a detail to print.
using ImportTargetFactory =
    std::function<core::Result<std::unique_ptr<ImportTarget>>(const ImportOptions&)>;

struct ImportOptions {
  std::filesystem::path data_dir = "./var";  // CIDROTOR_DATA_DIR
  std::string input = "-";                   // FILE.csv, or "-" for stdin
  store::OnDuplicate on_duplicate = store::OnDuplicate::kUpdate;
  std::string rejects_path;                     // --rejects; empty = none
  bool dry_run = false;                         // validate and count, write nothing
  std::size_t batch_rows = 1'000'000;           // rows per transaction (--batch-rows)
  // Cluster mode: how long a batch that Redis did not take is offered again (Redis unreachable,
  // or without its data until an instance has reloaded it) before the import stops
  // (--redis-wait).
  std::chrono::seconds redis_wait{120};
  ProgressMode progress = ProgressMode::kAuto;  // kAuto: a bar when stderr is a terminal
  std::string via_api;                          // --via-api URL (http://host:port); empty = direct
  std::string token;                            // --token (or ADMIN_TOKEN)
  ImportTargetFactory open_target;              // unset: the SQLite file in data_dir
  // Local midnight (TIMEZONE) of the import's day, compact: new numbers without last_used warm
  // up from it (core/warm_up.h); 0 leaves them established.
  core::CompactTime warm_from_today = 0;
  // The import's time, compact: a last_used far after it is a rejected row
  // (service::NumberRowParser); 0 checks nothing.
  core::CompactTime now = 0;
  // Asked before each row and when a read is interrupted: true stops the import there, as an
  // error would (the batches committed stay, the rows after them are not written, the summary
  // says so). Unset: never. main() sets it to CatchStopSignals().
  std::function<bool()> stop_requested;
};

// Catches SIGINT and SIGTERM (the first one of either; a second one ends the process as usual;
// a signal ignored when the import started stays ignored), says on stderr that the import is
// stopping, and returns whether one came: what `cidrotor import` gives
// ImportOptions::stop_requested, so that Ctrl-C or a service manager's stop ends a direct import
// with its summary, not mid-line. A signal during the last batch's write lets it finish (the
// import is then complete). Without SA_RESTART: a read blocked on a pipe returns (EINTR) and
// sees it.
std::function<bool()> CatchStopSignals();

struct ImportCounts {
  std::uint64_t rows = 0;  // data rows read
  std::uint64_t imported = 0;
  std::uint64_t updated = 0;
  std::uint64_t skipped = 0;
  std::uint64_t rejected = 0;
};

// Without --rejects, the first kShown rejected rows are shown on stderr as they come ("line N:
// reason"), and the number of the others after the summary.
class RejectsOnStderr {
 public:
  static constexpr std::uint64_t kShown = 10;
  void Show(std::uint64_t line, std::string_view reason, std::ostream& err);
  // `rejected`: every rejected row, shown or not; `listed`: how many of them --rejects would
  // list (all of them when not given; through the API, the ones the server lists).
  void Summarize(std::uint64_t rejected, std::ostream& err,
                 std::optional<std::uint64_t> listed = std::nullopt) const;

 private:
  std::uint64_t shown_ = 0;
};

// Why --rejects must not be written (opening it empties it), or nullopt: it names the input file,
// a file of the store (its database, WAL, lock: the data dir's, or any SQLite database, such as a
// server's reached through --via-api).
std::optional<std::string> RejectsPathProblem(const ImportOptions& options);

// SPEC's exit status for these counts (`stopped`: a batch failed after some were committed).
int ImportExitStatus(const ImportCounts& counts, bool stopped);

// The command; messages and the summary on `err`. Returns the exit status.
int RunImport(const ImportOptions& options, std::ostream& err);

// What a server's error answer to an import (`body`) says was kept before the error: its counts
// when batches were imported, updated or skipped (http/handlers_import.cc ErrorAfterBatches);
// nullopt when none were (or the body says nothing of it).
std::optional<ImportCounts> KeptBeforeTheError(std::string_view body);

// cli/import_client.cc: the --via-api path. Returns the exit status.
int RunImportViaApi(const ImportOptions& options, std::ostream& err);

}  // namespace cidrotor::cli
