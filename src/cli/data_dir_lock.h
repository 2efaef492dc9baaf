// An advisory lock on the embedded data directory (DATA_DIR/cidrotor.lock, flock(2)), so that a
// direct `cidrotor import` never writes the SQLite file under a running `cidrotor serve`: the
// server's in-memory index would not see the rows, and its next upsert of a number could
// overwrite them. `serve` holds the lock for its whole life; `import` holds it while it writes.
// Whoever comes second is refused at once with a message naming the holder (its pid and command),
// and `import` points to `--via-api`. `export` and `init-db` take no lock: they only read (WAL
// readers see committed state) or migrate under SQLite's own locking.
// The kernel drops the lock when the holder exits, also on kill -9: no stale lock files.
// Move-only; not thread-safe.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.h"

namespace cidrotor::cli {

inline constexpr const char* kLockFileName = "cidrotor.lock";

class DataDirLock {
 public:
  // Creates `data_dir` when missing and takes the lock for `command` ("serve", "import").
  // Errors: kConflict when another process holds it (detail names its pid and command);
  // kUnavailable when the file cannot be created.
  [[nodiscard]] static core::Result<DataDirLock> Acquire(const std::filesystem::path& data_dir,
                                                         const std::string& command);
  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();  // releases the lock

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace cidrotor::cli
