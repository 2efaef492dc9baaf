#include "store/sqlite/backup.h"

#include <sqlite3.h>

#include <filesystem>
#include <memory>

namespace cidrotor::store::sqlite {
namespace {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, CloseDb>;

core::Error Failed(const std::string& what, const std::string& path, sqlite3* db) {
  return core::Error::Unavailable(what + " " + path + ": " +
                                  (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

core::Result<DbHandle> OpenDb(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) return core::Fail(Failed("cannot open", path, raw));
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

}  // namespace

core::Result<BackupSummary> BackupDatabase(const std::string& source, const std::string& target) {
  if (!std::filesystem::exists(source)) {
    return core::Fail(core::Error::Unavailable("no database at " + source));
  }
  auto from = OpenDb(source, SQLITE_OPEN_READONLY);
  if (!from) return core::Fail(from.error());
  BackupSummary summary;
  auto to = OpenDb(target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!to) return core::Fail(to.error());
  sqlite3_backup* backup = sqlite3_backup_init(to->get(), "main", from->get(), "main");
  if (backup == nullptr) return core::Fail(Failed("cannot start copying to", target, to->get()));
  // All pages in one step: the copy is then one read transaction of the source, consistent
  // even while serve commits (a stepwise copy would restart on every write by another
  // connection).
  const int step = sqlite3_backup_step(backup, -1);
  summary.pages = static_cast<std::uint64_t>(sqlite3_backup_pagecount(backup));
  const int finish = sqlite3_backup_finish(backup);
  if (step != SQLITE_DONE || finish != SQLITE_OK) {
    return core::Fail(Failed("cannot copy " + source + " to", target, to->get()));
  }
  sqlite3_stmt* count = nullptr;
  if (sqlite3_prepare_v2(to->get(), "SELECT count(*) FROM caller_ids", -1, &count, nullptr) ==
          SQLITE_OK &&
      sqlite3_step(count) == SQLITE_ROW) {
    summary.numbers = static_cast<std::uint64_t>(sqlite3_column_int64(count, 0));
  }
  sqlite3_finalize(count);
  return summary;
}

}  // namespace cidrotor::store::sqlite
