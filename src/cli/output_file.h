// The FILE a command writes (export's CSV, backup's copy), replaced only once the new content is
// complete: it is written beside FILE as FILE.partial, synced, and renamed over FILE at the end,
// so an export or backup that fails halfway (a full disk, a kill) leaves the previous FILE as it
// was rather than a truncated one that would still import. A symbolic link is followed: the file
// it names is replaced and the link stays. A FILE that exists and is not a regular file (a
// device such as /dev/null, a FIFO, /dev/stdout) is not renamed over, which as root would
// replace the device node itself: a stream is written in place where the command allows it,
// refused otherwise.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "core/result.h"

namespace cidrotor::cli {

class OutputFile {
 public:
  enum class Streams { kWrittenInPlace, kRefused };

  // Prepares `file`: creates FILE.partial (an old one removed) with the mode `mode` or, when
  // none is given, the mode of the FILE it replaces (a new FILE: 0666 less the umask).
  // Errors: kInvalidArgument for a directory, or a stream where `streams` refuses one;
  // kUnavailable when FILE.partial cannot be created (naming it and why).
  [[nodiscard]] static core::Result<OutputFile> Prepare(const std::string& file, Streams streams,
                                                        std::optional<mode_t> mode = {});

  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();  // not committed: FILE.partial is removed, FILE left as it was

  // Where to write the content: FILE.partial, or FILE itself for a stream.
  const std::string& write_path() const { return write_path_; }
  bool is_stream() const { return stream_; }

  // Syncs FILE.partial and renames it over FILE (nothing to do for a stream).
  // Errors: kUnavailable naming the file and why.
  [[nodiscard]] core::Result<void> Commit();

 private:
  OutputFile(std::string target, std::string write_path, bool stream);

  std::string target_;      // FILE, its symbolic links followed
  std::string write_path_;  // FILE.partial, or FILE for a stream
  bool stream_ = false;
  bool done_ = false;
};

}  // namespace cidrotor::cli
