#include "store/postgres/postgres_journal.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <iterator>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

#include "store/journal_support.h"
#include "store/postgres/queries.h"
#include "store/postgres/schema.h"

namespace cidrotor::store {
namespace {

// A batch cancelled for a conflict is written again this many times on the same connection
// before the journal treats it as an outage.
constexpr int kConflictRetries = 3;

core::Result<void> QueueFull() {
  return core::Fail(core::Error::Unavailable(
      "postgres journal: write queue full (PostgreSQL behind or unreachable)"));
}

bool InsertsAReservation(const std::vector<const JournalEntry*>& entries) {
  return std::any_of(entries.begin(), entries.end(), [](const JournalEntry* e) {
    return std::holds_alternative<ReservationMade>(*e);
  });
}

}  // namespace

core::Result<std::unique_ptr<PostgresJournal>> PostgresJournal::Open(PostgresOptions options) {
  if (options.max_queue_entries == 0) {
    return core::Fail(core::Error::InvalidArgument("max_queue_entries", "must be at least 1"));
  }
  if (options.max_batch_entries == 0) {
    return core::Fail(core::Error::InvalidArgument("max_batch_entries", "must be at least 1"));
  }
  std::unique_ptr<postgres::BacklogSpill> spill;
  postgres::RecoveredBacklog recovered;
  // A directory that cannot be read or written (full, read-only) must not stop allocation: the
  // journal goes on with its backlog in memory, as without a spill_dir, and tries the file again
  // when it degrades (SpillLocked). A full disk may hold an orphan: claiming it frees its space
  // once it is written.
  if (!options.spill_dir.empty()) {
    // Claimed before this journal's own file exists: it never reads itself.
    if (auto found = postgres::RecoverBacklogs(options.spill_dir); found) {
      recovered = std::move(*found);
    } else {
      spdlog::error("postgres journal: {}; backlogs left there are not written",
                    found.error().detail());
    }
    if (auto created = postgres::BacklogSpill::Create(options.spill_dir); created) {
      spill = std::move(*created);
    } else {
      spdlog::error(
          "postgres journal: {}; while PostgreSQL is down the backlog is kept in memory only "
          "(the file is tried again then)",
          created.error().detail());
    }
  }
  return std::unique_ptr<PostgresJournal>(
      new PostgresJournal(std::move(options), std::move(spill), std::move(recovered)));
}

PostgresJournal::PostgresJournal(PostgresOptions options,
                                 std::unique_ptr<postgres::BacklogSpill> spill,
                                 postgres::RecoveredBacklog recovered)
    : options_(std::move(options)),
      server_(postgres::DescribeServer(options_.connection)),
      spill_(std::move(spill)),
      writer_(options_.early_release_sweep),
      backoff_(options_.reconnect_min) {
  QueueRecovered(std::move(recovered));
  reader_ = std::make_unique<SerialWorker>(std::max<std::size_t>(1, options_.max_pending_reads));
  scanner_ = std::make_unique<SerialWorker>(std::max<std::size_t>(1, options_.max_pending_reads));
  writer_thread_ = std::thread([this] { WriterLoop(); });
  if (options_.commit_wait.count() > 0) watchdog_thread_ = std::thread([this] { WatchCommits(); });
}

PostgresJournal::~PostgresJournal() {
  Flush();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  watch_cv_.notify_one();
  writer_thread_.join();
  if (watchdog_thread_.joinable()) watchdog_thread_.join();
  // Stopped before it is destroyed: a task it runs meanwhile (a prune pass's chunk) may post the
  // next one, which is refused, not sent to a worker being destroyed (reset() nulls reader_ first).
  // Both stop (running what they accepted) before either goes: a task of one may post to the
  // other.
  reader_->Stop();
  scanner_->Stop();
  reader_.reset();
  scanner_.reset();
}

void PostgresJournal::Append(std::vector<JournalEntry> entries, Durable on_durable) {
  const bool log_only = IsLogOnly(entries);
  const std::size_t count = entries.size();
  bool stopped = false;
  bool dropped = false;
  bool wake = true;
  bool wake_watchdog = false;
  {
    std::lock_guard lock(mu_);
    wake_watchdog = overdue_;  // the writer is stuck: the watchdog acknowledges (or refuses)
    if (stop_) {
      stopped = true;
    } else if (count > 0 && QueuedLocked() + count > options_.max_queue_entries) {
      dropped = log_only;
      if (!log_only) refused_appends_.fetch_add(1);
      if (on_durable) refusals_.push_back(std::move(on_durable));
    } else {
      queue_.push_back(Pending{std::move(entries), std::move(on_durable), ++appended_seq_});
      pending_entries_ += count;
    }
    wake = !gathering_ || BatchFullLocked();
  }
  if (stopped) {
    CallSafely(kWho, on_durable,
               core::Fail(core::Error::Unavailable("postgres journal: shutting down")));
    return;
  }
  if (dropped) CountDroppedLogs(count);
  if (wake) work_cv_.notify_one();
  if (wake_watchdog) watch_cv_.notify_one();
}

void PostgresJournal::AppendLog(ApiLogEntry entry) {
  bool kept = false;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (!stop_ && QueuedLocked() < options_.max_queue_entries) {
      logs_.push_back(std::move(entry));
      ++logs_appended_;
      kept = true;
      wake = !gathering_ || BatchFullLocked();
    }
  }
  if (!kept) {
    CountDroppedLogs(1);
    return;
  }
  if (wake) work_cv_.notify_one();
}

void PostgresJournal::CountDroppedLogs(std::size_t count) {
  // Overload: log rows are the one thing allowed to go, so allocations never wait for them.
  const std::uint64_t total = dropped_logs_.fetch_add(count) + count;
  if (total == count || total / 10'000 != (total - count) / 10'000) {
    spdlog::warn("postgres journal: write queue full, {} api_logs rows dropped so far", total);
  }
}

void PostgresJournal::WriterLoop() {
  std::vector<Completion> completions;
  std::vector<ApiLogEntry> logs;
  std::unique_lock lock(mu_);
  while (true) {
    // No `continue` after completing: under traffic every round of acknowledgements finds new
    // appends, and looping back would never get to write the backlog. Everything below reads
    // the state afresh after the lock was released.
    TakeRefusalsLocked(completions);
    if (degraded_) TakeAcknowledgementsLocked(completions);
    Complete(lock, completions);
    if (PendingLogsLocked() == 0) CompleteLeadingEmptyLocked(completions);
    Complete(lock, completions);
    if (queue_.empty() && PendingLogsLocked() == 0) {
      if (stop_) return;
      const auto woken = [this] {
        return stop_ || !queue_.empty() || PendingLogsLocked() != 0 || !refusals_.empty();
      };
      if (options_.idle_probe.count() == 0) {
        work_cv_.wait(lock, woken);
      } else if (!work_cv_.wait_for(lock, options_.idle_probe, woken)) {
        ProbeIdle(lock);
      }
      continue;
    }
    if (!write_conn_.is_open() || write_conn_.Lost()) {
      if (!stop_ && std::chrono::steady_clock::now() < next_connect_) {
        // Backing off; wake early for appends to acknowledge (a state, not an event: one that
        // came while the lock was released must not wait for the backoff) or for the stop.
        // Log rows too: those of requests that change nothing (a 503, a 429) are acknowledged by
        // nobody, and would wait for the backoff before they are copied.
        work_cv_.wait_until(lock, next_connect_, [&] {
          return stop_ || !refusals_.empty() ||
                 (degraded_ && (acknowledged_ < queue_.size() ||
                                (spill_ != nullptr && logs_spilled_ < logs_appended_)));
        });
        continue;
      }
      if (stop_ && reconnects_after_stop_++ >= kReconnectsAfterStop) {
        // A server that takes connections but loses every batch would hold the stop forever:
        // a few more tries, then the backlog is given up (and logged), as for a server that is
        // down.
        AbandonBacklog(lock);
        return;
      }
      lock.unlock();
      const bool connected = ConnectWriter();
      lock.lock();
      if (!connected) {
        if (stop_) {
          AbandonBacklog(lock);
          return;
        }
        next_connect_ = std::chrono::steady_clock::now() + backoff_;
        backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
        continue;
      }
      backoff_ = options_.reconnect_min;
    }
    if (unconfirmed_ && !ResolveUnconfirmed(lock, logs)) continue;
    GatherLocked(lock);
    std::size_t count = 0;
    std::size_t entries = 0;
    // A replay carries what the cut-off batch carried, no append sent for the first time.
    const bool replaying = replay_ == postgres::Replay::kYes;
    // Likewise a recovered backlog's (written as a replay too).
    const bool recovering = !queue_.empty() && queue_.front().seq <= recovered_through_seq_;
    while (count < queue_.size() &&
           (count == 0 || entries + queue_[count].entries.size() <= options_.max_batch_entries) &&
           !(replaying && queue_[count].seq > replay_through_seq_) &&
           !(recovering && queue_[count].seq > recovered_through_seq_)) {
      entries += queue_[count].entries.size();
      ++count;
    }
    if (logs_head_ == 0 && logs_.size() <= options_.max_batch_log_rows) {
      logs.swap(logs_);  // the writer's emptied buffer goes back, capacity and all
    } else {
      TakeFrontLogsLocked(options_.max_batch_log_rows, logs);
    }
    writing_logs_ = logs.size();
    WriteFront(lock, count, logs);
    logs.clear();
  }
}

void PostgresJournal::TakeFrontLogsLocked(std::size_t rows, std::vector<ApiLogEntry>& logs) {
  rows = std::min(rows, PendingLogsLocked());
  const auto first = logs_.begin() + static_cast<std::ptrdiff_t>(logs_head_);
  logs.assign(std::make_move_iterator(first),
              std::make_move_iterator(first + static_cast<std::ptrdiff_t>(rows)));
  // The taken rows' slots stay until the front is a large share of the buffer: erasing them
  // each time moved the whole backlog per batch (a million rows after an outage), under mu_.
  logs_head_ += rows;
  if (logs_head_ == logs_.size()) {
    logs_.clear();
    logs_head_ = 0;
  } else if (logs_head_ >= options_.max_batch_log_rows && logs_head_ * 2 >= logs_.size()) {
    logs_.erase(logs_.begin(), logs_.begin() + static_cast<std::ptrdiff_t>(logs_head_));
    logs_head_ = 0;
  }
}

bool PostgresJournal::BatchFullLocked() const {
  return pending_entries_ + PendingLogsLocked() >= options_.max_batch_entries;
}

void PostgresJournal::GatherLocked(std::unique_lock<std::mutex>& lock) {
  const auto now = std::chrono::steady_clock::now();
  if (options_.gather_window.count() == 0 || degraded_ || stop_ ||
      appends_around_commit_ < kGatherMinAppends || now - last_commit_ >= options_.gather_window) {
    return;
  }
  gathering_ = true;
  work_cv_.wait_until(lock, now + options_.gather_window,
                      [this] { return stop_ || BatchFullLocked(); });
  gathering_ = false;
}

bool PostgresJournal::ConnectWriter() {
  write_conn_ = postgres::Connection();
  auto conn =
      postgres::Connection::Open(options_.connection, [this] { AcknowledgeWhileWaiting(); });
  core::Result<void> ready;
  if (!conn) {
    ready = core::Fail(conn.error());
  } else {
    // A server that hangs now is the commit watchdog's, as a hung commit is: appends waiting
    // meanwhile are answered after commit_wait, not after the statement deadline.
    SetWritingSince(std::chrono::steady_clock::now());
    if (auto migrated = postgres::Migrate(*conn); !migrated) {
      ready = core::Fail(migrated.error());
    } else {
      ready = postgres::BatchWriter::PrepareStatements(*conn);
    }
    SetWritingSince(std::nullopt);
  }
  if (!ready) {
    std::lock_guard lock(mu_);
    EnterDegradedLocked(ready.error());
    return false;
  }
  write_conn_ = std::move(*conn);
  return true;
}

void PostgresJournal::SetWritingSince(
    std::optional<std::chrono::steady_clock::time_point> since) {
  std::lock_guard lock(mu_);
  writing_since_ = since;
  if (!since) overdue_ = false;
}

bool PostgresJournal::ResolveUnconfirmed(std::unique_lock<std::mutex>& lock,
                                         std::vector<ApiLogEntry>& logs) {
  const UnconfirmedBatch batch = *unconfirmed_;
  std::size_t appends = 0;
  std::vector<const core::Reservation*> reservations;
  for (; appends < queue_.size() && queue_[appends].seq <= batch.last_seq; ++appends) {
    for (const JournalEntry& e : queue_[appends].entries) {
      if (const auto* made = std::get_if<ReservationMade>(&e)) {
        reservations.push_back(&made->reservation);
      }
    }
  }
  if (reservations.empty()) {  // not expected: it was remembered for having some
    unconfirmed_.reset();
    return true;
  }
  std::vector<std::uint64_t> ids;
  for (const core::Reservation* r : reservations) ids.push_back(r->id);
  std::sort(ids.begin(), ids.end());
  if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) {
    unconfirmed_.reset();  // it repeats an id of its own: it never committed, nor will
    replay_ = postgres::Replay::kNo;
    return true;
  }
  writing_since_ = std::chrono::steady_clock::now();  // a hung lookup is the watchdog's, too
  lock.unlock();
  // Only this thread removes appends from queue_: the reservations stay where they are.
  auto stored = postgres::LookUpReservations(write_conn_, reservations);
  lock.lock();
  writing_since_.reset();
  overdue_ = false;
  if (!stored) {
    if (write_conn_.Lost()) return false;  // looked up again on the next connection
    spdlog::warn("postgres journal: {}: cannot tell whether a cut-off batch was committed ({}); "
                 "writing it again",
                 server_, stored.error().ToString());
    unconfirmed_.reset();
    return true;
  }
  unconfirmed_.reset();
  if (*stored == postgres::StoredReservations::kOtherRows) {
    replay_ = postgres::Replay::kNo;  // it repeats a stored id: it never committed, nor will
    return true;
  }
  if (*stored == postgres::StoredReservations::kSome) {
    spdlog::warn("postgres journal: {}: a cut-off batch's reservations are stored in part; "
                 "writing it again",
                 server_);
  }
  // None: written again, still as a replay: the old connection's server process may not have
  // seen the loss yet and commit it late, and a replay tolerates that.
  if (*stored != postgres::StoredReservations::kStored) return true;
  spdlog::info("postgres journal: {}: the batch cut off with the connection was committed",
               server_);
  TakeFrontLogsLocked(batch.logs, logs);
  writing_logs_ = logs.size();
  WriteFront(lock, appends, logs, /*committed=*/true);
  logs.clear();
  replay_ = postgres::Replay::kNo;
  return false;  // the queue may have emptied: round the loop again
}

bool PostgresJournal::WriteFront(std::unique_lock<std::mutex>& lock, std::size_t count,
                                 std::vector<ApiLogEntry>& logs, bool committed) {
  std::vector<Pending*> batch;
  batch.reserve(count);
  for (std::size_t i = 0; i < count; ++i) batch.push_back(&queue_[i]);
  writing_since_ = std::chrono::steady_clock::now();
  lock.unlock();

  // Only this thread pops queue_: the appends stay where they are. Their callbacks are another
  // matter (the watchdog may take them), so they are taken below, under the lock.
  std::vector<const JournalEntry*> entries;
  for (const Pending* p : batch) {
    for (const JournalEntry& e : p->entries) entries.push_back(&e);
  }
  std::vector<core::Result<void>> results;  // one per handled append, when written one by one
  std::size_t handled = count;
  bool logs_written = true;
  core::Result<void> result;
  // A recovered backlog may have been committed in part before its instance died.
  const postgres::Replay mode =
      count > 0 && batch.back()->seq <= recovered_through_seq_ ? postgres::Replay::kYes : replay_;
  const bool first_attempt = mode == postgres::Replay::kNo;
  if (!committed && (!entries.empty() || !logs.empty())) {
    result = writer_.WriteBatch(write_conn_, entries, logs, mode);
    // A deadlock's victim (this batch's admin change against another instance's allocations of
    // the same numbers in the other order) or a serialization failure: PostgreSQL kept nothing
    // of it and the other transaction has its locks now, so the same batch goes again at once
    // rather than through a reconnect, a degraded spell and a replay.
    for (int retry = 0; !result && write_conn_.Conflicted() && retry < kConflictRetries; ++retry) {
      spdlog::info("postgres journal: {}: {}; writing the batch again", server_,
                   result.error().ToString());
      batches_failed_.fetch_add(1);
      result = writer_.WriteBatch(write_conn_, entries, logs, mode);
    }
  }
  if (result) {
    replay_ = postgres::Replay::kNo;
    if (!entries.empty() || !logs.empty()) {
      batches_committed_.fetch_add(1);
      entries_committed_.fetch_add(entries.size() + logs.size());
    }
  } else {
    batches_failed_.fetch_add(1);
    if (write_conn_.Lost()) {
      handled = 0;
      logs_written = false;
      replay_ = postgres::Replay::kYes;
      if (count > 0) replay_through_seq_ = std::max(replay_through_seq_, batch.back()->seq);
      if (first_attempt && InsertsAReservation(entries)) {
        unconfirmed_ = {batch.back()->seq, logs.size()};
      }
    } else {
      spdlog::error(
          "postgres journal: {} rejected a batch of {} entries and {} log rows ({}); "
          "writing it one append at a time",
          server_, entries.size(), logs.size(), result.error().ToString());
      handled = WriteOneByOne(batch, logs, results);
      logs_written = handled == count && !write_conn_.Lost();
    }
  }
  const bool lost = write_conn_.Lost();
  last_commit_ = std::chrono::steady_clock::now();

  lock.lock();
  writing_since_.reset();
  overdue_ = false;
  std::vector<Completion> completions;
  for (std::size_t i = 0; i < handled; ++i) {
    Pending& p = *batch[i];
    const core::Result<void>& outcome = results.empty() ? result : results[i];
    if (p.on_durable) {
      completions.emplace_back(std::exchange(p.on_durable, nullptr), outcome);
    } else if (!outcome) {  // acknowledged while degraded: it will never reach the tables
      lost_entries_.fetch_add(p.entries.size());
    }
  }
  std::uint64_t last_seq = 0;
  for (std::size_t i = 0; i < handled; ++i) {
    last_seq = queue_.front().seq;
    pending_entries_ -= queue_.front().entries.size();
    queue_.pop_front();
  }
  acknowledged_ = acknowledged_ > handled ? acknowledged_ - handled : 0;
  if (last_seq != 0) done_seq_ = last_seq;
  appends_around_commit_ = handled + queue_.size();
  if (!logs_written) {  // back in front of the rows that came meanwhile
    // Taken before they were copied, maybe: copied (again) with the next acknowledgements. Not
    // a recovered backlog's rows: they are in its files still.
    logs_spilled_ = std::max(recovered_logs_, std::min(logs_spilled_, logs_done_));
    if (logs_head_ >= logs.size()) {  // into the slots they were taken from
      logs_head_ -= logs.size();
      std::move(logs.begin(), logs.end(), logs_.begin() + static_cast<std::ptrdiff_t>(logs_head_));
    } else {
      logs_.insert(logs_.begin() + static_cast<std::ptrdiff_t>(logs_head_),
                   std::make_move_iterator(logs.begin()), std::make_move_iterator(logs.end()));
    }
  } else {
    logs_done_ += logs.size();
  }
  writing_logs_ = 0;
  if (handled > 0 || logs_written) CheckpointSpillLocked();
  if (lost) {
    EnterDegradedLocked(result ? core::Error::Unavailable("connection lost") : result.error());
  } else if (degraded_) {
    LeaveDegradedIfDrainedLocked();
  } else if (result && !healthy_.exchange(true)) {
    spdlog::info("postgres journal: commits succeed again");
  } else if (!result) {
    healthy_.store(false);
  }
  Complete(lock, completions);
  done_cv_.notify_all();
  if (std::exchange(recovered_just_written_, false)) {
    lock.unlock();
    AnnounceRecoveredWritten();
    lock.lock();
  }
  return !lost;
}

std::size_t PostgresJournal::WriteOneByOne(const std::vector<Pending*>& batch,
                                           std::vector<ApiLogEntry>& logs,
                                           std::vector<core::Result<void>>& results) {
  std::vector<const JournalEntry*> entries;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Pending& p = *batch[i];
    entries.clear();
    for (const JournalEntry& e : p.entries) entries.push_back(&e);
    core::Result<void> result;
    if (!entries.empty()) {
      {
        // Each transaction answered shows the server alive: the commit watchdog times the next
        // one on its own, not the whole retry of the batch.
        std::lock_guard lock(mu_);
        writing_since_ = std::chrono::steady_clock::now();
      }
      result = writer_.WriteBatch(write_conn_, entries, {}, replay_);
    }
    if (!result && write_conn_.Lost()) {
      if (replay_ == postgres::Replay::kNo && InsertsAReservation(entries)) {
        unconfirmed_ = {p.seq, 0};
      }
      replay_ = postgres::Replay::kYes;
      replay_through_seq_ = std::max(replay_through_seq_, p.seq);
      return i;
    }
    if (result) {
      entries_committed_.fetch_add(entries.size());
    } else {
      spdlog::error("postgres journal: {} rejected an append of {} entries: {}", server_,
                    entries.size(), result.error().ToString());
    }
    results.push_back(std::move(result));
  }
  if (!logs.empty()) {
    auto result = writer_.WriteBatch(write_conn_, {}, logs);
    if (!result && write_conn_.Lost()) {
      replay_ = postgres::Replay::kYes;
      return batch.size();  // the caller requeues the rows
    }
    if (result) {
      entries_committed_.fetch_add(logs.size());
    } else {
      spdlog::error("postgres journal: {} rejected {} api_logs rows: {}", server_, logs.size(),
                    result.error().ToString());
      CountDroppedLogs(logs.size());
    }
  }
  return batch.size();
}

void PostgresJournal::EnterDegradedLocked(const core::Error& why) {
  write_conn_ = postgres::Connection();
  MarkDegradedLocked(why);
}

void PostgresJournal::MarkDegradedLocked(const core::Error& why) {
  healthy_.store(false);
  if (degraded_) {
    spdlog::debug("postgres journal: still degraded ({} queued): {}", QueuedLocked(), why.detail());
    return;
  }
  degraded_ = true;
  degraded_flag_.store(true);
  spdlog::warn(
      "postgres journal: {} unavailable, degraded: appends are acknowledged at once and queued "
      "({} queued, bound {}) until it is back: {}",
      server_, QueuedLocked(), options_.max_queue_entries, why.detail());
}

void PostgresJournal::WatchCommits() {
  // Polls rather than being told of each batch: a wake-up per commit would cost the hot path.
  const auto period = std::max(options_.commit_wait / 4, std::chrono::milliseconds(1));
  std::vector<Completion> completions;
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (!overdue_ && writing_since_ &&
        std::chrono::steady_clock::now() - *writing_since_ >= options_.commit_wait) {
      overdue_ = true;
      MarkDegradedLocked(core::Error::Unavailable(
          "no answer from the server for " + std::to_string(options_.commit_wait.count()) +
          " ms"));
    }
    if (overdue_) {  // the writer is stuck in that commit: answer for it
      TakeRefusalsLocked(completions);
      TakeAcknowledgementsLocked(completions);
      Complete(lock, completions);
      // Appends wake it (Append), so they are acknowledged at once, as by the writer.
      watch_cv_.wait_for(lock, std::chrono::milliseconds(50), [this] {
        return stop_ || !overdue_ || !refusals_.empty() || acknowledged_ < queue_.size();
      });
      continue;
    }
    watch_cv_.wait_for(lock, period);
  }
}

void PostgresJournal::CompleteLeadingEmptyLocked(std::vector<Completion>& out) {
  bool any = false;
  while (!queue_.empty() && queue_.front().entries.empty()) {
    Pending& p = queue_.front();
    if (p.on_durable) out.emplace_back(std::exchange(p.on_durable, nullptr), core::Result<void>());
    done_seq_ = p.seq;
    queue_.pop_front();
    if (acknowledged_ > 0) --acknowledged_;
    any = true;
  }
  if (!any) return;
  // A Flush barrier that came while the backlog was being written is completed here, after that
  // write: degraded mode must end with it, before Flush returns.
  LeaveDegradedIfDrainedLocked();
  done_cv_.notify_all();
}

void PostgresJournal::LeaveDegradedIfDrainedLocked() {
  if (!degraded_ || !queue_.empty() || PendingLogsLocked() != 0 || !write_conn_.is_open() ||
      write_conn_.Lost()) {
    return;
  }
  degraded_ = false;
  degraded_flag_.store(false);
  healthy_.store(true);
  if (spill_) {  // all of it is committed
    if (auto cleared = spill_->Clear(); !cleared) {
      spdlog::error("postgres journal: {}", cleared.error().detail());
    }
    for (FullSpill& full : full_spills_) full.file->Remove();
    full_spills_.clear();
    logs_spilled_ = logs_appended_;
  }
  spdlog::info("postgres journal: {} is back and the backlog is written; waiting for commits again",
               server_);
}

void PostgresJournal::ProbeIdle(std::unique_lock<std::mutex>& lock) {
  const auto now = std::chrono::steady_clock::now();
  if (!write_conn_.is_open() || write_conn_.Lost()) {
    if (now < next_connect_) return;
    lock.unlock();
    const bool connected = ConnectWriter();  // degrades when it fails
    lock.lock();
    if (!connected) {
      next_connect_ = std::chrono::steady_clock::now() + backoff_;
      backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
      return;
    }
    backoff_ = options_.reconnect_min;
  } else {
    lock.unlock();
    SetWritingSince(now);  // a server that hangs is the watchdog's, as in a commit
    auto probed = write_conn_.Exec("SELECT 1", "probe the server");
    SetWritingSince(std::nullopt);
    lock.lock();
    if (!probed) {
      EnterDegradedLocked(probed.error());
      return;
    }
  }
  LeaveDegradedIfDrainedLocked();
}

void PostgresJournal::AcknowledgeWhileWaiting() {
  std::vector<Completion> completions;
  {
    std::lock_guard lock(mu_);
    TakeRefusalsLocked(completions);
    if (degraded_) TakeAcknowledgementsLocked(completions);
  }
  for (auto& [callback, result] : completions) CallSafely(kWho, callback, result);
}

void PostgresJournal::TakeRefusalsLocked(std::vector<Completion>& out) {
  for (Durable& callback : refusals_) out.emplace_back(std::move(callback), QueueFull());
  refusals_.clear();
}

void PostgresJournal::TakeAcknowledgementsLocked(std::vector<Completion>& out) {
  SpillLocked();
  for (std::size_t i = acknowledged_; i < queue_.size(); ++i) {
    Pending& p = queue_[i];
    if (p.on_durable) out.emplace_back(std::exchange(p.on_durable, nullptr), core::Result<void>());
  }
  acknowledged_ = queue_.size();
}

void PostgresJournal::Complete(std::unique_lock<std::mutex>& lock,
                               std::vector<Completion>& completions) {
  if (completions.empty()) return;
  lock.unlock();
  for (auto& [callback, result] : completions) CallSafely(kWho, callback, result);
  completions.clear();
  lock.lock();
}

bool PostgresJournal::Flush() {
  if (std::this_thread::get_id() == writer_thread_.get_id() ||
      std::this_thread::get_id() == watchdog_thread_.get_id()) {
    spdlog::error("postgres journal: Flush() called from an on_durable callback; not waiting");
    return false;
  }
  std::unique_lock lock(mu_);
  if (!stop_) {
    // A barrier: the writer takes log rows buffered so far with it (max_batch_log_rows of them;
    // the rest follow in the next batches, which Flush waits for too).
    queue_.push_back(Pending{{}, {}, ++appended_seq_});
    work_cv_.notify_one();
  }
  const std::uint64_t target = appended_seq_;
  const std::uint64_t target_logs = logs_appended_;
  if (degraded_ && gave_up_at_progress_ == done_seq_ + logs_done_ &&
      std::chrono::steady_clock::now() - gave_up_at_ < options_.degraded_flush_wait) {
    // A Flush just waited degraded_flush_wait for this server and nothing was committed since:
    // a stop that flushes at each layer (serve, store, journal) waits once, not four times.
    return false;
  }
  const auto done = [&] { return done_seq_ >= target && logs_done_ >= target_logs; };
  // While degraded, give up only when nothing is committed for degraded_flush_wait: a backlog
  // that is being written is waited for, a server that stays away is not.
  auto give_up = std::chrono::steady_clock::now() + options_.degraded_flush_wait;
  std::uint64_t progress = done_seq_ + logs_done_;
  while (!done()) {
    if (done_seq_ + logs_done_ != progress) {
      progress = done_seq_ + logs_done_;
      give_up = std::chrono::steady_clock::now() + options_.degraded_flush_wait;
    }
    if (!degraded_) {
      // Bounded too: a commit gives up after statement_timeout, and then the journal degrades.
      done_cv_.wait_for(lock, options_.reconnect_max);
      continue;
    }
    if (done_cv_.wait_until(lock, give_up) == std::cv_status::timeout &&
        done_seq_ + logs_done_ == progress && !done()) {
      spdlog::warn("postgres journal: {} still unavailable after {} ms; {} entries stay queued",
                   server_, options_.degraded_flush_wait.count(), QueuedLocked());
      gave_up_at_progress_ = progress;
      gave_up_at_ = std::chrono::steady_clock::now();
      return false;
    }
  }
  return true;
}

std::size_t PostgresJournal::QueuedLocked() const {
  return pending_entries_ + writing_logs_ + PendingLogsLocked();
}

std::size_t PostgresJournal::QueueDepth() const {
  std::lock_guard lock(mu_);
  return QueuedLocked();
}

bool PostgresJournal::Healthy() const { return healthy_.load(); }

bool PostgresJournal::Degraded() const { return degraded_flag_.load(); }

}  // namespace cidrotor::store
