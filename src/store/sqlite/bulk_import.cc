#include "store/sqlite/bulk_import.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/interner.h"
#include "core/warm_up.h"
#include "store/deleted_usage.h"
#include "store/journal_support.h"
#include "store/row_codec.h"
#include "store/sqlite/queries.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_db.h"

namespace cidrotor::store::sqlite {
namespace {

// created_at is bound once per batch (compact seconds, as batch_writer.cc sets it). The row's own
// warm-up start and rest end (?13, ?12) are NULL when it has none: a new row then starts its
// warm-up today unless it comes with a last_used (?11, core::ArrivingUsage) and does not rest; an
// update keeps the number's.
constexpr std::string_view kInsert = R"sql(
INSERT OR IGNORE INTO caller_ids(caller_id, carrier, area_code, hourly_limit, daily_limit,
                                 is_active, pool, state, last_used, created_at, warm_from,
                                 rest_until)
VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, COALESCE(?13, ?11), COALESCE(?12, 0))
)sql";

// ?14: the fields the row gives (store::ImportField bits); the others keep the stored value.
constexpr std::string_view kUpdate = R"sql(
UPDATE caller_ids SET carrier = CASE WHEN ?14 & 1 THEN ?2 ELSE carrier END, area_code = ?3,
                      hourly_limit = CASE WHEN ?14 & 2 THEN ?4 ELSE hourly_limit END,
                      daily_limit = CASE WHEN ?14 & 4 THEN ?5 ELSE daily_limit END,
                      is_active = CASE WHEN ?14 & 32 THEN ?6 ELSE is_active END,
                      pool = CASE WHEN ?14 & 8 THEN ?7 ELSE pool END,
                      state = CASE WHEN ?14 & 16 THEN ?8 ELSE state END,
                      last_used = COALESCE(?9, last_used),
                      rest_until = COALESCE(?12, rest_until), warm_from = COALESCE(?13, warm_from)
WHERE caller_id = ?1
)sql";
static_assert(store::kImportCarrier == 1 && store::kImportHourlyCap == 2 &&
              store::kImportDailyCap == 4 && store::kImportPool == 8 && store::kImportState == 16 &&
              store::kImportActive == 32);

constexpr std::string_view kExists = "SELECT 1 FROM caller_ids WHERE caller_id = ?1";

// A new row of a number deleted while its usage still mattered takes that usage back
// (store/deleted_usage.h RevivedUsage).
constexpr std::string_view kRevive = R"sql(
UPDATE caller_ids SET last_used = ?2, hour_start = ?3, hourly_used = ?4, day_start = ?5,
                      daily_used = ?6, warm_from = ?7, rest_until = ?8
WHERE caller_id = ?1
)sql";

// The most distinct carrier/pool/state strings one batch holds; a batch that would need more is
// written early.
constexpr std::size_t kMaxNames = 65'535;

// One buffered row: 32 bytes, names as indexes into the batch's name table, so that a batch of a
// million rows costs 32 MB and sorting it moves small records, not specs with strings.
struct CompactRow {
  std::uint64_t digits = 0;
  core::CompactTime last_used = 0;
  core::CompactTime rest_until = 0;  // 0: none in the row (an ISO time is never the epoch)
  core::CompactTime warm_from = 0;   // with has_warm_from (0: established)
  std::uint16_t hourly_cap = 0;
  std::uint16_t daily_cap = 0;
  std::uint16_t carrier = 0;
  std::uint16_t pool = 0;
  std::uint16_t state = 0;
  bool active : 1 = true;
  bool has_last_used : 1 = false;
  bool has_warm_from : 1 = false;
  std::uint8_t given = store::kImportAllFields;  // ImportItem::given
};
static_assert(sizeof(CompactRow) == 32);

// A rest end the row had, or NULL (0: none; an ISO time never reads as the epoch).
std::optional<std::int64_t> Given(core::CompactTime t) {
  if (t == 0) return std::nullopt;
  return t;
}

std::optional<std::int64_t> CapColumn(std::uint16_t cap) {
  if (cap == 0) return std::nullopt;  // NULL: the configured default applies
  return cap;
}

}  // namespace

// The distinct carriers, pools and states of the store and of the rows added so far. The embedded
// index holds at most core::Interner::kCapacity of each ("" included), and `serve` would leave
// out the numbers of the ones past it; a row that would add one more is refused instead.
class DistinctNames {
 public:
  static constexpr const char* kColumns[] = {"carrier", "pool", "state"};

  core::Result<void> Read(Database& db) {
    for (std::size_t c = 0; c < seen_.size(); ++c) {
      seen_[c].insert("");
      auto st = db.Prepare(std::string("SELECT DISTINCT ") + kColumns[c] + " FROM caller_ids",
                           "read distinct names");
      if (!st) return core::Fail(st.error());
      for (;;) {
        auto row = st->Step();
        if (!row) return core::Fail(row.error());
        if (!*row) break;
        seen_[c].emplace(st->ColumnText(0));
      }
    }
    return {};
  }

  // Counts the row's names; refuses it (changing nothing) when one of them would be one too many.
  core::Result<void> Take(const core::NumberSpec& spec) {
    const std::string* names[] = {&spec.carrier, &spec.pool, &spec.state};
    for (std::size_t c = 0; c < seen_.size(); ++c) {
      if (seen_[c].size() >= core::Interner::kCapacity && !seen_[c].contains(*names[c])) {
        return core::Fail(core::Error::InvalidArgument(
            kColumns[c], "too many distinct values (65,536 max, counting the store's)"));
      }
    }
    for (std::size_t c = 0; c < seen_.size(); ++c) seen_[c].insert(*names[c]);
    return {};
  }

 private:
  std::array<std::unordered_set<std::string>, 3> seen_;
};

struct BulkImporter::Impl {
  BulkImportOptions options;
  DistinctNames distinct;
  Database db;  // declared before the statements: destroyed after them
  Statement begin, commit, rollback, insert, update, exists, revive;
  // Deleted numbers' usage still kept when the import started, by digits (usually none).
  std::unordered_map<std::uint64_t, core::NumberUsage> kept;
  std::vector<CompactRow> batch;
  std::vector<std::string> names;  // carrier, pool and state texts of the batch
  std::unordered_map<std::string, std::uint16_t> name_ids;

  std::uint16_t Intern(std::string& name) {
    const auto [it, inserted] =
        name_ids.try_emplace(name, static_cast<std::uint16_t>(names.size()));
    if (inserted) names.push_back(std::move(name));
    return it->second;
  }

  // Gives the row just inserted the usage kept of its number, deleted (kRevive).
  core::Result<void> Revive(const CompactRow& row, const core::NumberUsage& kept_usage);

  // Binds ?1..?9, ?12 and ?13 of kInsert / kUpdate; `last_used` NULL keeps the stored value
  // (kUpdate only).
  void Bind(Statement& st, const CompactRow& row, std::optional<std::int64_t> last_used) const {
    const auto number = core::PhoneNumber::FromValidDigits(row.digits);
    char area_code[3];
    AreaCodeText(number, area_code);
    st.BindInt64(1, static_cast<std::int64_t>(row.digits));
    st.BindTextNoCopy(2, names[row.carrier]);
    st.BindText(3, std::string_view(area_code, sizeof area_code));
    st.BindOptionalInt64(4, CapColumn(row.hourly_cap));
    st.BindOptionalInt64(5, CapColumn(row.daily_cap));
    st.BindInt64(6, row.active ? 1 : 0);
    st.BindTextNoCopy(7, names[row.pool]);
    st.BindTextNoCopy(8, names[row.state]);
    st.BindOptionalInt64(9, last_used);
    st.BindOptionalInt64(12, Given(row.rest_until));
    st.BindOptionalInt64(
        13, row.has_warm_from ? std::optional<std::int64_t>(row.warm_from) : std::nullopt);
  }
};

core::Result<void> BulkImporter::Impl::Revive(const CompactRow& row,
                                              const core::NumberUsage& kept_usage) {
  ImportItem given;  // the row's own usage fields, which go over the kept ones
  if (row.has_last_used) given.last_used = row.last_used;
  if (row.rest_until != 0) given.rest_until = row.rest_until;
  if (row.has_warm_from) given.warm_from = row.warm_from;
  revive.BindInt64(1, static_cast<std::int64_t>(row.digits));
  int column = 2;
  ForEachUsageColumn(RevivedUsage(kept_usage, given),
                     [&](std::int64_t value) { revive.BindInt64(column++, value); });
  return revive.Run();
}

BulkImporter::BulkImporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BulkImporter::~BulkImporter() = default;

core::Result<std::unique_ptr<BulkImporter>> BulkImporter::Open(BulkImportOptions options) {
  auto impl = std::make_unique<Impl>();
  auto db = Database::Open(options.path, Database::Access::kReadWrite);
  if (!db) return core::Fail(db.error());
  impl->db = std::move(*db);
  auto ok = ConfigureConnection(impl->db, Database::Access::kReadWrite,
                                options.synchronous_full ? Durability::kFull : Durability::kNormal,
                                options.busy_timeout);
  if (!ok) return core::Fail(ok.error());
  if (auto migrated = Migrate(impl->db); !migrated) return core::Fail(migrated.error());
  ok = impl->db.Exec("PRAGMA cache_size = -" + std::to_string(options.cache_kib), "set cache");
  if (!ok) return core::Fail(ok.error());
  struct Item {
    Statement* target;
    std::string_view sql;
    std::string_view what;
  };
  const Item items[] = {
      {&impl->begin, "BEGIN IMMEDIATE", "begin import batch"},
      {&impl->commit, "COMMIT", "commit import batch"},
      {&impl->rollback, "ROLLBACK", "roll back import batch"},
      {&impl->insert, kInsert, "insert caller_ids"},
      {&impl->update, kUpdate, "update caller_ids"},
      {&impl->exists, kExists, "find caller_id"},
      {&impl->revive, kRevive, "revive caller_ids"},
  };
  for (const Item& item : items) {
    auto st = impl->db.Prepare(item.sql, item.what);
    if (!st) return core::Fail(st.error());
    *item.target = std::move(*st);
  }
  ok = ReadKeptDeleted(
      impl->db, std::chrono::time_point_cast<core::Milliseconds>(std::chrono::system_clock::now()),
      [&](core::PhoneNumber caller_id, const DeletedUsage& kept) {
        impl->kept.emplace(caller_id.digits(), kept.usage);
      });
  if (!ok) return core::Fail(ok.error());
  if (auto read = impl->distinct.Read(impl->db); !read) return core::Fail(read.error());
  impl->batch.reserve(std::min<std::size_t>(options.batch_rows, 1'000'000));
  impl->options = std::move(options);
  return std::unique_ptr<BulkImporter>(new BulkImporter(std::move(impl)));
}

core::Result<bool> BulkImporter::Exists(core::PhoneNumber number) {
  Statement& st = impl_->exists;
  st.BindInt64(1, static_cast<std::int64_t>(number.digits()));
  auto row = st.Step();
  st.Reset();
  return row;
}

core::Result<void> BulkImporter::Add(ImportItem item) {
  Impl& m = *impl_;
  if (auto taken = m.distinct.Take(item.spec); !taken) return taken;
  if (m.names.size() + 3 > kMaxNames) {
    if (auto written = WriteBatch(); !written) return written;
  }
  CompactRow row;
  row.digits = item.spec.caller_id.digits();
  row.last_used = item.last_used.value_or(0);
  row.has_last_used = item.last_used.has_value();
  row.rest_until = item.rest_until.value_or(0);
  row.warm_from = item.warm_from.value_or(0);
  row.has_warm_from = item.warm_from.has_value();
  row.hourly_cap = item.spec.hourly_cap;
  row.daily_cap = item.spec.daily_cap;
  row.active = item.spec.active;
  row.carrier = m.Intern(item.spec.carrier);
  row.pool = m.Intern(item.spec.pool);
  row.state = m.Intern(item.spec.state);
  row.given = item.given;
  m.batch.push_back(row);
  if (m.batch.size() < std::max<std::size_t>(1, m.options.batch_rows)) return {};
  return WriteBatch();
}

core::Result<void> BulkImporter::Finish() {
  if (impl_->batch.empty()) return {};
  return WriteBatch();
}

core::Result<void> BulkImporter::WriteBatch() {
  Impl& m = *impl_;
  std::sort(m.batch.begin(), m.batch.end(),
            [](const CompactRow& a, const CompactRow& b) { return a.digits < b.digits; });
  const std::int64_t created_at = core::ToCompact(
      std::chrono::time_point_cast<core::Milliseconds>(std::chrono::system_clock::now()));
  ImportResult batch_result;
  auto ok = m.begin.Run();
  for (std::size_t i = 0; ok && i < m.batch.size(); ++i) {
    const CompactRow& row = m.batch[i];
    m.Bind(m.insert, row, std::int64_t{row.last_used});
    m.insert.BindInt64(10, created_at);
    core::NumberUsage arriving;
    arriving.last_used = row.last_used;
    m.insert.BindInt64(11, core::ArrivingUsage(arriving, m.options.warm_from_today).warm_from);
    ok = m.insert.Run();
    if (!ok) break;
    if (sqlite3_changes(m.db.handle()) == 1) {
      ++batch_result.imported;
      if (const auto kept = m.kept.find(row.digits); kept != m.kept.end())
        ok = m.Revive(row, kept->second);
    } else if (m.options.on_duplicate == OnDuplicate::kUpdate) {
      m.Bind(m.update, row,
             row.has_last_used ? std::optional<std::int64_t>(row.last_used) : std::nullopt);
      m.update.BindInt64(14, row.given);
      ok = m.update.Run();
      ++batch_result.updated;
    } else {
      ++batch_result.skipped;  // kSkip; kFail rows were checked by the caller
    }
  }
  if (ok) ok = m.commit.Run();
  if (!ok) (void)m.rollback.Run();  // its own error (no transaction) is not the one to report
  m.batch.clear();
  m.names.clear();
  m.name_ids.clear();
  if (!ok) return ok;
  result_.imported += batch_result.imported;
  result_.updated += batch_result.updated;
  result_.skipped += batch_result.skipped;
  if (m.options.on_batch) m.options.on_batch(result_);
  return {};
}

struct StoredNumbers::Impl {
  std::optional<Database> db;  // none: no file
  Statement exists;            // destroyed before db (declared after it)
};

StoredNumbers::StoredNumbers(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoredNumbers::~StoredNumbers() = default;

core::Result<std::unique_ptr<StoredNumbers>> StoredNumbers::Open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    auto db = Database::Open(path, Database::Access::kReadOnly);
    if (!db) return core::Fail(db.error());
    auto ok = ConfigureConnection(*db, Database::Access::kReadOnly, Durability::kNormal,
                                  std::chrono::milliseconds(5'000));
    if (!ok) return core::Fail(ok.error());
    auto st = db->Prepare(kExists, "find caller_id");
    if (!st) return core::Fail(st.error());
    impl->db = std::move(*db);
    impl->exists = std::move(*st);
  }
  return std::unique_ptr<StoredNumbers>(new StoredNumbers(std::move(impl)));
}

bool StoredNumbers::file_exists() const { return impl_->db.has_value(); }

core::Result<bool> StoredNumbers::Contains(core::PhoneNumber number) {
  if (!impl_->db) return false;
  Statement& st = impl_->exists;
  st.BindInt64(1, static_cast<std::int64_t>(number.digits()));
  auto row = st.Step();
  st.Reset();
  return row;
}

core::Result<std::uint64_t> ScanNumbers(const std::string& path, core::TimePoint now,
                                        LoadSink& sink) {
  auto db = Database::Open(path, Database::Access::kReadWrite);
  if (!db) return core::Fail(db.error());
  auto ok = ConfigureConnection(*db, Database::Access::kReadWrite, Durability::kNormal,
                                std::chrono::milliseconds(5'000));
  if (!ok) return core::Fail(ok.error());
  if (auto migrated = Migrate(*db); !migrated) return core::Fail(migrated.error());
  NumbersOnly numbers(sink);
  auto summary = LoadState(*db, now, numbers);
  if (!summary) return core::Fail(summary.error());
  return summary->numbers;
}

}  // namespace cidrotor::store::sqlite
