#include "store/postgres/backlog_spill.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>

namespace cidrotor::store::postgres {
namespace {

constexpr std::string_view kPrefix = "backlog-";
constexpr std::string_view kSuffix = ".spill";
constexpr std::string_view kTempPrefix = ".backlog-";  // "." + kPrefix: a file being made

core::Error FileError(std::string_view what, const std::string& path, int error) {
  return core::Error::Unavailable(std::string(what) + " " + path + ": " + std::strerror(error));
}

bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool ReadAll(int fd, std::string& out) {
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

// "PID-RANDOM": one journal's files, apart from any other process's.
std::string NewSeries() {
  std::random_device device;
  const std::uint64_t nonce = (std::uint64_t{device()} << 32) | device();
  char name[48];
  std::snprintf(name, sizeof name, "%d-%016llx", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(nonce));
  return name;
}

// Zero-padded, so that a directory listing sorts a series' files in their order.
std::string SegmentName(const std::string& series, std::uint32_t segment) {
  char number[16];
  std::snprintf(number, sizeof number, "-%06u", segment);
  return std::string(kPrefix) + series + number;
}

// Opens and locks `path` if no live process holds it and it is still linked there (a journal
// that finished a recovered file deletes it, then releases its lock: the lock alone would let a
// second reader in after the delete). -1 otherwise.
int ClaimOrphan(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat held {};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd, &held) != 0 || held.st_nlink == 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// What one series (one journal's files) holds.
struct SeriesRecords {
  std::vector<SpilledAppend> appends;
  std::vector<SpilledLog> logs;
  SpillCheckpoint done;  // the furthest checkpoint of any of its files
};

// The allocations of every file read (RecoveredBacklog::allocations): the newest of each number,
// the oldest of all, how many.
class AllocationNotes {
 public:
  void Note(const std::vector<JournalEntry>& entries) {
    for (const JournalEntry& entry : entries) {
      const auto* made = std::get_if<ReservationMade>(&entry);
      if (made == nullptr) continue;
      const core::Reservation& r = made->reservation;
      auto [it, added] = newest_.try_emplace(r.caller_id.digits(), r);
      if (!added && it->second.reserved_at <= r.reserved_at) it->second = r;
      out_.oldest = out_.allocations == 0 ? r.reserved_at : std::min(out_.oldest, r.reserved_at);
      ++out_.allocations;
    }
  }
  RecoveredAllocations Take() {
    std::vector<core::Reservation>& kept = out_.newest;
    for (auto& [digits, reservation] : newest_) kept.push_back(std::move(reservation));
    std::sort(kept.begin(), kept.end(), [](const core::Reservation& a, const core::Reservation& b) {
      return a.reserved_at > b.reserved_at;
    });
    if (kept.size() > Journal::kMaxRecoveredReservations) {
      kept.resize(Journal::kMaxRecoveredReservations);
    }
    newest_.clear();
    return std::exchange(out_, {});
  }

 private:
  std::unordered_map<std::uint64_t, core::Reservation> newest_;
  RecoveredAllocations out_;
};

// The series a file belongs to: its name without the segment and the suffix.
std::string SeriesOf(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  const std::string stem = name.substr(0, name.size() - kSuffix.size());
  return stem.substr(0, stem.rfind('-'));
}

// The next intact record at or after `from`, and where it starts; nullopt when none is left.
std::optional<std::pair<std::size_t, DecodedSpillRecord>> NextIntact(std::string_view bytes,
                                                                     std::size_t from) {
  for (std::size_t pos = from; pos < bytes.size(); ++pos) {
    if (auto decoded = DecodeSpillRecord(bytes.substr(pos))) {
      return std::pair{pos, std::move(*decoded)};
    }
  }
  return std::nullopt;
}

// Adds the records of one claimed file to `series`. Returns whether records were skipped in its
// middle (damage, not a crash's cut: that is only ever the last record).
bool ReadRecords(std::string_view bytes, const std::string& path, SeriesRecords& series,
                 RecoveredBacklog& out) {
  bool damaged = false;
  std::size_t pos = kSpillFileMagic.size();
  while (pos < bytes.size()) {
    auto decoded = DecodeSpillRecord(bytes.substr(pos));
    if (!decoded) {
      // Damage (a bad sector, a stray write) spoils one record: those after it are read still.
      auto next = NextIntact(bytes, pos + 1);
      if (!next) {
        spdlog::warn(
            "postgres journal: backlog file {}: {} bytes after the last intact record "
            "ignored (cut short by a crash)",
            path, bytes.size() - pos);
        out.ignored_bytes += bytes.size() - pos;
        break;
      }
      spdlog::error(
          "postgres journal: backlog file {} is damaged: {} bytes at offset {} skipped; the "
          "records after them are read",
          path, next->first - pos, pos);
      out.ignored_bytes += next->first - pos;
      damaged = true;
      pos = next->first;
      decoded = std::move(next->second);
    }
    pos += decoded->size;
    std::visit(
        [&](auto& record) {
          using T = std::decay_t<decltype(record)>;
          if constexpr (std::is_same_v<T, SpilledAppend>) {
            series.appends.push_back(std::move(record));
          } else if constexpr (std::is_same_v<T, SpilledLog>) {
            series.logs.push_back(std::move(record));
          } else {
            series.done.done_seq = std::max(series.done.done_seq, record.done_seq);
            series.done.logs_done = std::max(series.done.logs_done, record.logs_done);
          }
        },
        decoded->record);
  }
  return damaged;
}

// Adds what no checkpoint of the series covers to `out`, rows once each, and the series with
// their numbering (its last file is out.files' last); notes every allocation of it.
void TakeUncommitted(SeriesRecords& series, RecoveredBacklog& out, AllocationNotes& notes) {
  RecoveredBacklog::Series taken;
  // After a failed write the journal copies its queue again: in append order, once.
  std::stable_sort(series.appends.begin(), series.appends.end(),
                   [](const SpilledAppend& a, const SpilledAppend& b) { return a.seq < b.seq; });
  for (SpilledAppend& append : series.appends) {
    notes.Note(append.entries);
    if (append.seq <= series.done.done_seq) continue;
    if (!taken.seqs.empty() && taken.seqs.back() == append.seq) continue;
    taken.seqs.push_back(append.seq);
    out.appends.push_back(std::move(append.entries));
  }
  // A batch's rows put back after a lost connection are spilled again: in row order, once.
  std::stable_sort(series.logs.begin(), series.logs.end(),
                   [](const SpilledLog& a, const SpilledLog& b) { return a.index < b.index; });
  std::unordered_set<std::uint64_t> seen;
  for (SpilledLog& log : series.logs) {
    if (log.index >= series.done.logs_done && seen.insert(log.index).second) {
      taken.log_indexes.push_back(log.index);
      out.logs.push_back(std::move(log.row));
    }
  }
  series = {};
  if (taken.seqs.empty() && taken.log_indexes.empty()) return;
  taken.last_file = out.files.back().get();
  out.series.push_back(std::move(taken));
}

}  // namespace

core::Result<std::unique_ptr<BacklogSpill>> BacklogSpill::Create(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return core::Fail(core::Error::Unavailable("cannot create the backlog directory " + dir + ": " +
                                               ec.message()));
  }
  return Make(dir, NewSeries(), 0);
}

core::Result<std::unique_ptr<BacklogSpill>> BacklogSpill::Next() const {
  return Make(dir_, series_, segment_ + 1);
}

core::Result<std::unique_ptr<BacklogSpill>> BacklogSpill::Make(const std::string& dir,
                                                               const std::string& series,
                                                               std::uint32_t segment) {
  // Made under a name recovery ignores, locked, then renamed: a starting instance never sees it
  // unlocked and takes it for an orphan.
  const std::string name = SegmentName(series, segment);
  const std::string temp = dir + "/." + name + ".new";
  const std::string path = dir + "/" + name + std::string(kSuffix);
  const int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return core::Fail(FileError("cannot create", temp, errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || !WriteAll(fd, kSpillFileMagic) ||
      ::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return core::Fail(FileError("cannot prepare", path, error));
  }
  std::unique_ptr<BacklogSpill> spill(new BacklogSpill(fd, path, kSpillFileMagic.size()));
  spill->dir_ = dir;
  spill->series_ = series;
  spill->segment_ = segment;
  return spill;
}

BacklogSpill::~BacklogSpill() {
  if (!removed_ && !HasRecords()) ::unlink(path_.c_str());
  ::close(fd_);
}

core::Result<void> BacklogSpill::Write(std::string_view records) {
  if (WriteAll(fd_, records)) {
    size_ += records.size();
    return {};
  }
  const int error = errno;
  // No partial record: the next write starts on a record boundary.
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
    spdlog::error("postgres journal: cannot cut {} back after a failed write: {}", path_,
                  std::strerror(errno));
  }
  return core::Fail(FileError("cannot write", path_, error));
}

core::Result<void> BacklogSpill::Clear() {
  if (!HasRecords()) return {};
  if (::ftruncate(fd_, static_cast<off_t>(kSpillFileMagic.size())) != 0) {
    return core::Fail(FileError("cannot clear", path_, errno));
  }
  size_ = kSpillFileMagic.size();
  return {};
}

void BacklogSpill::Remove() {
  if (removed_) return;
  removed_ = true;
  if (damaged_) {  // kept for whoever looks into it, under a name recovery does not read
    const std::string kept = path_ + ".damaged";
    if (::rename(path_.c_str(), kept.c_str()) == 0) {
      spdlog::warn("postgres journal: the damaged backlog file is kept as {}", kept);
      return;
    }
  }
  if (::unlink(path_.c_str()) != 0) {
    spdlog::error("postgres journal: cannot delete {}: {}", path_, std::strerror(errno));
  }
}

SpillCheckpoint CheckpointOf(const RecoveredBacklog::Series& series, std::size_t appends,
                             std::size_t logs) {
  return {appends > 0 ? series.seqs[appends - 1] : 0,
          logs > 0 ? series.log_indexes[logs - 1] + 1 : 0};
}

core::Result<RecoveredBacklog> RecoverBacklogs(const std::string& dir) {
  RecoveredBacklog out;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  std::vector<std::string> paths;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(kPrefix) && name.ends_with(kSuffix)) paths.push_back(it->path().string());
    // A file being made (Create) that its process left before the rename: it holds no record.
    if (name.starts_with(kTempPrefix) && name.ends_with(".new")) {
      if (const int fd = ClaimOrphan(it->path().string()); fd >= 0) {
        ::unlink(it->path().c_str());
        ::close(fd);
      }
    }
  }
  if (ec) {
    return core::Fail(
        core::Error::Unavailable("cannot list the backlog directory " + dir + ": " + ec.message()));
  }
  // A series' files are next to each other, in their order.
  std::sort(paths.begin(), paths.end());
  SeriesRecords series;
  AllocationNotes notes;
  std::string series_name;
  for (const std::string& path : paths) {
    const int fd = ClaimOrphan(path);
    if (fd < 0) continue;  // a live instance's, or written and deleted meanwhile
    std::string bytes;
    if (!ReadAll(fd, bytes) || !bytes.starts_with(kSpillFileMagic)) {
      spdlog::error(
          "postgres journal: backlog file {} is unreadable or of another version; left "
          "as it is",
          path);
      ::close(fd);
      continue;
    }
    if (SeriesOf(path) != series_name) {
      TakeUncommitted(series, out, notes);
      series_name = SeriesOf(path);
    }
    const bool damaged = ReadRecords(bytes, path, series, out);
    out.files.push_back(std::unique_ptr<BacklogSpill>(new BacklogSpill(fd, path, bytes.size())));
    out.files.back()->damaged_ = damaged;
  }
  TakeUncommitted(series, out, notes);
  out.allocations = notes.Take();
  return out;
}

}  // namespace cidrotor::store::postgres
