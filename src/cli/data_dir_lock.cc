#include "cli/data_dir_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace cidrotor::cli {

core::Result<DataDirLock> DataDirLock::Acquire(const std::filesystem::path& data_dir,
                                               const std::string& command) {
  std::error_code made;
  std::filesystem::create_directories(data_dir, made);
  const auto path = (data_dir / kLockFileName).string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    // The directory's own failure is the cause when there is one ("Permission denied" on a
    // parent), not the lock file's "No such file or directory" that follows from it.
    if (made) {
      return core::Fail(core::Error::Unavailable(fmt::format(
          "cannot create the data directory {}: {}", data_dir.string(), made.message())));
    }
    return core::Fail(core::Error::Unavailable(
        fmt::format("cannot open lock file {}: {}", path, std::strerror(errno))));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[128] = {};
    const auto n = ::pread(fd, holder, sizeof holder - 1, 0);
    std::string who = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "another process";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    ::close(fd);
    return core::Fail(core::Error::Conflict(
        fmt::format("the data directory {} is in use by cidrotor {}", data_dir.string(), who)));
  }
  const std::string me = fmt::format("{} (pid {})\n", command, ::getpid());
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] auto written = ::pwrite(fd, me.data(), me.size(), 0);
  }
  return DataDirLock(fd);
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the flock
}

}  // namespace cidrotor::cli
