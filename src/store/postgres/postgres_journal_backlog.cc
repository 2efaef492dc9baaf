// PostgresJournal's backlog on disk (store/postgres/backlog_spill.h): the copy an outage's backlog
// is written to before it is acknowledged, its checkpoints and segments, and the backlog another
// process left there, queued at start-up and checked against Redis once written.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "store/journal_support.h"
#include "store/postgres/postgres_journal.h"

namespace cidrotor::store {

void PostgresJournal::QueueRecovered(postgres::RecoveredBacklog recovered) {
  recovered_allocations_ = std::move(recovered.allocations);
  if (recovered.appends.empty() && recovered.logs.empty()) {
    // Every record was committed already. Its instance may have died before it checked Redis
    // (TakeRecoveredAllocations): the check is this instance's now, and the files stay until
    // it has run.
    recovered_allocations_.written = std::chrono::steady_clock::now();
    KeepUntilChecked(std::move(recovered.files));
    if (!unchecked_files_.empty()) {
      spdlog::info(
          "postgres journal: a backlog found in {} is written already; its {} allocations are "
          "checked against Redis",
          options_.spill_dir, recovered_allocations_.allocations);
    }
    return;
  }
  std::size_t entries = 0;
  for (auto& append : recovered.appends) {
    entries += append.size();
    pending_entries_ += append.size();
    queue_.push_back(Pending{std::move(append), {}, ++appended_seq_});
  }
  logs_ = std::move(recovered.logs);
  logs_appended_ = logs_.size();
  // Acknowledged long ago, and in a file already: neither again.
  acknowledged_ = queue_.size();
  logs_spilled_ = logs_appended_;
  recovered_through_seq_ = appended_seq_;
  recovered_logs_ = logs_appended_;
  std::uint64_t seq_begin = 0;
  std::uint64_t log_begin = 0;
  for (auto& series : recovered.series) {
    const std::size_t appends = series.seqs.size();
    const std::size_t rows = series.log_indexes.size();
    recovered_series_.push_back({std::move(series), seq_begin, log_begin});
    seq_begin += appends;
    log_begin += rows;
  }
  recovered_files_ = std::move(recovered.files);
  // As after an outage: Healthy() false until the backlog is written (a Redis rebuild waits for
  // it), new appends acknowledged at once and copied.
  degraded_ = true;
  degraded_flag_.store(true);
  healthy_.store(false);
  spdlog::warn(
      "postgres journal: {} entries and {} api_logs rows found in {} backlog file(s) in {}, left "
      "by an instance that stopped while PostgreSQL was unavailable; writing them to {} first",
      entries, logs_appended_, recovered_files_.size(), options_.spill_dir, server_);
}

void PostgresJournal::AbandonBacklog(std::unique_lock<std::mutex>& lock) {
  const std::size_t entries = QueuedLocked();
  SpillLocked(/*appends=*/false);  // the log rows; appends not acknowledged are refused below
  const bool copied =
      (spill_ && (spill_->HasRecords() || !full_spills_.empty())) || !recovered_files_.empty();
  if (entries > 0 && copied) {
    spdlog::warn(
        "postgres journal: shutting down while {} is unreachable: the backlog ({} queued "
        "entries) stays in {}, written at the next start there",
        server_, entries, options_.spill_dir);
  } else if (entries > 0) {
    lost_entries_.fetch_add(entries);
    spdlog::error(
        "postgres journal: shutting down while {} is unreachable: {} queued entries "
        "were not written",
        server_, entries);
  }
  // Appends not acknowledged yet learn that they were not written.
  std::vector<Completion> completions;
  for (std::size_t i = acknowledged_; i < queue_.size(); ++i) {
    Pending& p = queue_[i];
    if (p.on_durable) {
      completions.emplace_back(
          std::exchange(p.on_durable, nullptr),
          core::Fail(core::Error::Unavailable("postgres journal: shut down before the commit")));
    }
  }
  if (!queue_.empty()) done_seq_ = queue_.back().seq;
  queue_.clear();
  logs_done_ += PendingLogsLocked();  // given up with the rest: no Flush waits for them
  logs_.clear();
  logs_head_ = 0;
  pending_entries_ = 0;
  acknowledged_ = 0;
  Complete(lock, completions);
  done_cv_.notify_all();
}

void PostgresJournal::SpillLocked(bool appends) {
  if (!spill_ && !options_.spill_dir.empty() &&
      std::chrono::steady_clock::now() >= next_spill_create_) {
    // None since Open (a full or read-only directory): another try, every few seconds.
    if (auto created = postgres::BacklogSpill::Create(options_.spill_dir); created) {
      spill_ = std::move(*created);
      spdlog::info("postgres journal: the backlog is copied to {} again", spill_->path());
    } else {
      next_spill_create_ = std::chrono::steady_clock::now() + options_.spill_retry;
      spill_failures_.fetch_add(1);
    }
  }
  if (!spill_) {
    spill_gap_ = spill_gap_ || !options_.spill_dir.empty();
    return;
  }
  spill_buffer_.clear();
  // After a gap, everything still queued (a recovered backlog's appends are in its own files).
  const bool recopy = spill_gap_;
  std::size_t from = acknowledged_;
  if (recopy) {
    from = 0;
    while (from < queue_.size() && queue_[from].seq <= recovered_through_seq_) ++from;
  }
  // Up to the appends about to be acknowledged, or (a stop) those acknowledged already.
  const std::size_t to = appends ? queue_.size() : acknowledged_;
  for (std::size_t i = from; i < to; ++i) {
    const Pending& p = queue_[i];
    if (p.entries.empty()) continue;
    postgres::EncodeSpilledAppend(p.seq, p.entries, spill_buffer_);
    spilled_seq_ = std::max(spilled_seq_, p.seq);
  }
  const std::size_t pending = PendingLogsLocked();
  const std::uint64_t first = logs_appended_ - pending;  // the cumulative index of logs_head_'s
  const std::uint64_t copy_from = recopy ? std::max(first, recovered_logs_) : logs_spilled_;
  for (std::size_t k = first < copy_from ? copy_from - first : 0; k < pending; ++k) {
    postgres::EncodeSpilledLog(first + k, logs_[logs_head_ + k], spill_buffer_);
  }
  logs_spilled_ = logs_appended_;
  if (spill_buffer_.empty()) return;
  if (auto written = spill_->Write(spill_buffer_); written) {
    spill_gap_ = false;
    if (spill_->size() >= options_.spill_segment_bytes) RotateSpillLocked();
  } else {
    spill_gap_ = true;
    // Acknowledged all the same: refusing would stop allocation for a full disk, with the backlog
    // in memory as it was before the copy existed.
    const std::uint64_t failures = spill_failures_.fetch_add(1) + 1;
    if (failures == 1 || failures % 1'000 == 0) {
      spdlog::error(
          "postgres journal: {} ({} failed writes so far): acknowledging with the backlog "
          "in memory only",
          written.error().detail(), failures);
    }
  }
}

void PostgresJournal::RotateSpillLocked() {
  auto next = spill_->Next();
  if (!next) {  // this file goes on growing
    spdlog::error("postgres journal: {}", next.error().detail());
    return;
  }
  full_spills_.push_back({std::exchange(spill_, std::move(*next)), spilled_seq_, logs_spilled_});
}

void PostgresJournal::CheckpointSpillLocked() {
  if (spill_ && spill_->HasRecords()) {
    spill_buffer_.clear();
    postgres::EncodeSpillCheckpoint({done_seq_, logs_done_}, spill_buffer_);
    (void)spill_->Write(spill_buffer_);  // lost: the restart writes a little twice, harmlessly
  }
  while (!full_spills_.empty() && full_spills_.front().last_seq <= done_seq_ &&
         full_spills_.front().logs_end <= logs_done_) {
    full_spills_.front().file->Remove();
    full_spills_.pop_front();
  }
  if (recovered_files_.empty()) return;
  // In the recovered files' own numbering: killed before the end, the next start skips it (and,
  // once it is all written, only checks it: KeepUntilChecked).
  for (RecoveredSeries& r : recovered_series_) {
    const auto within = [](std::uint64_t done, std::uint64_t begin, std::size_t size) {
      return static_cast<std::size_t>(std::clamp<std::uint64_t>(done, begin, begin + size) - begin);
    };
    const std::size_t appends = within(done_seq_, r.seq_begin, r.series.seqs.size());
    const std::size_t logs = within(logs_done_, r.log_begin, r.series.log_indexes.size());
    if (appends == r.appends_checkpointed && logs == r.logs_checkpointed) continue;
    spill_buffer_.clear();
    postgres::EncodeSpillCheckpoint(postgres::CheckpointOf(r.series, appends, logs), spill_buffer_);
    (void)r.series.last_file->Write(spill_buffer_);  // lost: written twice, as before
    r.appends_checkpointed = appends;
    r.logs_checkpointed = logs;
  }
  if (done_seq_ >= recovered_through_seq_ && logs_done_ >= recovered_logs_) {
    recovered_allocations_.written = std::chrono::steady_clock::now();
    recovered_just_written_ = !recovered_allocations_.empty();
    spdlog::info("postgres journal: the backlog found at start-up is written to {}", server_);
    recovered_series_.clear();
    KeepUntilChecked(std::exchange(recovered_files_, {}));
  }
}

RecoveredAllocations PostgresJournal::TakeRecoveredAllocations() {
  std::lock_guard lock(mu_);
  if (!recovered_files_.empty()) return {};  // not all written yet
  return std::exchange(recovered_allocations_, {});
}

void PostgresJournal::OnRecoveredBacklogWritten(std::function<void()> written) {
  bool written_already = false;
  {
    std::lock_guard lock(written_mu_);
    on_recovered_written_ = std::move(written);
  }
  {
    std::lock_guard lock(mu_);
    written_already = recovered_files_.empty() && !recovered_allocations_.empty();
  }
  if (written_already) AnnounceRecoveredWritten();
}

void PostgresJournal::AnnounceRecoveredWritten() {
  std::lock_guard lock(written_mu_);
  if (on_recovered_written_) on_recovered_written_();
}

void PostgresJournal::RecoveredBacklogChecked() {
  std::lock_guard lock(mu_);
  for (auto& file : unchecked_files_) file->Remove();
  unchecked_files_.clear();
}

void PostgresJournal::KeepUntilChecked(std::vector<std::unique_ptr<postgres::BacklogSpill>> files) {
  if (recovered_allocations_.empty()) {  // nothing to check: releases and admin changes only
    for (auto& file : files) file->Remove();
    return;
  }
  for (auto& file : files) unchecked_files_.push_back(std::move(file));
}

}  // namespace cidrotor::store
