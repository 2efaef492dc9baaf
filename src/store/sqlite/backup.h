// A consistent online copy of the embedded store, for `cidrotor backup FILE`.
//
// Uses SQLite's online backup API on a read-only connection: it copies the database as of one
// read transaction (WAL mode lets `serve` keep committing meanwhile), so the copy is consistent
// and includes everything committed before it started. The copy is written next to `target` and
// renamed into place, so `target` is never a half-written file. Not thread-safe (one call).
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace cidrotor::store::sqlite {

struct BackupSummary {
  std::uint64_t pages = 0;    // database pages copied
  std::uint64_t numbers = 0;  // rows of caller_ids in the copy
};

// Copies the database at `source` to `target` (replaced if it exists).
// Errors: kUnavailable naming the file that could not be read, written or renamed.
[[nodiscard]] core::Result<BackupSummary> BackupDatabase(const std::string& source,
                                                         const std::string& target);

}  // namespace cidrotor::store::sqlite
