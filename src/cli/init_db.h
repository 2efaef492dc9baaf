// `cidrotor init-db [--sample-data]`: creates or migrates the embedded store's schema and, when
// asked and only while the store has no numbers, loads the sample pool (cli/sample_pool.h).
// `make run` calls it before `serve`; `serve` itself never loads sample data (SPEC).
//
// InitDb works on any store::Journal (the SQLite one in embedded mode, a test's in-memory one);
// RunInitDb is the command: it opens DATA_DIR/cidrotor.db and prints what it did.
// Not thread-safe; one call per process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "store/journal.h"

namespace cidrotor::cli {

// Number of sample numbers `--sample-data` loads (10 per area code).
inline constexpr std::size_t kSamplePoolSize = 150;

// The embedded store's file inside the data directory.
inline constexpr const char* kDatabaseFileName = "cidrotor.db";

// Whether writing `target` would overwrite the store in `data_dir`: its database file or one of
// SQLite's files beside it (-wal, -shm, -journal), or the data-dir lock (replacing it gives it an
// inode nobody holds: an import could then write behind a running server), by name or through
// another path to the same file. `backup var/cidrotor.db` and `export var/cidrotor.db` read
// naturally and destroyed the running store (a review reproduced both); they are refused instead.
bool IsStoreFile(const std::filesystem::path& data_dir, const std::filesystem::path& target);

struct InitDbReport {
  std::uint64_t numbers_before = 0;  // numbers the store held when opened
  std::uint64_t sample_added = 0;    // sample numbers written now
  bool sample_skipped = false;       // --sample-data given, but the store already had numbers
};

// Loads the journal (which creates or migrates its schema), then appends the sample pool when
// `sample_data` and the store is empty, and waits until it is durable.
// Errors: the journal's (kUnavailable) when it cannot be opened, read or written.
[[nodiscard]] core::Result<InitDbReport> InitDb(store::Journal& journal, core::TimePoint now,
                                                bool sample_data);

// Creates `data_dir` when missing and opens the SQLite journal in it (not yet loaded).
// Errors: kUnavailable naming the path.
[[nodiscard]] core::Result<std::unique_ptr<store::Journal>> OpenDataDirJournal(
    const std::filesystem::path& data_dir);

// "sample data loaded: 150 numbers over 15 area codes (201 212 ...)", the line both modes print.
std::string SampleLoadedLine(std::uint64_t added);

struct InitDbOptions {
  std::filesystem::path data_dir = "./var";  // CIDROTOR_DATA_DIR
  bool sample_data = false;                  // --sample-data
};

// The command. Prints one line per step on `out`, errors on `err`. Returns the exit status:
// 0 done (also when the sample was skipped), 1 the store failed.
int RunInitDb(const InitDbOptions& options, const core::Clock& clock, std::ostream& out,
              std::ostream& err);

}  // namespace cidrotor::cli
