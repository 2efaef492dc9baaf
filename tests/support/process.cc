#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/http_client.h"

namespace cidrotor::test_support {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(10);

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// fork + execve of the binary under test. Everything the child needs is prepared before fork():
// between fork and exec only async-signal-safe calls are allowed.
pid_t Spawn(const std::vector<std::string>& args, const Env& env, const fs::path& cwd,
            const fs::path& out_path, const fs::path& err_path,
            const fs::path& in_path = "/dev/null") {
  const std::string binary = CidrotorBinary();
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<std::string> env_storage = {"PATH=/usr/local/bin:/usr/bin:/bin"};
  for (const auto& [name, value] : env) env_storage.push_back(name + "=" + value);
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string cwd_str = cwd.string();
  const std::string out_str = out_path.string();
  const std::string err_str = err_path.string();
  const std::string in_str = in_path.string();
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid != 0) return pid;  // parent (or -1)
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  if (::chdir(cwd_str.c_str()) != 0) ::_exit(126);
  const int in = ::open(in_str.c_str(), O_RDONLY);
  const int out = ::open(out_str.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  const int err = ::open(err_str.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in < 0 || out < 0 || err < 0) ::_exit(125);
  ::dup2(in, STDIN_FILENO);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(err, STDERR_FILENO);
  ::execve(argv[0], argv.data(), envp.data());
  ::_exit(127);
}

// Waits for `pid` until `deadline`. Returns true when it exited (status in *status).
bool WaitUntil(pid_t pid, Clock::time_point deadline, int* status) {
  for (;;) {
    const pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid || r < 0) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
}

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

// The port named `key` ("http_port", "agi_port") in a ready file `{"http_port":N,...}`, 0 when
// not (yet) readable.
std::uint16_t ReadyPort(const fs::path& path, const std::string& key = "http_port") {
  const std::string text = ReadFile(path);
  const std::string quoted = "\"" + key + "\":";
  const auto at = text.find(quoted);
  if (at == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::strtoul(text.c_str() + at + quoted.size(), nullptr, 10));
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/cidrotor-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string CidrotorBinary() { return CIDROTOR_BINARY; }

CommandResult RunCidrotor(const std::vector<std::string>& args, const Env& env, const fs::path& cwd,
                          std::chrono::seconds timeout, const fs::path& stdin_path) {
  static int counter = 0;
  const std::string tag = std::to_string(++counter);
  const fs::path out_path = cwd / ("command-" + tag + ".out");
  const fs::path err_path = cwd / ("command-" + tag + ".err");
  CommandResult result;
  const pid_t pid = Spawn(args, env, cwd, out_path, err_path, stdin_path);
  if (pid < 0) return result;
  int status = 0;
  if (!WaitUntil(pid, Clock::now() + timeout, &status)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    result.timed_out = true;
  } else {
    result.exit_code = ExitCode(status);
  }
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

std::unique_ptr<ServerProcess> ServerProcess::Start(Options options, std::string* error) {
  static int counter = 0;
  const std::string tag = std::to_string(++counter);
  if (options.data_dir.empty()) options.data_dir = options.work_dir / "data";
  options.env.try_emplace("CIDROTOR_DATA_DIR", options.data_dir.string());
  options.env.try_emplace("API_PORT", "0");
  options.env.try_emplace("AGI_PORT", "0");  // parallel tests must not share the default 4573
  const fs::path ready = options.work_dir / ("ready-" + tag + ".json");
  std::vector<std::string> args = {"serve", "--ready-file", ready.string()};
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());

  std::unique_ptr<ServerProcess> server(new ServerProcess());
  server->log_path_ = options.work_dir / ("server-" + tag + ".log");
  server->pid_ = Spawn(args, options.env, options.work_dir, server->log_path_, server->log_path_);
  if (server->pid_ < 0) {
    *error = "fork failed";
    return nullptr;
  }
  const auto deadline = Clock::now() + options.ready_timeout;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
      server->pid_ = -1;
      *error = "server exited during start-up with status " + std::to_string(ExitCode(status)) +
               "\n" + server->Log();
      return nullptr;
    }
    if (server->port_ == 0) server->port_ = ReadyPort(ready);
    if (server->agi_port_ == 0) server->agi_port_ = ReadyPort(ready, "agi_port");
    if (server->port_ != 0 && HttpClient(server->port_).Get("/health").status == 200) {
      return server;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  *error = "server not ready within the deadline\n" + server->Log();
  return nullptr;  // the destructor kills it
}

ServerProcess::~ServerProcess() {
  if (running()) Kill();
}

int ServerProcess::Terminate(std::chrono::seconds timeout, int signo) {
  if (!running()) return -1;
  ::kill(pid_, signo);
  int status = 0;
  if (!WaitUntil(pid_, Clock::now() + timeout, &status)) {
    Kill();
    return -1;
  }
  pid_ = -1;
  return ExitCode(status);
}

void ServerProcess::Kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ServerProcess::Log() const { return ReadFile(log_path_); }

}  // namespace cidrotor::test_support
