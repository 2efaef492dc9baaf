// The local copy of a degraded PostgreSQL journal's backlog (postgres_journal.h), so that an
// instance killed while PostgreSQL is down loses none of what it acknowledged: its next start on
// the same directory (or any instance's start there) reads the file and writes its entries.
//
// One series of files per running journal, `<dir>/backlog-<pid>-<random>-<segment>.spill`, each
// locked (flock) while the journal holds it, so that instances sharing a directory never take each
// other's; a file nobody holds is an orphan, left by a process that died. The journal starts the
// next segment when one grows past a size, and deletes a full one once the backlog it holds is
// committed: under traffic that PostgreSQL takes only just as fast, a degraded spell lasts, and one
// file would grow with everything written since it began. Records (spill_codec.h) are appended with
// one write() each round, before the appends they hold are acknowledged: a write() survives the
// process (kill -9), like the embedded store's commits (SQLite's synchronous=NORMAL); a power
// loss may take the last ones, as it may take the embedded store's.
//
// Thread-safety: none; the journal calls it under its mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/journal.h"
#include "store/postgres/spill_codec.h"

namespace cidrotor::store::postgres {

struct RecoveredBacklog;

class BacklogSpill {
 public:
  // Creates the first file of a new series in `dir` (and `dir` when missing), locked, holding the
  // header only. Errors: kUnavailable naming the path.
  [[nodiscard]] static core::Result<std::unique_ptr<BacklogSpill>> Create(const std::string& dir);
  // The series' next file (recovery reads a series' files in this order). Errors: as Create.
  [[nodiscard]] core::Result<std::unique_ptr<BacklogSpill>> Next() const;

  BacklogSpill(const BacklogSpill&) = delete;
  BacklogSpill& operator=(const BacklogSpill&) = delete;
  // Closes the file (releasing the lock) and deletes it when it holds no records: a file left
  // behind is a backlog for the next start.
  ~BacklogSpill();

  // Appends encoded records (EncodeSpillRecord) in one write. Errors: kUnavailable (disk full, I/O
  // error); the file is then cut back to what it held, so no partial record stays.
  [[nodiscard]] core::Result<void> Write(std::string_view records);
  // Drops every record: the backlog they held is committed.
  [[nodiscard]] core::Result<void> Clear();
  bool HasRecords() const { return size_ > kSpillFileMagic.size(); }
  std::uint64_t size() const { return size_; }
  // Deletes the file now (a recovered backlog that is written); a damaged one is renamed
  // `<path>.damaged` instead.
  void Remove();
  const std::string& path() const { return path_; }

 private:
  BacklogSpill(int fd, std::string path, std::uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  // The file `series`-`segment` in `dir`.
  static core::Result<std::unique_ptr<BacklogSpill>> Make(const std::string& dir,
                                                          const std::string& series,
                                                          std::uint32_t segment);
  friend core::Result<RecoveredBacklog> RecoverBacklogs(const std::string& dir);

  int fd_ = -1;
  std::string path_;
  std::uint64_t size_ = 0;
  bool removed_ = false;
  bool damaged_ = false;  // recovered with records skipped in its middle: Remove() keeps it  //
                          // Where Next() makes the following file; unset for a recovered file.
  std::string dir_;
  std::string series_;
  std::uint32_t segment_ = 0;
};

// The backlogs of journals that died with one: every orphan file of a directory, claimed (locked,
// so no other starting instance reads it too) and read.
struct RecoveredBacklog {
  // Each file's appends that no checkpoint says are committed, in their order, file after file.
  std::vector<std::vector<JournalEntry>> appends;
  // Likewise the api_logs rows (each once).
  std::vector<ApiLogEntry> logs;
  // The files, to Remove() once all of it is committed and checked.
  std::vector<std::unique_ptr<BacklogSpill>> files;
  // Every allocation of the files, committed or not (a file whose backlog was written, and whose
  // check of Redis (Journal::TakeRecoveredAllocations) its instance did not live to run, holds
  // nothing to write, and the check still to run).
  RecoveredAllocations allocations;
  // Bytes ignored: past the last intact record of a file (a record cut short by a crash), or
  // skipped in its middle (damage; the records after are read).
  std::uint64_t ignored_bytes = 0;

  // Each series read, in the order of its appends and rows in `appends` and `logs`: their
  // numbering in its files, so that the journal writing them can checkpoint its progress there
  // (killed meanwhile, the next start skips what it wrote).
  struct Series {
    BacklogSpill* last_file = nullptr;       // one of `files`: checkpoints go there
    std::vector<std::uint64_t> seqs;         // of its appends taken, ascending
    std::vector<std::uint64_t> log_indexes;  // of its rows taken, ascending
  };
  std::vector<Series> series;
};

// The checkpoint of a series of which the first `appends` appends and `logs` rows taken are
// committed.
SpillCheckpoint CheckpointOf(const RecoveredBacklog::Series& series, std::size_t appends,
                             std::size_t logs);

// Claims and reads the orphans of `dir` (none when it does not exist). A file of another format
// version, or one that cannot be read, is left where it is and logged. A damaged record is
// skipped: the next intact one is looked for byte by byte (the frame's CRC-32 tells).
// Errors: kUnavailable when `dir` cannot be listed.
[[nodiscard]] core::Result<RecoveredBacklog> RecoverBacklogs(const std::string& dir);

}  // namespace cidrotor::store::postgres
