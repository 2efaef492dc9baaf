#include "cli/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

namespace cidrotor::cli {
namespace {

std::string Why() { return std::strerror(errno); }

}  // namespace

OutputFile::OutputFile(std::string target, std::string write_path, bool stream)
    : target_(std::move(target)), write_path_(std::move(write_path)), stream_(stream) {}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : target_(std::move(other.target_)),
      write_path_(std::move(other.write_path_)),
      stream_(other.stream_),
      done_(std::exchange(other.done_, true)) {}

OutputFile::~OutputFile() {
  if (!done_ && !stream_) std::remove(write_path_.c_str());
}

core::Result<OutputFile> OutputFile::Prepare(const std::string& file, Streams streams,
                                             std::optional<mode_t> mode) {
  std::string target = file;
  struct stat existing {};
  if (::stat(file.c_str(), &existing) == 0) {
    if (S_ISDIR(existing.st_mode)) {
      return core::Fail(core::Error::InvalidArgument("FILE", file + " is a directory"));
    }
    if (!S_ISREG(existing.st_mode)) {
      if (streams == Streams::kRefused) {
        return core::Fail(core::Error::InvalidArgument(
            "FILE", file + " is not a regular file (a device or a pipe): name a file"));
      }
      return OutputFile(file, file, /*stream=*/true);
    }
    std::error_code error;
    const auto resolved = std::filesystem::canonical(file, error);  // through symbolic links
    if (!error) target = resolved.string();
    if (!mode) mode = existing.st_mode & 07777;
  }
  std::string partial = target + ".partial";
  std::remove(partial.c_str());
  const int fd =
      ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode.value_or(0666));
  if (fd < 0) {
    return core::Fail(core::Error::Unavailable("cannot create " + partial + ": " + Why()));
  }
  // open() applied the umask; a mode asked for (or copied from the replaced FILE) is exact.
  if (mode) (void)::fchmod(fd, *mode);
  ::close(fd);
  return OutputFile(std::move(target), std::move(partial), /*stream=*/false);
}

core::Result<void> OutputFile::Commit() {
  done_ = true;
  if (stream_) return {};
  std::string failed;
  const int fd = ::open(write_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) failed = "cannot sync " + write_path_ + ": " + Why();
  if (fd >= 0) ::close(fd);
  if (failed.empty() && ::rename(write_path_.c_str(), target_.c_str()) != 0) {
    failed = "cannot rename " + write_path_ + " to " + target_ + ": " + Why();
  }
  if (failed.empty()) return {};
  std::remove(write_path_.c_str());
  return core::Fail(core::Error::Unavailable(failed));
}

}  // namespace cidrotor::cli
