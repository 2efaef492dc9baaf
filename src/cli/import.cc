#include "cli/import.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <ostream>
#include <variant>
#include <vector>

#include "cli/data_dir_lock.h"
#include "cli/init_db.h"
#include "service/csv_reader.h"
#include "service/number_rows.h"
#include "store/sqlite/bulk_import.h"

namespace cidrotor::cli {
namespace {

// What a stop request ends the import with (ImportOptions::stop_requested).
core::Error Interrupted() {
  return core::Error::Unavailable("interrupted (SIGINT or SIGTERM) before the end of the file");
}

volatile std::sig_atomic_t stop_signal = 0;  // CatchStopSignals()

// Async-signal-safe only: says what happens (the write under way may take seconds), and gives
// both signals back their default, so that a second one, either, ends the process at once.
extern "C" void OnStopSignal(int signo) {
  stop_signal = signo;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  static constexpr char kSaid[] =
      "cidrotor import: stopping after the batch under way (a second signal ends it at once)\n";
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, kSaid, sizeof kSaid - 1);
}

using Clock = std::chrono::steady_clock;
constexpr std::size_t kReadSize = 1 << 20;

// The input file or stdin, read in large blocks.
class Input {
 public:
  static core::Result<Input> Open(const std::string& name) {
    if (name == "-") return Input(STDIN_FILENO, false, 0);
    const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return core::Fail(core::Error::InvalidArgument(
          "FILE", fmt::format("cannot open {}: {}", name, std::strerror(errno))));
    }
    struct stat st {};
    const bool sized = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    return Input(fd, true, sized ? static_cast<std::uint64_t>(st.st_size) : 0);
  }
  Input(Input&& o) noexcept : fd_(o.fd_), owned_(o.owned_), size_(o.size_) { o.owned_ = false; }
  ~Input() {
    if (owned_) ::close(fd_);
  }
  // Bytes read into `buffer`; 0 at the end. Errors: kUnavailable (also Interrupted() when a
  // signal interrupts the read and `stop_requested` says to stop).
  core::Result<std::size_t> Read(std::vector<char>& buffer,
                                 const std::function<bool()>& stop_requested) {
    for (;;) {
      const auto n = ::read(fd_, buffer.data(), buffer.size());
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) {
        return core::Fail(core::Error::Unavailable(fmt::format("read: {}", std::strerror(errno))));
      }
      if (stop_requested && stop_requested()) return core::Fail(Interrupted());
    }
  }
  std::uint64_t size() const { return size_; }  // 0 when unknown (a pipe)

 private:
  Input(int fd, bool owned, std::uint64_t size) : fd_(fd), owned_(owned), size_(size) {}
  int fd_;
  bool owned_;
  std::uint64_t size_;
};

// A one-line progress bar on stderr, redrawn at most 10 times a second.
class Progress {
 public:
  Progress(std::ostream& err, bool enabled, std::uint64_t total_bytes)
      : err_(err), enabled_(enabled), total_(total_bytes) {}
  void Update(std::uint64_t rows, std::uint64_t bytes, bool force = false) {
    if (!enabled_) return;
    const auto now = Clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(rows) / seconds : 0;
    std::string line = fmt::format("\r{:>10} rows  {:>9.0f} rows/s", rows, rate);
    if (total_ > 0) {
      const double done = std::min(1.0, static_cast<double>(bytes) / static_cast<double>(total_));
      const int width = 30;
      const int filled = static_cast<int>(done * width);
      const double eta = done > 0 ? seconds * (1 - done) / done : 0;
      line += fmt::format("  [{}{}] {:3.0f}%  ETA {:.1f} s", std::string(filled, '#'),
                          std::string(width - filled, ' '), done * 100, eta);
    }
    err_ << line << "\033[K" << std::flush;  // on a terminal only: clear what a longer line left
  }
  // After the last read the rows still buffered are sorted and written (all of them, with the
  // default batch of 1,000,000): the bar says so rather than sit at 100 % for seconds.
  void Writing() {
    if (enabled_) err_ << "  writing to the store..." << std::flush;
  }
  void Done() {
    if (enabled_) err_ << "\n";
  }
  double Seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  std::ostream& err_;
  bool enabled_;
  std::uint64_t total_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_{};
};

// The --rejects file: line,reason, then the input's own columns.
class RejectsFile {
 public:
  bool Open(const std::string& path) {
    out_.open(path, std::ios::binary | std::ios::trunc);
    return static_cast<bool>(out_);
  }
  bool is_open() const { return out_.is_open(); }
  void Header(const std::vector<std::string>& columns) {
    if (!out_.is_open()) return;
    line_ = "line,reason";
    for (const auto& c : columns) {
      line_ += ',';
      service::AppendCsvField(line_, c);
    }
    out_ << line_ << '\n';
  }
  void Write(const service::RowReject& reject) {
    if (!out_.is_open()) return;
    line_ = std::to_string(reject.line);
    line_ += ',';
    service::AppendCsvField(line_, reject.reason);
    for (const auto& f : reject.fields) {
      line_ += ',';
      service::AppendCsvField(line_, f);
    }
    out_ << line_ << '\n';
  }
  bool Close() {
    if (!out_.is_open()) return true;
    out_.close();
    return !out_.fail();
  }

 private:
  std::ofstream out_;
  std::string line_;
};

// The embedded store's SQLite file, under the data-dir lock (a running `serve` holds it).
class SqliteTarget final : public ImportTarget {
 public:
  static core::Result<std::unique_ptr<ImportTarget>> Open(const ImportOptions& options,
                                                          std::ostream& err) {
    auto lock = DataDirLock::Acquire(options.data_dir, "import");
    if (!lock) {
      // Held: only a server takes an import through --via-api; another import is waited for.
      // Anything else (a file named as the directory, no permission) is said as it is.
      if (lock.error().code() != core::ErrorCode::kConflict) return core::Fail(lock.error());
      const bool serving = lock.error().detail().find("by cidrotor serve") != std::string::npos;
      return core::Fail(core::Error::Conflict(
          lock.error().detail() +
          (serving ? ": stop it first, or import through it with --via-api http://HOST:PORT "
                     "--token ADMIN_TOKEN"
                   : ": wait for it to finish")));
    }
    store::sqlite::BulkImportOptions bulk;
    bulk.path = (options.data_dir / kDatabaseFileName).string();
    if (!std::filesystem::exists(bulk.path)) {
      // From the wrong directory, or with a mistyped --data-dir, the numbers would go where
      // serve never looks, with success: the new store is named.
      err << "cidrotor import: no store at " << bulk.path
          << " yet: creating it (is --data-dir / CIDROTOR_DATA_DIR the one serve uses?)\n";
    }
    bulk.on_duplicate = options.on_duplicate;
    bulk.batch_rows = options.batch_rows;
    bulk.warm_from_today = options.warm_from_today;
    auto importer = store::sqlite::BulkImporter::Open(bulk);
    if (!importer) return core::Fail(std::move(importer.error()));
    return std::unique_ptr<ImportTarget>(new SqliteTarget(std::move(*lock), std::move(*importer)));
  }

  core::Result<bool> Exists(core::PhoneNumber number) override { return importer_->Exists(number); }
  core::Result<void> Add(store::ImportItem item) override {
    return importer_->Add(std::move(item));
  }
  core::Result<void> Finish() override { return importer_->Finish(); }
  const store::ImportResult& result() const override { return importer_->result(); }

 private:
  SqliteTarget(DataDirLock lock, std::unique_ptr<store::sqlite::BulkImporter> importer)
      : lock_(std::move(lock)), importer_(std::move(importer)) {}

  DataDirLock lock_;
  std::unique_ptr<store::sqlite::BulkImporter> importer_;
};

// A dry run's target: the store read-only, without the data-dir lock, so it also runs beside
// `serve`; it creates nothing (a mistyped --data-dir must not become a new store). Only Exists is
// asked: a dry run adds nothing.
class DryRunTarget final : public ImportTarget {
 public:
  static core::Result<std::unique_ptr<ImportTarget>> Open(const ImportOptions& options,
                                                          std::ostream& err) {
    const std::string path = (options.data_dir / kDatabaseFileName).string();
    auto stored = store::sqlite::StoredNumbers::Open(path);
    if (!stored) return core::Fail(std::move(stored.error()));
    if (!(*stored)->file_exists()) {
      err << "cidrotor import: no store at " << path << " yet: every row counts as new\n";
    }
    return std::unique_ptr<ImportTarget>(new DryRunTarget(std::move(*stored)));
  }

  core::Result<bool> Exists(core::PhoneNumber number) override { return stored_->Contains(number); }
  core::Result<void> Add(store::ImportItem) override { return {}; }
  core::Result<void> Finish() override { return {}; }
  const store::ImportResult& result() const override { return result_; }

 private:
  explicit DryRunTarget(std::unique_ptr<store::sqlite::StoredNumbers> stored)
      : stored_(std::move(stored)) {}

  std::unique_ptr<store::sqlite::StoredNumbers> stored_;
  store::ImportResult result_;  // nothing written
};

}  // namespace

std::function<bool()> CatchStopSignals() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  ::sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: see the header
  for (const int signo : {SIGINT, SIGTERM}) {
    // A signal the import was started ignoring (SIGINT of a background job in a script) stays
    // ignored, as it was before the handler.
    struct sigaction inherited {};
    if (::sigaction(signo, nullptr, &inherited) == 0 && inherited.sa_handler == SIG_IGN) continue;
    ::sigaction(signo, &action, nullptr);
  }
  return [] { return stop_signal != 0; };
}

int ImportExitStatus(const ImportCounts& counts, bool stopped) {
  const std::uint64_t handled = counts.imported + counts.updated + counts.skipped;
  if (handled == 0) return 2;
  return counts.rejected > 0 || stopped ? 1 : 0;
}

std::optional<std::string> RejectsPathProblem(const ImportOptions& options) {
  if (options.rejects_path.empty()) return std::nullopt;
  struct stat input {};
  struct stat rejects {};
  if (options.input != "-" && ::stat(options.input.c_str(), &input) == 0 &&
      ::stat(options.rejects_path.c_str(), &rejects) == 0 && input.st_dev == rejects.st_dev &&
      input.st_ino == rejects.st_ino) {
    return "is the file being imported";
  }
  if (options.via_api.empty() && IsStoreFile(options.data_dir, options.rejects_path)) {
    return "is a file of the store";
  }
  // Only a regular file can be a database; reading a pipe, a FIFO or a terminal (`--rejects
  // /dev/stdout | tee`) would wait for bytes that never come.
  if (::stat(options.rejects_path.c_str(), &rejects) != 0 || !S_ISREG(rejects.st_mode)) {
    return std::nullopt;
  }
  std::ifstream existing(options.rejects_path, std::ios::binary);
  char magic[16] = {};
  if (existing.read(magic, sizeof magic) &&
      std::string_view(magic, sizeof magic) == std::string_view("SQLite format 3\0", 16)) {
    return "is an SQLite database";
  }
  return std::nullopt;
}

void RejectsOnStderr::Show(std::uint64_t line, std::string_view reason, std::ostream& err) {
  if (shown_ >= kShown) return;
  ++shown_;
  err << "cidrotor import: line " << line << ": " << reason << "\n";
}

void RejectsOnStderr::Summarize(std::uint64_t rejected, std::ostream& err,
                                std::optional<std::uint64_t> listed) const {
  if (rejected <= shown_) return;
  err << "cidrotor import: " << rejected - shown_ << " more rejected row"
      << (rejected - shown_ == 1 ? "" : "s") << " not shown; --rejects FILE lists "
      << (listed && *listed < rejected ? "the first " + std::to_string(*listed)
                                       : std::string("every one"))
      << " with its line and reason\n";
}

int RunImport(const ImportOptions& options, std::ostream& err) {
  // Opening the rejects file empties it: never the file being imported, nor the store's.
  if (const auto problem = RejectsPathProblem(options)) {
    err << "cidrotor import: --rejects " << options.rejects_path << " " << *problem
        << "; name another\n";
    return 2;
  }
  if (!options.via_api.empty()) return RunImportViaApi(options, err);
  auto input = Input::Open(options.input);
  if (!input) {
    err << "cidrotor import: " << input.error().detail() << "\n";
    return 2;
  }
  // The rejects file and the store are opened (the store created, if new) once the header is
  // read and good: a file that is no pool CSV changes nothing, not even a mistyped --data-dir.
  RejectsFile rejects;
  std::unique_ptr<ImportTarget> importer;
  std::optional<std::string> open_failed;
  const auto open_importer = [&]() -> bool {
    if (!options.rejects_path.empty() && !rejects.Open(options.rejects_path)) {
      open_failed = "cannot write " + options.rejects_path + ": " + std::strerror(errno);
      return false;
    }
    auto opened = options.open_target ? options.open_target(options)
                  : options.dry_run   ? DryRunTarget::Open(options, err)
                                      : SqliteTarget::Open(options, err);
    if (!opened) {
      open_failed = opened.error().detail();
      return false;
    }
    importer = std::move(*opened);
    return true;
  };
  const bool bar = options.progress == ProgressMode::kBar ||
                   (options.progress == ProgressMode::kAuto && ::isatty(STDERR_FILENO));
  Progress progress(err, bar, input->size());

  ImportCounts counts;
  RejectsOnStderr shown;  // without --rejects, the first few
  service::CsvReader reader;
  service::NumberRowParser parser(options.now);
  bool header_done = false;
  std::optional<core::Error> stop;  // a header or store error ends the import
  // Dry runs and `fail` look every row up (`fail` under the data-dir lock, which keeps other
  // writers out meanwhile; a dry run reads beside them).
  const bool lookup = options.dry_run || options.on_duplicate == store::OnDuplicate::kFail;
  const auto on_record = [&](const service::CsvRecord& record) {
    if (stop) return;
    if (options.stop_requested && options.stop_requested()) {
      stop = Interrupted();
      return;
    }
    if (!header_done) {
      header_done = true;
      if (auto ok = parser.SetHeader(record); !ok) {
        stop = ok.error();
        return;
      }
      for (const auto& warning : parser.warnings()) err << "cidrotor import: " << warning << "\n";
      if (!open_importer()) {
        stop = core::Error::Unavailable(*open_failed);
        return;
      }
      rejects.Header(parser.header());
      return;
    }
    ++counts.rows;
    auto parsed = parser.Parse(record);
    if (auto* reject = std::get_if<service::RowReject>(&parsed)) {
      ++counts.rejected;
      rejects.Write(*reject);
      if (!rejects.is_open()) shown.Show(reject->line, reject->reason, err);
      return;
    }
    auto& row = std::get<service::NumberRow>(parsed);
    if (lookup) {
      auto exists = importer->Exists(row.spec.caller_id);
      if (!exists) {
        stop = exists.error();
        return;
      }
      if (*exists && options.on_duplicate == store::OnDuplicate::kFail) {
        ++counts.rejected;
        rejects.Write({row.line, "caller_id: already in the store", record.fields});
        if (!rejects.is_open()) shown.Show(row.line, "caller_id: already in the store", err);
        return;
      }
      if (options.dry_run) {
        ++(!*exists                                            ? counts.imported
           : options.on_duplicate == store::OnDuplicate::kSkip ? counts.skipped
                                                               : counts.updated);
        return;
      }
    }
    const std::uint64_t line = row.line;
    if (auto added = importer->Add(service::ToImportItem(std::move(row))); !added) {
      if (added.error().code() != core::ErrorCode::kInvalidArgument) {
        stop = added.error();
        return;
      }
      // A row the store cannot hold (one carrier too many): rejected, as a bad row is.
      const std::string reason = service::RejectReason(added.error());
      ++counts.rejected;
      rejects.Write({line, reason, record.fields});
      if (!rejects.is_open()) shown.Show(line, reason, err);
    }
  };

  std::vector<char> buffer(kReadSize);
  std::uint64_t bytes = 0;
  while (!stop) {
    auto n = input->Read(buffer, options.stop_requested);
    if (!n) {
      stop = n.error();
      break;
    }
    if (*n == 0) break;
    bytes += *n;
    reader.Feed(std::string_view(buffer.data(), *n), on_record);
    progress.Update(counts.rows, bytes);
  }
  if (!stop) reader.Finish(on_record);
  if (!stop && !header_done) stop = core::Error::InvalidArgument("header", "the file is empty");
  if (open_failed) {  // the store could not be opened: nothing was read into it
    progress.Done();
    err << "cidrotor import: " << *open_failed << "\n";
    return 2;
  }
  if (!stop && !options.dry_run) {
    progress.Update(counts.rows, bytes, true);
    progress.Writing();
    if (auto finished = importer->Finish(); !finished) stop = finished.error();
  }
  progress.Update(counts.rows, bytes, true);
  progress.Done();
  if (!options.dry_run && importer) {
    const store::ImportResult& written = importer->result();
    counts.imported = written.imported;
    counts.updated = written.updated;
    counts.skipped = written.skipped;
  }
  const bool rejects_to_file = rejects.is_open();  // before Close(), which ends is_open()
  if (!rejects.Close()) err << "cidrotor import: writing " << options.rejects_path << " failed\n";

  err << fmt::format(
      "import{}: {} rows: {} imported, {} updated, {} skipped, {} rejected in {:.2f} s",
      options.dry_run ? " (dry run, nothing written)" : "", counts.rows, counts.imported,
      counts.updated, counts.skipped, counts.rejected, progress.Seconds());
  if (counts.rejected > 0 && !options.rejects_path.empty()) {
    err << " (rejects: " << options.rejects_path << ")";
  }
  err << "\n";
  if (!rejects_to_file) shown.Summarize(counts.rejected, err);
  if (stop) {
    err << "cidrotor import: stopped: " << service::RejectReason(*stop);
    if (!options.dry_run && counts.imported + counts.updated > 0) {
      err << " (the batches committed before stay; rerun the same file to complete the import)";
    }
    err << "\n";
    if (stop->field() == "header" || stop->field() == "FILE") return 2;
  }
  return ImportExitStatus(counts, stop.has_value());
}

}  // namespace cidrotor::cli
