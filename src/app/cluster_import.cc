#include "app/cluster_import.h"

#include <future>
#include <vector>

#include "app/store_factory.h"
#include "store/postgres/bulk_import.h"
#include "store/postgres/postgres_journal.h"
#include "store/redis/redis_store.h"

namespace cidrotor::app {
namespace {

// The Redis store's journal during an import: loads (a Redis rebuild) and history come from
// PostgreSQL, but appends are acknowledged without writing, since the only appends an import
// makes echo rows that COPY has just committed.
class ImportedRowsJournal final : public store::Journal {
 public:
  explicit ImportedRowsJournal(std::unique_ptr<store::Journal> postgres)
      : postgres_(std::move(postgres)) {}

  core::Result<store::LoadSummary> Load(core::TimePoint now, store::LoadSink& sink) override {
    return postgres_->Load(now, sink);
  }
  void Append(std::vector<store::JournalEntry> /*entries*/, Durable on_durable) override {
    if (on_durable) on_durable(core::Result<void>());
  }
  void AppendLog(store::ApiLogEntry /*entry*/) override {}
  void ListLogs(store::LogQuery query,
                store::Callback<std::vector<store::StoredLog>> done) override {
    postgres_->ListLogs(query, std::move(done));
  }
  void ListReservations(store::ReservationQuery query, core::TimePoint now,
                        store::Callback<std::vector<store::ReservationRecord>> done) override {
    postgres_->ListReservations(query, now, std::move(done));
  }
  std::size_t QueueDepth() const override { return 0; }
  bool Healthy() const override { return true; }
  void Flush() override {}

 private:
  std::unique_ptr<store::Journal> postgres_;
};

class ClusterTarget final : public cli::ImportTarget {
 public:
  ClusterTarget(std::unique_ptr<store::Store> redis,
                std::unique_ptr<store::postgres::BulkImporter> importer,
                std::shared_ptr<std::vector<store::ImportItem>> written)
      : redis_(std::move(redis)), importer_(std::move(importer)), written_(std::move(written)) {}

  core::Result<bool> Exists(core::PhoneNumber number) override { return importer_->Exists(number); }
  core::Result<void> Add(store::ImportItem item) override {
    if (auto added = importer_->Add(std::move(item)); !added) return added;
    return FillRedis();
  }
  core::Result<void> Finish() override {
    if (auto finished = importer_->Finish(); !finished) return finished;
    return FillRedis();
  }
  const store::ImportResult& result() const override { return importer_->result(); }

 private:
  // Upserts the rows of the batches committed since the last call into Redis (as updates: they
  // are in PostgreSQL already, whatever the import's on-duplicate policy decided there).
  core::Result<void> FillRedis() {
    if (written_->empty()) return {};
    std::promise<core::Result<store::ImportResult>> promise;
    redis_->ImportNumbers(
        std::move(*written_), store::OnDuplicate::kUpdate,
        [&promise](core::Result<store::ImportResult> r) { promise.set_value(std::move(r)); });
    written_->clear();
    auto filled = promise.get_future().get();
    if (!filled) {
      return core::Fail(core::Error::Unavailable(
          "the batch is in PostgreSQL but Redis did not take it (" + filled.error().detail() +
          "); Redis gets it at its next rebuild"));
    }
    return {};
  }

  std::unique_ptr<store::Store> redis_;
  std::unique_ptr<store::postgres::BulkImporter> importer_;
  std::shared_ptr<std::vector<store::ImportItem>> written_;  // filled by on_rows_written
};

}  // namespace

core::Result<std::unique_ptr<cli::ImportTarget>> OpenClusterImportTarget(
    const Config& config, const core::Clock& clock, const core::Calendar& calendar,
    const cli::ImportOptions& options) {
  auto redis_settings = RedisSettings(config);
  if (!redis_settings) return core::Fail(std::move(redis_settings.error()));
  auto written = std::make_shared<std::vector<store::ImportItem>>();
  store::postgres::BulkImportOptions bulk;
  bulk.connection = PostgresSettings(config);
  bulk.on_duplicate = options.on_duplicate;
  bulk.batch_rows = options.batch_rows;
  bulk.on_rows_written = [written](std::span<const store::ImportItem> rows) {
    written->insert(written->end(), rows.begin(), rows.end());
  };
  auto importer = store::postgres::BulkImporter::Open(bulk);
  if (!importer) return core::Fail(std::move(importer.error()));

  store::PostgresOptions postgres;
  postgres.connection = PostgresSettings(config);
  auto journal = store::PostgresJournal::Open(postgres);
  if (!journal) return core::Fail(std::move(journal.error()));
  store::RedisStoreOptions redis_options;
  redis_options.index = IndexOptionsFor(config);
  redis_options.redis.connection = *redis_settings;
  auto redis = store::RedisStore::Open(clock, calendar, redis_options,
                                       std::make_unique<ImportedRowsJournal>(std::move(*journal)));
  if (!redis) return core::Fail(std::move(redis.error()));
  return std::unique_ptr<cli::ImportTarget>(
      new ClusterTarget(std::move(*redis), std::move(*importer), std::move(written)));
}

}  // namespace cidrotor::app
