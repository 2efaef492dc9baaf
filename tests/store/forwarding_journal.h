// A Journal that hands every call to a shared MemoryJournal, for tests that change one behaviour
// of a journal (override that method) or let several stores share one journal, as two `serve`
// processes share PostgreSQL.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "store/journal.h"
#include "store/memory/memory_journal.h"

namespace cidrotor::store {

class ForwardingJournal : public Journal {
 public:
  explicit ForwardingJournal(std::shared_ptr<MemoryJournal> journal)
      : journal_(std::move(journal)) {}
  core::Result<LoadSummary> Load(core::TimePoint now, LoadSink& sink) override {
    return journal_->Load(now, sink);
  }
  void Append(std::vector<JournalEntry> entries, Durable on_durable) override {
    journal_->Append(std::move(entries), std::move(on_durable));
  }
  void ListLogs(LogQuery query, Callback<std::vector<StoredLog>> done) override {
    journal_->ListLogs(query, std::move(done));
  }
  void ListReservations(ReservationQuery query, core::TimePoint now,
                        Callback<std::vector<ReservationRecord>> done) override {
    journal_->ListReservations(query, now, std::move(done));
  }
  void QueryLookup(LookupQuery query, core::TimePoint now, Callback<LookupData> done) override {
    journal_->QueryLookup(query, now, std::move(done));
  }
  void QueryAnswerStats(AnswerStatsQuery query, Callback<AnswerStats> done) override {
    journal_->QueryAnswerStats(query, std::move(done));
  }
  void PruneHistory(PruneCutoffs cutoffs, Callback<PruneResult> done) override {
    journal_->PruneHistory(cutoffs, std::move(done));
  }
  std::size_t QueueDepth() const override { return journal_->QueueDepth(); }
  bool Healthy() const override { return journal_->Healthy(); }
  bool Reachable() override { return journal_->Reachable(); }
  bool Flush() override { return journal_->Flush(); }

 private:
  std::shared_ptr<MemoryJournal> journal_;
};

}  // namespace cidrotor::store
