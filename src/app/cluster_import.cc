#include "app/cluster_import.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include "app/store_factory.h"
#include "store/postgres/bulk_import.h"
#include "store/postgres/postgres_journal.h"
#include "store/redis/redis_store.h"

namespace cidrotor::app {
namespace {

// Rows per PostgreSQL batch at most (--batch-rows may ask fewer). Redis takes each batch while the
// next one is copied, so the import lasts about the first batch's read and COPY plus Redis's part,
// the larger one (a million new numbers, measured here: ~2 s of COPY, ~8 s of Redis CPU). The
// first batch is smaller so that Redis starts sooner; Redis takes it in about the time the second
// one needs to be read and copied, so Redis does not wait for it.
constexpr std::size_t kClusterBatchRows = 250'000;
constexpr std::size_t kClusterFirstBatchRows = 100'000;

// The serving store's 200 ms reply timeout is sized for SPEC's 503 within 500 ms; an import's
// round of pipelined 1,000-number script calls takes ~40 ms and may wait behind the other lane's
// (redis_store_import.cc), several times that on a loaded machine, and nobody waits on an answer
// meanwhile.
constexpr std::chrono::milliseconds kImportCommandTimeout{10'000};

// Between two offers of a batch Redis did not take (ImportOptions::redis_wait).
constexpr std::chrono::seconds kRedisRetryPause{1};

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
  void PruneHistory(store::PruneCutoffs cutoffs,
                    store::Callback<store::PruneResult> done) override {
    postgres_->PruneHistory(cutoffs, std::move(done));
  }
  std::size_t QueueDepth() const override { return 0; }
  bool Healthy() const override { return true; }
  bool Flush() override { return true; }

 private:
  std::unique_ptr<store::Journal> postgres_;
};

// Times one phase of the import, added up over its batches.
class Stopwatch {
 public:
  void Start() { started_ = std::chrono::steady_clock::now(); }
  void Stop() { total_ += std::chrono::steady_clock::now() - started_; }
  double seconds() const { return std::chrono::duration<double>(total_).count(); }

 private:
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::duration total_{};
};

class ClusterTarget final : public cli::ImportTarget {
 public:
  ClusterTarget(std::unique_ptr<store::Store> redis,
                std::unique_ptr<store::postgres::BulkImporter> importer,
                std::shared_ptr<std::vector<store::ImportItem>> written,
                std::chrono::seconds redis_wait, std::function<bool()> stop_requested)
      : redis_(std::move(redis)),
        importer_(std::move(importer)),
        written_(std::move(written)),
        redis_wait_(redis_wait),
        stop_requested_(std::move(stop_requested)) {}
  // An import stopped by another error may leave a batch in Redis's hands: waited for (not
  // offered again), and its failure logged, since the error reported is the other one.
  ~ClusterTarget() override {
    if (auto filled = WaitForRedis(Retry::kNo); !filled) {
      spdlog::error("cluster import: {}", filled.error().detail());
    }
  }

  core::Result<bool> Exists(core::PhoneNumber number) override { return importer_->Exists(number); }
  core::Result<void> Add(store::ImportItem item) override {
    if (auto added = Copy([&] { return importer_->Add(std::move(item)); }); !added) return added;
    return FillRedis();
  }
  core::Result<void> Finish() override {
    if (auto finished = Copy([&] { return importer_->Finish(); }); !finished) return finished;
    auto filled = FillRedis();
    if (filled) filled = WaitForRedis(Retry::kYes);
    spdlog::info("cluster import: batches={} postgres_s={:.2f} redis_s={:.2f} redis_wait_s={:.2f}",
                 batches_, postgres_.seconds(), redis_time_->seconds(), waiting_.seconds());
    return filled;
  }
  const store::ImportResult& result() const override { return importer_->result(); }

 private:
  // Runs an importer call, timing it when it wrote a batch (the rows it wrote are then waiting).
  template <class Call>
  core::Result<void> Copy(Call call) {
    postgres_.Start();
    auto copied = call();
    if (!written_->empty()) {
      postgres_.Stop();
      ++batches_;
    }
    return copied;
  }

  // Hands the rows of the batch just committed to Redis, to be upserted there (as updates: they
  // are in PostgreSQL already, whatever the import's on-duplicate policy decided there) while
  // the next batch is read and copied: Redis takes batch N during the COPY of batch N+1. Only
  // committed rows reach Redis, so an import that fails or is killed never leaves Redis a
  // number PostgreSQL lacks. First waits for the previous batch: one in Redis at a time.
  core::Result<void> FillRedis() {
    if (written_->empty()) return {};
    // Kept for another offer; copied while Redis still takes the previous batch, not after.
    std::vector<store::ImportItem> kept = *written_;
    if (auto previous = WaitForRedis(Retry::kYes); !previous) return previous;
    filling_rows_ = std::move(kept);
    OfferToRedis(std::move(*written_));
    written_->clear();
    return {};
  }

  // Gives Redis `rows`, the batch in filling_rows_ (or a copy of it).
  void OfferToRedis(std::vector<store::ImportItem> rows) {
    auto promise = std::make_shared<std::promise<core::Result<store::ImportResult>>>();
    filling_ = promise->get_future();
    redis_time_->Start();
    redis_->ImportNumbers(std::move(rows), store::OnDuplicate::kUpdate,
                          [promise, time = redis_time_](core::Result<store::ImportResult> r) {
                            time->Stop();
                            promise->set_value(std::move(r));
                          });
  }

  enum class Retry { kNo, kYes };

  // Waits for the batch Redis is taking, if any. Redis unreachable, or without its data (the
  // store's own check starts the reload from PostgreSQL, or waits for another instance's): the
  // batch is offered again every kRedisRetryPause for redis_wait_ (unless a stop is requested:
  // cli::ImportOptions::stop_requested). Again, whole: a reload
  // that read PostgreSQL before the batch was committed lacks it, and writing a row that Redis
  // already has changes nothing. Errors: kUnavailable when Redis did not take it by then.
  core::Result<void> WaitForRedis(Retry retry) {
    if (!filling_.valid()) return {};
    std::optional<std::chrono::steady_clock::time_point> deadline;
    for (;;) {
      waiting_.Start();
      auto filled = filling_.get();
      if (filled) {
        waiting_.Stop();
        if (deadline) spdlog::info("cluster import: Redis took the batch after all");
        WarnOfRefusals(filled->refused);
        filling_rows_.clear();
        return {};
      }
      const auto now = std::chrono::steady_clock::now();
      const bool first_refusal = !deadline;
      if (first_refusal) deadline = now + redis_wait_;
      const bool again =
          retry == Retry::kYes && filled.error().code() == core::ErrorCode::kUnavailable &&
          now + kRedisRetryPause <= *deadline && !(stop_requested_ && stop_requested_());
      if (!again) {
        waiting_.Stop();
        const bool stopped = stop_requested_ && stop_requested_();
        const std::string waited =
            retry == Retry::kNo ? ""
            : stopped           ? " before the import was interrupted"
                      : " within --redis-wait " + std::to_string(redis_wait_.count()) + " s";
        return core::Fail(core::Error::Unavailable(
            "a batch is in PostgreSQL but Redis did not take it" + waited + " (" +
            filled.error().detail() +
            "); rerun the same file once Redis is back (with --on-duplicate update, the default) "
            "to give Redis this batch and the ones after it, also when Redis lost its data: its "
            "reload from PostgreSQL may have read it before this batch was committed"));
      }
      if (first_refusal) {
        spdlog::warn(
            "cluster import: Redis did not take a batch of {} rows ({}); offering it "
            "again for up to {} s",
            filling_rows_.size(), filled.error().detail(), redis_wait_.count());
      }
      std::this_thread::sleep_for(kRedisRetryPause);
      waiting_.Stop();
      OfferToRedis(filling_rows_);
    }
  }

  // Rows of the batch Redis refused (their number moved, deleted or added elsewhere while the
  // batch was written there): in PostgreSQL, not in Redis until a reload; said, not hidden.
  void WarnOfRefusals(const std::vector<std::pair<std::size_t, core::Error>>& refused) {
    if (refused.empty()) return;
    std::string numbers;
    for (std::size_t k = 0; k < refused.size() && k < 5; ++k) {
      const std::size_t row = refused[k].first;
      if (row < filling_rows_.size()) {
        numbers += (numbers.empty() ? "" : ", ") + filling_rows_[row].spec.caller_id.ToString();
      }
    }
    spdlog::warn(
        "cluster import: Redis refused {} rows of a batch PostgreSQL has ({}{}): {}; rerun the "
        "file once the numbers' other changes are done",
        refused.size(), numbers, refused.size() > 5 ? ", ..." : "",
        refused.front().second.detail());
  }

  std::unique_ptr<store::Store> redis_;
  std::unique_ptr<store::postgres::BulkImporter> importer_;
  std::shared_ptr<std::vector<store::ImportItem>> written_;  // filled by on_rows_written
  std::chrono::seconds redis_wait_;
  std::function<bool()> stop_requested_;
  std::vector<store::ImportItem> filling_rows_;             // the batch Redis is taking
  std::future<core::Result<store::ImportResult>> filling_;  // its answer
  std::size_t batches_ = 0;
  Stopwatch postgres_;  // batches written (COPY and commit)
  Stopwatch waiting_;   // this thread waiting for Redis
  std::shared_ptr<Stopwatch> redis_time_ = std::make_shared<Stopwatch>();  // batches in Redis
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
  bulk.batch_rows = std::min(options.batch_rows, kClusterBatchRows);
  bulk.first_batch_rows = kClusterFirstBatchRows;
  // New numbers without a last_used warm up from today (local midnight in TIMEZONE), and Redis
  // is given the same day for them (ImportItem::warm_from_day), also when the import runs past
  // midnight. Recorded whatever WARMUP_DAYS says, as every store records it
  // (core::ArrivingUsage): the setting is applied when caps are checked.
  bulk.warm_from_today = core::ToCompact(calendar.WindowsAt(clock.Now()).day_start);
  bulk.on_rows_written = [written,
                          day = bulk.warm_from_today](std::span<const store::ImportItem> rows) {
    const std::size_t first = written->size();
    written->insert(written->end(), rows.begin(), rows.end());
    for (std::size_t i = first; i < written->size(); ++i) (*written)[i].warm_from_day = day;
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
  redis_options.redis.connection.command_timeout = kImportCommandTimeout;
  auto redis = store::RedisStore::Open(clock, calendar, redis_options,
                                       std::make_unique<ImportedRowsJournal>(std::move(*journal)));
  if (!redis) return core::Fail(std::move(redis.error()));
  return std::unique_ptr<cli::ImportTarget>(
      new ClusterTarget(std::move(*redis), std::move(*importer), std::move(written),
                        options.redis_wait, options.stop_requested));
}

}  // namespace cidrotor::app
