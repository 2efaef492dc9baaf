#include "cli/export.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>

#include "cli/init_db.h"
#include "cli/output_file.h"
#include "service/csv_reader.h"
#include "service/number_rows.h"
#include "store/sqlite/bulk_import.h"

namespace cidrotor::cli {
namespace {

// Formats each number as one CSV line into a buffer flushed in large writes.
class CsvSink final : public store::LoadSink {
 public:
  CsvSink(std::ostream& out, core::Windows windows) : out_(out), windows_(windows) {
    for (const char* column : service::kExportColumns) {
      if (!line_.empty()) line_ += ',';
      line_ += column;
    }
    line_ += '\n';
  }
  ~CsvSink() override { Flush(); }

  void OnNumber(const core::NumberSpec& spec, const core::NumberUsage& usage) override {
    const core::CompactTime hour = core::ToCompact(windows_.hour_start);
    const core::CompactTime day = core::ToCompact(windows_.day_start);
    fmt::format_to(std::back_inserter(line_), "{},", spec.caller_id.digits());
    service::AppendCsvField(line_, spec.carrier);
    fmt::format_to(std::back_inserter(line_), ",{},", spec.caller_id.area_code());
    if (spec.hourly_cap != 0) fmt::format_to(std::back_inserter(line_), "{}", spec.hourly_cap);
    line_ += ',';
    if (spec.daily_cap != 0) fmt::format_to(std::back_inserter(line_), "{}", spec.daily_cap);
    line_ += ',';
    service::AppendCsvField(line_, spec.pool);
    line_ += ',';
    service::AppendCsvField(line_, spec.state);
    line_ += spec.active ? ",true," : ",false,";
    line_ += service::FormatIsoUtc(usage.last_used);
    fmt::format_to(std::back_inserter(line_), ",{},{},",
                   usage.hour_start == hour ? usage.hourly_used : 0,
                   usage.day_start == day ? usage.daily_used : 0);
    line_ += service::FormatIsoUtc(usage.rest_until);
    line_ += ',';
    if (usage.warm_from == 0) {
      line_ += service::kEstablished;  // not empty: a never-used number would read as new
    } else {
      line_ += service::FormatIsoUtc(usage.warm_from);
    }
    line_ += '\n';
    if (line_.size() > (1 << 20)) Flush();
  }
  void OnLiveReservation(const core::Reservation&) override {}

  void Flush() {
    out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
    line_.clear();
  }

 private:
  std::ostream& out_;
  core::Windows windows_;
  std::string line_;
};

}  // namespace

int RunExport(const ExportOptions& options, const core::Clock& clock,
              const core::Calendar& calendar, std::ostream& out, std::ostream& err) {
  if (options.format == ExportFormat::kVicidialDids) {
    if (auto checked = CheckVicidialDidOptions(options.dids); !checked) {
      err << "cidrotor export: " << checked.error().field() << " " << checked.error().detail()
          << "\n";
      return 2;
    }
  }
  const std::filesystem::path database = options.data_dir / kDatabaseFileName;
  if (!options.scan && !std::filesystem::exists(database)) {
    // A wrong --data-dir would otherwise create an empty store there and export nothing, with
    // success (as backup, it says where it looked).
    err << "cidrotor export: no database at " << database.string()
        << " (is --data-dir / CIDROTOR_DATA_DIR the one serve uses?)\n";
    return 1;
  }
  if (options.output != "-" && IsStoreFile(options.data_dir, options.output)) {
    err << "cidrotor export: " << options.output
        << " is the store itself (FILE is the CSV written): name another file\n";
    return 2;
  }
  // A file is replaced only once the export is whole: one that fails halfway (a full disk)
  // leaves the previous export as it was, not a cut copy that would still import.
  std::optional<OutputFile> output;
  std::ofstream file;
  std::ostream* target = &out;
  if (options.output != "-") {
    auto prepared = OutputFile::Prepare(options.output, OutputFile::Streams::kWrittenInPlace);
    if (!prepared) {
      err << "cidrotor export: " << prepared.error().detail() << "\n";
      return 2;
    }
    output.emplace(std::move(*prepared));
    file.open(output->write_path(), std::ios::binary | std::ios::trunc);
    if (!file) {
      err << "cidrotor export: cannot write " << output->write_path() << ": "
          << std::strerror(errno) << "\n";
      return 2;
    }
    target = &file;
  }
  const core::TimePoint now = clock.Now();
  NumberScan scan = options.scan;
  if (!scan) {
    scan = [path = database.string()](core::TimePoint at, store::LoadSink& sink) {
      return store::sqlite::ScanNumbers(path, at, sink);
    };
  }
  core::Result<std::uint64_t> count = 0;
  if (options.format == ExportFormat::kVicidialDids) {
    VicidialDidSink sink(*target, options.dids);
    count = scan(now, sink);
    if (count) count = sink.written();  // those of the pool asked for
  } else {
    CsvSink sink(*target, calendar.WindowsAt(now));
    count = scan(now, sink);
  }
  target->flush();
  if (!count) {
    err << "cidrotor export: " << count.error().detail() << "\n";
    return 1;
  }
  if (file.is_open()) file.close();
  if (!*target) {
    err << "cidrotor export: writing " << options.output << " failed"
        << (output && !output->is_stream() ? " (the file is left as it was)" : "") << "\n";
    return 1;
  }
  if (output) {
    if (auto committed = output->Commit(); !committed) {
      err << "cidrotor export: " << committed.error().detail() << "\n";
      return 1;
    }
  }
  if (options.output != "-") {
    err << fmt::format("export: {} numbers written to {}\n", *count, options.output);
  }
  if (*count == 0 && options.dids.pool) {
    err << "cidrotor export: pool " << *options.dids.pool << " has no numbers\n";
  }
  return 0;
}

}  // namespace cidrotor::cli
