// IndexedStore::ImportNumbers (store/memory/indexed_store.h): the running server's bulk import.
//
// The items are applied in chunks of kChunk: under mu_, each chunk upserts its numbers into the
// index (NumberIndex::Load, which builds no view) and appends their NumberUpserted entries to the
// journal as ONE append, so the group commit writes a chunk in one transaction and the journal's
// order stays the index's. Between chunks mu_ is released, so allocation never waits for more than
// one chunk (about a millisecond). `done` runs once every chunk is durable. A chunk whose commit
// fails is undone in memory (new numbers removed, changed ones restored) and the import reports
// kUnavailable; chunks committed before it stay (like the CLI's batches, a rerun completes them).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "core/warm_up.h"
#include "store/memory/indexed_store.h"

namespace cidrotor::store {
namespace {

constexpr std::size_t kChunk = 8192;

// Shared by the chunks' completions, which run on the journal's writer thread.
struct ImportProgress {
  std::mutex mu;
  std::size_t pending_chunks = 0;    // guarded by mu
  std::optional<core::Error> error;  // guarded by mu; the first failure
  ImportResult result;               // filled before any chunk completes
  Callback<ImportResult> done;
};

// What a number was before the import touched it, to undo a chunk that failed to commit.
struct Previous {
  core::PhoneNumber caller_id;
  std::optional<core::NumberView> view;  // nullopt: the number was new
};

}  // namespace

void IndexedStore::ImportNumbers(std::vector<ImportItem> items, OnDuplicate on_duplicate,
                                 Callback<ImportResult> done) {
  auto progress = std::make_shared<ImportProgress>();
  progress->done = std::move(done);
  const std::size_t chunks = (items.size() + kChunk - 1) / kChunk;
  progress->pending_chunks = chunks + 1;  // +1 held until every chunk is queued
  const auto finish_one = [progress] {
    std::unique_lock lock(progress->mu);
    if (--progress->pending_chunks > 0) return;
    auto error = std::move(progress->error);
    lock.unlock();
    if (error) {
      progress->done(core::Fail(std::move(*error)));
    } else {
      progress->done(std::move(progress->result));
    }
  };

  // Chunks in caller_id order: each chunk's rows then sit together in SQLite's B-tree, so the
  // writer touches few pages per transaction (in file order a million rows took 10x as long).
  std::vector<std::pair<std::uint64_t, std::size_t>> order;
  order.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    order.emplace_back(items[i].spec.caller_id.digits(), i);
  }
  std::sort(order.begin(), order.end());

  for (std::size_t begin = 0; begin < items.size(); begin += kChunk) {
    const std::size_t end = std::min(items.size(), begin + kChunk);
    std::vector<JournalEntry> entries;
    entries.reserve(end - begin);
    auto previous = std::make_shared<std::vector<Previous>>();
    std::unique_lock lock(mu_);
    const core::TimePoint now = NowLocked();
    for (std::size_t k = begin; k < end; ++k) {
      const std::size_t i = order[k].second;
      ImportItem& item = items[i];
      const core::PhoneNumber number = item.spec.caller_id;
      std::optional<core::NumberView> before;
      core::NumberUsage usage;
      if (const auto existing = index_.UsageOf(number)) {
        if (on_duplicate == OnDuplicate::kSkip) {
          ++progress->result.skipped;
          continue;
        }
        if (on_duplicate == OnDuplicate::kFail) {
          progress->result.duplicates.push_back(i);
          continue;
        }
        before = index_.Find(number, now);
        usage = *existing;
        if (before) item.spec = MergedSpec(before->spec, item);  // what the row does not give
      }
      if (item.last_used) usage.last_used = *item.last_used;
      if (!before) {
        usage = item.warm_from_day ? core::ArrivingUsage(usage, *item.warm_from_day)
                                   : index_.ArrivingUsage(usage, now);
      }
      if (item.rest_until) usage.rest_until = *item.rest_until;
      if (item.warm_from) usage.warm_from = *item.warm_from;
      if (auto loaded = index_.Load(item.spec, usage, now); !loaded) {
        std::lock_guard progress_lock(progress->mu);
        if (!progress->error) progress->error = loaded.error();
        continue;
      }
      ++(before ? progress->result.updated : progress->result.imported);
      previous->push_back({number, std::move(before)});
      entries.emplace_back(NumberUpserted{std::move(item.spec), *index_.UsageOf(number)});
    }
    if (entries.empty()) {
      lock.unlock();
      finish_one();
      continue;
    }
    journal_->Append(std::move(entries), [this, progress, previous, now,
                                          finish_one](core::Result<void> durable) {
      if (!durable) {
        spdlog::error("store: import chunk not durable, undone: {}", durable.error().ToString());
        {
          std::lock_guard undo_lock(mu_);
          for (const Previous& p : *previous) {
            if (p.view) {
              RestoreSpec(*p.view, now);
            } else {
              (void)index_.Remove(p.caller_id, now);
            }
          }
        }
        std::lock_guard progress_lock(progress->mu);
        if (!progress->error) progress->error = durable.error();
      }
      finish_one();
    });
  }
  finish_one();
}

}  // namespace cidrotor::store
