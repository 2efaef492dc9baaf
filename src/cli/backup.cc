#include "cli/backup.h"

#include <ostream>

#include "cli/init_db.h"
#include "store/sqlite/backup.h"

namespace cidrotor::cli {

int RunBackup(const BackupOptions& options, std::ostream& out, std::ostream& err) {
  const std::string source = (options.data_dir / kDatabaseFileName).string();
  if (IsStoreFile(options.data_dir, options.output)) {
    err << "cidrotor backup: " << options.output
        << " is the store itself (FILE is where the copy goes): name another file\n";
    return 2;
  }
  auto copied = store::sqlite::BackupDatabase(source, options.output);
  if (!copied) {
    err << "cidrotor backup: " << copied.error().detail() << "\n";
    return 1;
  }
  out << "backup written: " << options.output << " (" << copied->numbers << " numbers, "
      << copied->pages << " pages) from " << source << "\n";
  return 0;
}

}  // namespace cidrotor::cli
