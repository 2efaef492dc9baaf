#include "cli/init_db.h"

#include <fmt/format.h>

#include <future>
#include <optional>
#include <ostream>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "cli/data_dir_lock.h"
#include "cli/sample_pool.h"
#include "store/sqlite/sqlite_journal.h"

namespace cidrotor::cli {

bool IsStoreFile(const std::filesystem::path& data_dir, const std::filesystem::path& target) {
  std::error_code error;
  const auto canonical_target = std::filesystem::weakly_canonical(target, error);
  if (error) return false;
  const std::string database = kDatabaseFileName;
  for (const std::string& name : {database, database + "-wal", database + "-shm",
                                  database + "-journal", std::string(kLockFileName)}) {
    const std::filesystem::path file = data_dir / name;
    std::error_code canonical_error;
    std::error_code equivalent_error;
    if (std::filesystem::weakly_canonical(file, canonical_error) == canonical_target &&
        !canonical_error) {
      return true;
    }
    if (std::filesystem::equivalent(file, target, equivalent_error) && !equivalent_error) {
      return true;  // another name for it (a hard link)
    }
  }
  return false;
}
namespace {

// Counts what the journal holds; init-db needs no more than that.
class CountingSink final : public store::LoadSink {
 public:
  void OnNumber(const core::NumberSpec&, const core::NumberUsage&) override { ++numbers_; }
  void OnLiveReservation(const core::Reservation&) override {}
  std::uint64_t numbers() const { return numbers_; }

 private:
  std::uint64_t numbers_ = 0;
};

}  // namespace

core::Result<InitDbReport> InitDb(store::Journal& journal, core::TimePoint now, bool sample_data) {
  CountingSink sink;
  auto summary = journal.Load(now, sink);
  if (!summary) return core::Fail(summary.error());

  InitDbReport report;
  report.numbers_before = sink.numbers();
  if (!sample_data) return report;
  if (report.numbers_before > 0) {
    report.sample_skipped = true;
    return report;
  }

  // Established numbers (NumberUsage::warm_from 0): the sample is a demo at full caps, whatever
  // WARMUP_DAYS says (cluster_init_db.cc likewise).
  std::vector<store::JournalEntry> entries;
  for (auto& spec : GenerateSamplePool(kSamplePoolSize)) {
    entries.emplace_back(store::NumberUpserted{std::move(spec), core::NumberUsage{}});
  }
  const auto added = entries.size();
  std::promise<core::Result<void>> durable;
  auto done = durable.get_future();
  journal.Append(std::move(entries),
                 [&durable](core::Result<void> result) { durable.set_value(std::move(result)); });
  journal.Flush();
  if (auto result = done.get(); !result) return core::Fail(result.error());
  report.sample_added = added;
  return report;
}

std::string SampleLoadedLine(std::uint64_t added) {
  std::set<std::uint32_t> area_codes;
  for (const auto& area : SampleAreaCodes()) area_codes.insert(area.npa);
  std::string list;
  for (const auto npa : area_codes) list += fmt::format("{}{}", list.empty() ? "" : " ", npa);
  return fmt::format("sample data loaded: {} numbers over {} area codes ({})", added,
                     area_codes.size(), list);
}

core::Result<std::unique_ptr<store::Journal>> OpenDataDirJournal(
    const std::filesystem::path& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return core::Fail(core::Error::Unavailable(
        fmt::format("cannot create data directory {}: {}", data_dir.string(), ec.message())));
  }
  store::SqliteOptions options;
  options.path = (data_dir / kDatabaseFileName).string();
  auto journal = store::SqliteJournal::Open(std::move(options));
  if (!journal) return core::Fail(journal.error());
  return std::unique_ptr<store::Journal>(std::move(*journal));
}

int RunInitDb(const InitDbOptions& options, const core::Clock& clock, std::ostream& out,
              std::ostream& err) {
  const auto path = (options.data_dir / kDatabaseFileName).string();
  // Loading the sample writes the store: not behind a running server's back (it would not see
  // the numbers until restarted).
  std::optional<DataDirLock> lock;
  if (options.sample_data) {
    auto acquired = DataDirLock::Acquire(options.data_dir, "init-db");
    if (!acquired) {
      err << "init-db: " << acquired.error().detail()
          << (acquired.error().code() == core::ErrorCode::kConflict
                  ? ": stop it first (a running server starts on the store as it is)"
                  : "")
          << "\n";
      return 1;
    }
    lock.emplace(std::move(*acquired));
  }
  auto journal = OpenDataDirJournal(options.data_dir);
  if (!journal) {
    err << "init-db: " << journal.error().detail() << "\n";
    return 1;
  }
  auto report = InitDb(**journal, clock.Now(), options.sample_data);
  if (!report) {
    err << "init-db: " << path << ": " << report.error().detail() << "\n";
    return 1;
  }
  out << fmt::format("schema ready: {} ({} numbers)\n", path, report->numbers_before);
  if (report->sample_skipped) {
    out << fmt::format("sample data skipped: the store already has {} numbers\n",
                       report->numbers_before);
  } else if (report->sample_added > 0) {
    out << SampleLoadedLine(report->sample_added) << "\n";
  }
  return 0;
}

}  // namespace cidrotor::cli
