// `cidrotor sample-csv FILE --count N [--area-codes 212,310,...]`: a realistic pool CSV for demos
// and benchmarks, in the import format (caller_id,carrier,area_code,hourly_limit,daily_limit,pool,
// state).
//
// Skew like a real center's pool: area codes ranked by a Zipf weight (the k-th gets 1/k of the
// first's share), so a few large area codes hold most numbers and many small ones a few each.
// Within an area code numbers fill the 555 exchange first (555-0000..9999), then further valid
// exchanges ([2-9]XX, not N11, not 555/950/958/959/976) once it needs more than 10,000. Rows are
// shuffled (a spreadsheet is in no key order). Carriers drawn with market weights; caps mostly
// empty (the defaults), a few numbers with their own. Deterministic for a (count, seed, area
// codes). A million rows take well under a second. Pure except RunSampleCsv.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/result.h"

namespace cidrotor::cli {

struct SampleCsvOptions {
  std::string output = "-";               // FILE, or "-" for stdout
  std::size_t count = 1000;               // rows; REQUIRES 1..50,000,000
  std::vector<std::uint32_t> area_codes;  // empty: the built-in list of real US area codes
  std::uint64_t seed = 1;
};

// "212,310" -> {212, 310}. Errors: kInvalidArgument ("area-codes") for a code that is not a
// valid NANP area code, or one listed twice.
[[nodiscard]] core::Result<std::vector<std::uint32_t>> ParseAreaCodeList(std::string_view text);

// The whole CSV text, header included. Errors: kInvalidArgument when `count` exceeds what the
// area codes can hold.
[[nodiscard]] core::Result<std::string> GenerateSampleCsv(const SampleCsvOptions& options);

// The command: writes the CSV, prints a one-line summary on `err`. Returns the exit status.
int RunSampleCsv(const SampleCsvOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cidrotor::cli
