// `cidrotor export FILE.csv` (`-` = stdout): the pool as CSV with SPEC's columns
// caller_id,carrier,area_code,hourly_limit,daily_limit,pool,state,active,last_used,hourly_used,
// daily_used, in caller_id order. Caps are empty when the number follows the configured defaults;
// last_used is ISO-8601 UTC or empty (never used); active is true/false; the usage counters are
// those of the current hour/day window of `calendar` (0 when the stored window has passed).
// Re-importable as is: `import` reads every column but the two counters back, so
// export -> import -> export is identical (counters aside). Reads through SQLite's WAL, so it may
// run while `serve` runs (it sees what has been committed). Not thread-safe.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

#include "core/calendar.h"
#include "core/clock.h"

namespace cidrotor::cli {

struct ExportOptions {
  std::filesystem::path data_dir = "./var";  // CIDROTOR_DATA_DIR
  std::string output = "-";                  // FILE.csv, or "-" for stdout
};

// The command. Returns the exit status: 0 written, 1 the store or the file failed, 2 usage.
int RunExport(const ExportOptions& options, const core::Clock& clock,
              const core::Calendar& calendar, std::ostream& out, std::ostream& err);

}  // namespace cidrotor::cli
