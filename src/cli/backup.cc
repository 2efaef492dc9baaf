#include "cli/backup.h"

#include <filesystem>
#include <ostream>

#include "cli/init_db.h"
#include "cli/output_file.h"
#include "store/sqlite/backup.h"

namespace cidrotor::cli {

int RunBackup(const BackupOptions& options, std::ostream& out, std::ostream& err) {
  const std::string source = (options.data_dir / kDatabaseFileName).string();
  if (IsStoreFile(options.data_dir, options.output)) {
    err << "cidrotor backup: " << options.output
        << " is the store itself (FILE is where the copy goes): name another file\n";
    return 2;
  }
  if (!std::filesystem::exists(source)) {
    err << "cidrotor backup: no database at " << source
        << " (is --data-dir / CIDROTOR_DATA_DIR the one serve uses?)\n";
    return 1;
  }
  // The copy holds the call history: its owner's alone, whatever the umask or the mode of the
  // backup it replaces. A device or pipe is refused: a database is no stream.
  auto output = OutputFile::Prepare(options.output, OutputFile::Streams::kRefused, 0600);
  if (!output) {
    err << "cidrotor backup: " << output.error().detail() << "\n";
    return output.error().code() == core::ErrorCode::kInvalidArgument ? 2 : 1;
  }
  auto copied = store::sqlite::BackupDatabase(source, output->write_path());
  core::Result<void> committed = copied ? output->Commit() : core::Result<void>{};
  if (!copied || !committed) {
    err << "cidrotor backup: " << (copied ? committed.error() : copied.error()).detail() << "\n";
    return 1;
  }
  out << "backup written: " << options.output << " (" << copied->numbers << " numbers, "
      << copied->pages << " pages) from " << source << "\n";
  return 0;
}

}  // namespace cidrotor::cli
