// Test support: run the real `cidrotor` binary as a child process, in its own temporary working
// and data directory, with exactly the environment a test gives it (nothing inherited from the
// developer's shell, so a DATABASE_URL there cannot change the mode under test).
//
// ServerProcess starts `cidrotor serve` with API_PORT=0 and --ready-file, learns the port from
// that file and polls GET /health until it answers, within a bounded deadline (no fixed sleep).
// The child gets SIGKILL if the test process dies (PR_SET_PDEATHSIG), so a ctest timeout never
// leaves a server behind. Not thread-safe: one test thread drives a ServerProcess.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cidrotor::test_support {

using Env = std::map<std::string, std::string>;

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The binary under test (CIDROTOR_BINARY, set by CMake to $<TARGET_FILE:cidrotor>).
std::string CidrotorBinary();

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  bool timed_out = false;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `cidrotor args...` in `cwd` with environment `env` (plus a PATH) and stdin from
// `stdin_path`, and waits for it, at most `timeout` (then SIGKILL, timed_out = true).
CommandResult RunCidrotor(const std::vector<std::string>& args, const Env& env,
                          const std::filesystem::path& cwd,
                          std::chrono::seconds timeout = std::chrono::seconds(60),
                          const std::filesystem::path& stdin_path = "/dev/null");

class ServerProcess {
 public:
  struct Options {
    Env env;                              // CIDROTOR_DATA_DIR and API_PORT are set unless given
    std::filesystem::path work_dir;       // working directory (logs and ready file go here)
    std::filesystem::path data_dir;       // default: work_dir / "data"
    std::vector<std::string> extra_args;  // after `serve`
    std::chrono::seconds ready_timeout{30};
  };

  // Starts the server and waits until /health answers 200. On failure returns nullptr and sets
  // `*error` to what went wrong plus the server's log.
  static std::unique_ptr<ServerProcess> Start(Options options, std::string* error);

  ~ServerProcess();  // SIGKILL when still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  std::uint16_t agi_port() const { return agi_port_; }  // the FastAGI port (AGI_PORT=0 default)
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // `signo` (SIGTERM), then waits at most `timeout`. Returns the exit status, or -1 when the
  // process was killed by a signal or did not exit in time (it is SIGKILLed then).
  int Terminate(std::chrono::seconds timeout = std::chrono::seconds(30), int signo = SIGTERM);
  // SIGKILL and reap: the `kill -9` of a crash test.
  void Kill();
  // Everything the server wrote to stdout and stderr so far.
  std::string Log() const;

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t agi_port_ = 0;
  std::filesystem::path log_path_;
};

}  // namespace cidrotor::test_support
