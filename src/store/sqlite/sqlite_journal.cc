#include "store/sqlite/sqlite_journal.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <exception>
#include <utility>
#include <variant>

#include "store/journal_support.h"
#include "store/sqlite/queries.h"
#include "store/sqlite/schema.h"

namespace cidrotor::store {
namespace {

constexpr std::string_view kWho = "sqlite journal";

sqlite::Durability DurabilityOf(const SqliteOptions& options) {
  return options.synchronous_full ? sqlite::Durability::kFull : sqlite::Durability::kNormal;
}

core::Result<sqlite::Database> OpenConnection(const SqliteOptions& options,
                                              sqlite::Database::Access access) {
  auto db = sqlite::Database::Open(options.path, access);
  if (!db) return db;
  auto ok = sqlite::ConfigureConnection(*db, access, DurabilityOf(options), options.busy_timeout);
  if (!ok) return core::Fail(ok.error());
  return db;
}

// Names the database file in an error, once: the operator must learn which file failed.
core::Error WithPath(const core::Error& error, const std::string& path) {
  if (error.detail().find(path) != std::string::npos) return error;
  return core::Error::Unavailable("database " + path + ": " + error.detail());
}

}  // namespace

core::Result<std::unique_ptr<SqliteJournal>> SqliteJournal::Open(SqliteOptions options) {
  if (options.path.empty() || options.path == ":memory:" || options.path.starts_with("file:")) {
    return core::Fail(core::Error::InvalidArgument(
        "path", "the SQLite journal needs a database file path, not '" + options.path + "'"));
  }
  auto write_db = OpenConnection(options, sqlite::Database::Access::kReadWrite);
  if (!write_db) return core::Fail(WithPath(write_db.error(), options.path));
  auto before = sqlite::Migrate(*write_db);
  if (!before) return core::Fail(WithPath(before.error(), options.path));
  if (*before != sqlite::kSchemaVersion) {
    spdlog::info("sqlite journal: migrated {} from schema version {} to {}", options.path, *before,
                 sqlite::kSchemaVersion);
  }
  auto writer = sqlite::BatchWriter::Create(*write_db);
  if (!writer) return core::Fail(WithPath(writer.error(), options.path));
  // Opened after the writer switched the file to WAL, so the read-only connection finds it so.
  auto read_db = OpenConnection(options, sqlite::Database::Access::kReadOnly);
  if (!read_db) return core::Fail(WithPath(read_db.error(), options.path));
  auto scan_db = OpenConnection(options, sqlite::Database::Access::kReadOnly);
  if (!scan_db) return core::Fail(WithPath(scan_db.error(), options.path));
  return std::unique_ptr<SqliteJournal>(new SqliteJournal(std::move(options), std::move(*write_db),
                                                          std::move(*writer), std::move(*read_db),
                                                          std::move(*scan_db)));
}

SqliteJournal::SqliteJournal(SqliteOptions options, sqlite::Database write_db,
                             sqlite::BatchWriter writer, sqlite::Database read_db,
                             sqlite::Database scan_db)
    : options_(std::move(options)),
      write_db_(std::move(write_db)),
      writer_(std::move(writer)),
      read_db_(std::move(read_db)),
      scan_db_(std::move(scan_db)) {
  reader_ = std::make_unique<SerialWorker>(std::max<std::size_t>(1, options_.max_pending_reads));
  scanner_ = std::make_unique<SerialWorker>(std::max<std::size_t>(1, options_.max_pending_reads));
  writer_thread_ = std::thread([this] { WriterLoop(); });
}

SqliteJournal::~SqliteJournal() {
  Flush();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  writer_thread_.join();
  // Both stop (running what they accepted) before either goes: a task of one may post to the
  // other.
  reader_->Stop();
  scanner_->Stop();
  reader_.reset();
  scanner_.reset();
  // The members then go in reverse order: read_db_, the writer's statements, and write_db_ last,
  // as the last connection to close checkpoints the WAL into the database file.
}

core::Result<LoadSummary> SqliteJournal::Load(core::TimePoint now, LoadSink& sink) {
  auto db = OpenConnection(options_, sqlite::Database::Access::kReadOnly);
  if (!db) return core::Fail(WithPath(db.error(), options_.path));
  auto version = sqlite::ReadSchemaVersion(*db);
  if (!version) return core::Fail(WithPath(version.error(), options_.path));
  if (*version != sqlite::kSchemaVersion) {
    return core::Fail(core::Error::Unavailable(
        "database " + options_.path + ": schema version " + std::to_string(*version) +
        " changed under this process (expected " + std::to_string(sqlite::kSchemaVersion) + ")"));
  }
  auto summary = sqlite::LoadState(*db, now, sink);
  if (!summary) return core::Fail(WithPath(summary.error(), options_.path));
  return summary;
}

void SqliteJournal::Append(std::vector<JournalEntry> entries, Durable on_durable) {
  const bool log_only = IsLogOnly(entries);
  const std::size_t count = entries.size();
  bool dropped = false;
  bool stopped = false;
  {
    std::lock_guard lock(mu_);
    if (stop_) {
      stopped = true;
    } else if (log_only && QueuedLocked() + count > options_.max_log_queue) {
      dropped = true;
    } else {
      queue_.push_back(Pending{std::move(entries), std::move(on_durable), ++appended_seq_});
      pending_entries_ += count;
    }
  }
  if (stopped) {
    CallSafely(kWho, on_durable,
               core::Fail(core::Error::Unavailable("sqlite journal: shutting down")));
    return;
  }
  if (dropped) {
    CountDroppedLogs(count);
    CallSafely(kWho, on_durable,
               core::Fail(core::Error::Unavailable("sqlite journal: queue full, log row dropped")));
    return;
  }
  work_cv_.notify_one();
}

void SqliteJournal::CountDroppedLogs(std::size_t count) {
  // Overload: log rows are the one thing allowed to go, so allocations never wait for them.
  const std::uint64_t total = dropped_logs_.fetch_add(count) + count;
  if (total == count || total / 10'000 != (total - count) / 10'000) {
    spdlog::warn("sqlite journal: write queue full, {} api_logs rows dropped so far", total);
  }
}

void SqliteJournal::AppendLog(ApiLogEntry entry) {
  bool kept = false;
  {
    std::lock_guard lock(mu_);
    if (!stop_ && QueuedLocked() < options_.max_log_queue) {
      logs_.push_back(std::move(entry));
      kept = true;
    }
  }
  if (!kept) {
    CountDroppedLogs(1);
    return;
  }
  work_cv_.notify_one();
}

namespace {
// Log rows a buffer keeps room for between bursts.
constexpr std::size_t kKeptLogCapacity = 4'096;
}  // namespace

void SqliteJournal::WriterLoop() {
  std::vector<Pending> batch;
  std::vector<ApiLogEntry> logs;
  std::unique_lock lock(mu_);
  while (true) {
    const auto work = [this] { return stop_ || !queue_.empty() || !logs_.empty() || prune_; };
    if (retry_.empty()) {
      work_cv_.wait(lock, work);
    } else {
      work_cv_.wait_until(lock, retry_at_, work);
    }
    // Kept releases first, so that a batch after them (which may allocate their numbers again)
    // commits after them when both can.
    if (!retry_.empty() && (stop_ || std::chrono::steady_clock::now() >= retry_at_)) {
      RetryReleases(lock);
      continue;
    }
    if (queue_.empty() && logs_.empty()) {
      if (!stop_) {  // only a prune is due, or nothing yet (a retry's wait)
        if (prune_) PruneStep(lock);
        continue;
      }
      if (prune_) {  // everything has been written; a pass under way ends here
        prune_.reset();
        auto done = std::move(prune_done_);
        lock.unlock();
        CallSafely(kWho, done,
                   core::Fail(core::Error::Unavailable("sqlite journal: shutting down")));
      }
      return;
    }
    std::size_t entries = 0;
    while (!queue_.empty() && (batch.empty() || entries + queue_.front().entries.size() <=
                                                    options_.max_batch_entries)) {
      entries += queue_.front().entries.size();
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    logs.swap(logs_);  // the writer's emptied buffer goes back, capacity and all
    writing_logs_ = logs.size();
    const bool stopping = stop_;
    lock.unlock();

    std::vector<Pending> kept;
    CommitBatch(batch, logs, stopping ? nullptr : &kept);
    const std::uint64_t last_seq = batch.empty() ? 0 : batch.back().seq;
    batch.clear();
    // A burst grows both log buffers (they take turns) up to max_log_queue rows, ~180 bytes
    // each: 35 MB at the default, a third of a million numbers' memory. Once commits are small
    // again each buffer is given back on its turn.
    if (logs.capacity() > kKeptLogCapacity && logs.size() < kKeptLogCapacity / 4) {
      std::vector<ApiLogEntry> smaller;
      smaller.reserve(kKeptLogCapacity);
      logs.swap(smaller);
    }
    logs.clear();

    lock.lock();
    pending_entries_ -= entries;
    KeepForRetryLocked(kept, /*retried=*/false);
    writing_logs_ = 0;
    if (last_seq != 0) done_seq_ = last_seq;
    done_cv_.notify_all();
    // Under load, a chunk every kPruneEvery at most: its commit (and fsync) is not added to
    // every batch's. While idle the loop above prunes without a pause.
    if (prune_ && std::chrono::steady_clock::now() >= next_prune_chunk_) {
      next_prune_chunk_ = std::chrono::steady_clock::now() + kPruneEvery;
      PruneStep(lock);
    }
  }
}

void SqliteJournal::PruneHistory(PruneCutoffs cutoffs, Callback<PruneResult> done) {
  std::unique_lock lock(mu_);
  if (stop_ || prune_) {
    lock.unlock();
    CallSafely(kWho, done,
               core::Fail(core::Error::Unavailable(stop_ ? "sqlite journal: shutting down"
                                                         : "sqlite journal: already pruning")));
    return;
  }
  prune_ = cutoffs;
  prune_done_ = std::move(done);
  pruned_ = {};
  lock.unlock();
  work_cv_.notify_one();
}

void SqliteJournal::PruneStep(std::unique_lock<std::mutex>& lock) {
  const PruneCutoffs cutoffs = *prune_;
  lock.unlock();
  SetWriterBusyTimeout(/*patient=*/false);
  writing_since_.store(std::chrono::steady_clock::now().time_since_epoch().count());
  auto chunk = writer_.PruneChunk(cutoffs, kPruneChunkRows);
  writing_since_.store(0);
  lock.lock();
  core::Result<PruneResult> outcome = pruned_;
  if (!chunk) {
    outcome = core::Fail(WithPath(chunk.error(), options_.path));
  } else {
    pruned_.api_logs += chunk->api_logs;
    pruned_.reservations += chunk->reservations;
    // api_logs: on while a chunk found any (a younger row among the lowest ids only thins a
    // chunk); reservations come by reserved_until, so a short chunk is the end.
    if (chunk->api_logs > 0 || chunk->reservations == kPruneChunkRows) return;
    outcome = pruned_;
  }
  prune_.reset();
  auto done = std::move(prune_done_);
  lock.unlock();
  CallSafely(kWho, done, std::move(outcome));
  lock.lock();
}

void SqliteJournal::SetWriterBusyTimeout(bool patient) {
  const auto busy_timeout =
      failed_at_.load() != 0 && !patient
          ? std::min(options_.busy_timeout, options_.busy_timeout_after_failure)
          : options_.busy_timeout;
  if (busy_timeout == writer_busy_timeout_) return;
  writer_busy_timeout_ = busy_timeout;
  sqlite3_busy_timeout(write_db_.handle(), static_cast<int>(busy_timeout.count()));
}

void SqliteJournal::RetryReleases(std::unique_lock<std::mutex>& lock) {
  std::vector<Pending> releases = std::exchange(retry_, {});
  std::size_t entries = 0;
  for (const Pending& p : releases) entries += p.entries.size();
  const bool stopping = stop_;
  lock.unlock();
  std::vector<Pending> kept;
  CommitBatch(releases, {}, stopping ? nullptr : &kept, /*retry=*/true);
  lock.lock();
  pending_entries_ -= entries;
  KeepForRetryLocked(kept, /*retried=*/true);
}

void SqliteJournal::KeepForRetryLocked(std::vector<Pending>& kept, bool retried) {
  if (kept.empty()) return;
  const bool first = retry_.empty() && !retried;
  std::size_t entries = 0;
  for (Pending& p : kept) {
    entries += p.entries.size();
    retry_.push_back(std::move(p));
  }
  pending_entries_ += entries;
  retry_at_ = std::chrono::steady_clock::now() + options_.retry_releases_every;
  if (first) {
    spdlog::warn(
        "sqlite journal: {} releases not written: tried again every {} ms for up to {:g} s, on "
        "their own",
        entries, options_.retry_releases_every.count(),
        static_cast<double>(options_.retry_releases_for.count()) / 1000.0);
  }
  kept.clear();
}

void SqliteJournal::CommitBatch(std::vector<Pending>& batch, const std::vector<ApiLogEntry>& logs,
                                std::vector<Pending>* kept, bool retry) {
  std::vector<const JournalEntry*> entries;
  for (const Pending& p : batch) {
    for (const JournalEntry& e : p.entries) entries.push_back(&e);
  }
  if (entries.empty() && logs.empty()) {  // only empty appends (barriers): nothing to write
    for (const Pending& p : batch) CallSafely(kWho, p.on_durable, core::Result<void>());
    return;
  }
  // Log rows alone keep the full wait: nobody waits on them (allocations are refused while the
  // journal is stalled), and one whose wait spans the moment the lock is let go is the commit
  // that ends the stall.
  SetWriterBusyTimeout(/*patient=*/entries.empty());
  writing_since_.store(std::chrono::steady_clock::now().time_since_epoch().count());
  core::Result<void> result = FileStillThere();
  if (result) result = writer_.WriteBatch(entries, logs);
  writing_since_.store(0);
  if (result) {
    batches_committed_.fetch_add(1);
    entries_committed_.fetch_add(entries.size() + logs.size());
    failed_at_.store(0);
    if (!healthy_.exchange(true)) spdlog::info("sqlite journal: commits succeed again");
  } else if (retry) {
    // Neither unhealthy nor stalled for it: the appends' own commits tell whether the database
    // can be written (one release that can never be written must not stop allocation).
    batches_failed_.fetch_add(1);
    result = core::Fail(WithPath(result.error(), options_.path));
  } else {
    batches_failed_.fetch_add(1);
    failed_at_.store(std::chrono::steady_clock::now().time_since_epoch().count());
    healthy_.store(false);
    spdlog::error("sqlite journal: commit of {} entries and {} log rows failed, rolled back: {}",
                  entries.size(), logs.size(), result.error().ToString());
    result = core::Fail(WithPath(result.error(), options_.path));
  }
  const auto now = std::chrono::steady_clock::now();
  for (Pending& p : batch) {
    if (!result && kept != nullptr && IsReleaseOnly(p.entries)) {
      if (p.failed_since == std::chrono::steady_clock::time_point{}) p.failed_since = now;
      if (now - p.failed_since < options_.retry_releases_for) {
        kept->push_back(std::move(p));
        continue;
      }
    }
    CallSafely(kWho, p.on_durable, result);
  }
}

bool SqliteJournal::Flush() {
  if (std::this_thread::get_id() == writer_thread_.get_id()) {
    spdlog::error("sqlite journal: Flush() called from an on_durable callback; not waiting");
    return false;
  }
  std::unique_lock lock(mu_);
  if (!stop_) {
    // A barrier: the writer takes the log rows buffered so far together with it.
    queue_.push_back(Pending{{}, {}, ++appended_seq_});
    work_cv_.notify_one();
  }
  const std::uint64_t target = appended_seq_;
  done_cv_.wait(lock, [&] { return done_seq_ >= target; });
  return healthy_.load();
}

std::size_t SqliteJournal::QueuedLocked() const {
  return pending_entries_ + writing_logs_ + logs_.size();
}

std::size_t SqliteJournal::QueueDepth() const {
  std::lock_guard lock(mu_);
  return QueuedLocked();
}

bool SqliteJournal::Healthy() const { return healthy_.load(); }

bool SqliteJournal::Stalled() const {
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  const std::int64_t failed = failed_at_.load(std::memory_order_relaxed);
  if (failed != 0 &&
      now - std::chrono::steady_clock::duration(failed) < options_.failed_commit_hold) {
    return true;
  }
  const std::int64_t since = writing_since_.load(std::memory_order_relaxed);
  if (since == 0) return false;
  return now - std::chrono::steady_clock::duration(since) > options_.stall_limit;
}

core::Result<void> SqliteJournal::FileStillThere() {
  // Before every commit: a stat(2) of the path, ~1 us against the commit's fsync. Checked once a
  // second, every commit but the one that found the file gone went on into it: thousands of
  // allocations acknowledged a second under load, and gone at the next start.
  int moved = 0;
  if (sqlite3_file_control(write_db_.handle(), "main", SQLITE_FCNTL_HAS_MOVED, &moved) ==
          SQLITE_OK &&
      moved != 0) {
    // Committing on would write into a deleted (or replaced) file: every change acknowledged
    // from now on would be gone at the next start, which would find no store (or another one).
    return core::Fail(core::Error::Unavailable(
        "the database file was deleted, renamed or replaced while in use: commits stop; restore "
        "it (or restart to open what is at the path now)"));
  }
  return {};
}

template <class T, class Query>
void SqliteJournal::PostRead(Callback<T> done, Query query, ReadKind kind) {
  // `done` is shared so that it is still ours to call when Post refuses the task.
  auto shared_done = std::make_shared<Callback<T>>(std::move(done));
  SerialWorker& worker = kind == ReadKind::kScan ? *scanner_ : *reader_;
  sqlite::Database& db = kind == ReadKind::kScan ? scan_db_ : read_db_;
  const bool posted = worker.Post([this, &db, shared_done, query = std::move(query)] {
    core::Result<T> result = query(db);
    if (!result && result.error().code() == core::ErrorCode::kUnavailable) {
      result = core::Fail(WithPath(result.error(), options_.path));
    }
    CallSafely(kWho, *shared_done, std::move(result));
  });
  if (!posted) {
    CallSafely(kWho, *shared_done,
               core::Fail(core::Error::Unavailable("sqlite journal: too many reads waiting")));
  }
}

void SqliteJournal::ListLogs(LogQuery query, Callback<std::vector<StoredLog>> done) {
  PostRead(std::move(done), [query](sqlite::Database& db) { return sqlite::QueryLogs(db, query); });
}

void SqliteJournal::QueryCoverage(CoverageQuery query, Callback<CoverageData> done) {
  PostRead(
      std::move(done), [query](sqlite::Database& db) { return sqlite::QueryCoverage(db, query); },
      ReadKind::kScan);
}

void SqliteJournal::QueryActivity(ActivityQuery query, Callback<ActivityData> done) {
  PostRead(
      std::move(done), [query](sqlite::Database& db) { return sqlite::QueryActivity(db, query); },
      ReadKind::kScan);
}

void SqliteJournal::QueryAnswerStats(AnswerStatsQuery query, Callback<AnswerStats> done) {
  PostRead(
      std::move(done),
      [query](sqlite::Database& db) { return sqlite::QueryAnswerStats(db, query); },
      ReadKind::kScan);
}

void SqliteJournal::QueryLookup(LookupQuery query, core::TimePoint now, Callback<LookupData> done) {
  PostRead(std::move(done),
           [query, now](sqlite::Database& db) { return sqlite::QueryLookup(db, query, now); });
}

void SqliteJournal::ListReservations(ReservationQuery query, core::TimePoint now,
                                     Callback<std::vector<ReservationRecord>> done) {
  PostRead(std::move(done), [query, now](sqlite::Database& db) {
    return sqlite::QueryReservations(db, query, now);
  });
}

}  // namespace cidrotor::store
