// `cidrotor backup FILE`: a consistent online copy of the embedded store (CIDROTOR_DATA_DIR's
// cidrotor.db) into FILE, safe while `serve` runs. Restore: stop serve, put FILE in place as
// cidrotor.db (removing any cidrotor.db-wal / -shm), start serve. Not thread-safe.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

namespace cidrotor::cli {

struct BackupOptions {
  std::filesystem::path data_dir = "./var";  // CIDROTOR_DATA_DIR
  std::string output;                        // FILE
};

// Returns the exit status: 0 copied (a summary on `out`), 1 the copy failed (why on `err`;
// FILE as it was before), 2 FILE cannot be one (the store itself, a directory, a device).
int RunBackup(const BackupOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cidrotor::cli
