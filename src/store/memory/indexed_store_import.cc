// IndexedStore::ImportNumbers (store/memory/indexed_store.h): the running server's bulk import.
//
// The items are applied in chunks of kChunk: under mu_, each chunk upserts its numbers into the
// index (NumberIndex::Load, which builds no view) and appends their NumberUpserted entries to the
// journal as ONE append, so the group commit writes a chunk in one transaction and the journal's
// order stays the index's. Between chunks mu_ is released, so allocation never waits for more than
// one chunk (about a millisecond) to be applied. One chunk is in the journal at a time: the next
// is applied when the previous one is durable (on the journal's thread), so an allocation queued
// meanwhile waits for at most one chunk's commit, not for a whole batch of them (a 1M-row import
// over HTTP put p99 of /next-cid at 370 ms when every chunk of a batch was queued at once). `done`
// runs once every chunk is durable. A chunk whose commit fails is undone in memory (new numbers
// removed, changed ones restored), the chunks after it are not applied, and the import reports
// kUnavailable; chunks committed before it stay (like the CLI's batches, a rerun completes them).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "core/warm_up.h"
#include "store/deleted_usage.h"
#include "store/memory/indexed_store.h"

namespace cidrotor::store {
namespace {

constexpr std::size_t kChunk = 8192;

// What a number was before the import touched it, to undo a chunk that failed to commit.
struct Previous {
  core::PhoneNumber caller_id;
  std::optional<core::NumberView> view;  // nullopt: the number was new
  std::optional<DeletedUsage> kept;      // what was kept of it, deleted, and it took back
};

}  // namespace

// One import's state, shared by its chunks, which run one after another: the first on the
// caller's thread, each next one on the journal's thread once the one before is durable.
struct ImportRun {
  std::vector<ImportItem> items;
  OnDuplicate on_duplicate = OnDuplicate::kUpdate;
  // Chunks in caller_id order: each chunk's rows then sit together in SQLite's B-tree, so the
  // writer touches few pages per transaction (in file order a million rows took 10x as long).
  std::vector<std::pair<std::uint64_t, std::size_t>> order;
  std::size_t next = 0;              // the first item of the next chunk, in `order`
  std::optional<core::Error> error;  // the first failure
  ImportResult result;
  Callback<ImportResult> done;
  // A journal may complete an append before Append returns, on the appending thread, which still
  // holds the store's lock (MemoryJournal::kInline): the completion then leaves its result here
  // for the loop to take up, rather than lock again or recurse.
  std::mutex handoff_mu;
  bool appending = false;                                 // guarded by handoff_mu
  std::optional<core::Result<void>> completed_in_append;  // guarded by handoff_mu
};

void IndexedStore::ImportNumbers(std::vector<ImportItem> items, OnDuplicate on_duplicate,
                                 Callback<ImportResult> done) {
  auto run = std::make_shared<ImportRun>();
  run->on_duplicate = on_duplicate;
  run->done = std::move(done);
  run->order.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    run->order.emplace_back(items[i].spec.caller_id.digits(), i);
  }
  std::sort(run->order.begin(), run->order.end());
  run->items = std::move(items);
  ImportNextChunk(std::move(run));
}

void IndexedStore::ImportNextChunk(std::shared_ptr<ImportRun> run) {
  // Chunks whose every row is skipped append nothing: go on to the next at once.
  while (run->next < run->order.size() && !run->error) {
    const std::size_t begin = run->next;
    const std::size_t end = std::min(run->order.size(), begin + kChunk);
    run->next = end;
    std::vector<JournalEntry> entries;
    entries.reserve(end - begin);
    auto previous = std::make_shared<std::vector<Previous>>();
    std::unique_lock lock(mu_);
    const core::TimePoint now = NowLocked();
    for (std::size_t k = begin; k < end; ++k) {
      const std::size_t i = run->order[k].second;
      ImportItem& item = run->items[i];
      const core::PhoneNumber number = item.spec.caller_id;
      std::optional<core::NumberView> before;
      core::NumberUsage usage;
      if (const auto existing = index_.UsageOf(number)) {
        if (run->on_duplicate == OnDuplicate::kSkip) {
          ++run->result.skipped;
          continue;
        }
        if (run->on_duplicate == OnDuplicate::kFail) {
          run->result.duplicates.push_back(i);
          continue;
        }
        before = index_.Find(number, now);
        usage = *existing;
        if (before) item.spec = MergedSpec(before->spec, item);  // what the row does not give
      }
      // A number deleted while its usage still mattered comes back with it, as if it had been
      // updated in place (store/deleted_usage.h RevivedUsage); only a new one arrives.
      const auto kept = before ? std::nullopt : TakeDeleted(number, now);
      if (kept) usage = kept->usage;
      if (item.last_used) core::SetLastUsed(usage, *item.last_used);
      if (!before && !kept) {
        usage = item.warm_from_day ? core::ArrivingUsage(usage, *item.warm_from_day)
                                   : index_.ArrivingUsage(usage, now);
      }
      if (item.rest_until) usage.rest_until = *item.rest_until;
      if (item.warm_from) usage.warm_from = *item.warm_from;
      if (auto loaded = index_.Load(item.spec, usage, now); !loaded) {
        // A row the index cannot hold (a 65,537th carrier): refused alone, with its reason.
        if (kept) RememberDeleted(number.digits(), *kept);
        run->result.refused.emplace_back(i, std::move(loaded.error()));
        continue;
      }
      ++(before ? run->result.updated : run->result.imported);
      previous->push_back({number, std::move(before), kept});
      entries.emplace_back(NumberUpserted{std::move(item.spec), *index_.UsageOf(number)});
    }
    if (entries.empty()) continue;
    // Undoes this chunk in memory after a failed commit. REQUIRES: mu_ held.
    const auto undo = [this, previous, run](const core::Error& error) {
      spdlog::error("store: import chunk not durable, undone: {}", error.ToString());
      const core::TimePoint undo_now = NowLocked();
      for (const Previous& p : *previous) {
        if (p.view) {
          RestoreSpec(*p.view, undo_now);
        } else {
          (void)index_.Remove(p.caller_id, undo_now);
        }
        if (p.kept) RememberDeleted(p.caller_id.digits(), *p.kept);
      }
      run->error = error;
    };
    {
      std::lock_guard handoff(run->handoff_mu);
      run->appending = true;
    }
    journal_->Append(std::move(entries), [this, run, undo](core::Result<void> durable) {
      {
        std::lock_guard handoff(run->handoff_mu);
        if (run->appending) {  // still inside Append, under mu_: the loop goes on with it
          run->completed_in_append = std::move(durable);
          return;
        }
      }
      if (!durable) {
        std::lock_guard undo_lock(mu_);
        undo(durable.error());
      }
      ImportNextChunk(run);
    });
    std::optional<core::Result<void>> completed;
    {
      std::lock_guard handoff(run->handoff_mu);
      run->appending = false;
      completed.swap(run->completed_in_append);
    }
    if (!completed) return;                     // the chunk's completion goes on
    if (!*completed) undo(completed->error());  // mu_ is still held here
  }
  auto error = std::move(run->error);
  if (error) {
    run->done(core::Fail(std::move(*error)));
  } else {
    run->done(std::move(run->result));
  }
}

}  // namespace cidrotor::store
