// `cidrotor export [--format vicidial-dids] FILE` (`-` = stdout). The default format is CSV: the
// pool with SPEC's columns
// caller_id,carrier,area_code,hourly_limit,daily_limit,pool,state,active,last_used,hourly_used,
// daily_used, and cidrotor's rest_until and warm_from, in caller_id order. Caps are empty when the
// number follows the configured defaults; last_used is ISO-8601 UTC or empty (never used),
// rest_until likewise (the end of the number's last rest, also a past one: probation and the
// answer-rate judging follow from it; empty: never rested), warm_from likewise (the local midnight
// its warm-up started; `none`: established); active is true/false; the usage counters are those of
// the current hour/day window of `calendar` (0 when the stored window has passed). Re-importable
// as is: `import` reads every column but the two counters back, so export -> import -> export is
// identical (counters aside). Embedded, it reads through SQLite's WAL; in cluster mode app/ gives
// a scan of PostgreSQL (ExportOptions::scan). Either way it may run while `serve` runs, and sees
// what has been committed. Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>

#include "cli/vicidial_dids.h"
#include "core/calendar.h"
#include "core/clock.h"
#include "core/result.h"
#include "store/journal.h"

namespace cidrotor::cli {

// Streams every stored number, in caller_id order, into `sink`; returns how many.
// Errors: the store's (the message is printed as is).
using NumberScan =
    std::function<core::Result<std::uint64_t>(core::TimePoint now, store::LoadSink& sink)>;

enum class ExportFormat : std::uint8_t {
  kCsv,           // the pool with its usage (above)
  kVicidialDids,  // VICIdial inbound-DID rows (cli/vicidial_dids.h)
};

struct ExportOptions {
  std::filesystem::path data_dir = "./var";  // CIDROTOR_DATA_DIR
  std::string output = "-";                  // FILE.csv, or "-" for stdout
  NumberScan scan;                           // empty: the SQLite store in data_dir
  ExportFormat format = ExportFormat::kCsv;
  VicidialDidOptions dids;  // for kVicidialDids
};

// The command. Returns the exit status: 0 written, 1 the store or the file failed, 2 usage.
int RunExport(const ExportOptions& options, const core::Clock& clock,
              const core::Calendar& calendar, std::ostream& out, std::ostream& err);

}  // namespace cidrotor::cli
