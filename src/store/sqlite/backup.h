// A consistent online copy of the embedded store, for `cidrotor backup FILE`.
//
// Uses SQLite's online backup API on a read-only connection: it copies the database as of one
// read transaction (WAL mode lets `serve` keep committing meanwhile), so the copy is consistent
// and includes everything committed before it started. `target` is written in place: the caller
// makes it a file of its own to rename over the one it replaces (cli/output_file.h), and creates
// it empty with the mode the copy should have (SQLite keeps an existing file's mode). Not
// thread-safe (one call).
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace cidrotor::store::sqlite {

struct BackupSummary {
  std::uint64_t pages = 0;    // database pages copied
  std::uint64_t numbers = 0;  // rows of caller_ids in the copy
};

// Copies the database at `source` into `target` (missing or empty).
// Errors: kUnavailable naming the file that could not be read or written.
[[nodiscard]] core::Result<BackupSummary> BackupDatabase(const std::string& source,
                                                         const std::string& target);

}  // namespace cidrotor::store::sqlite
