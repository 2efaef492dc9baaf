#include "support/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace cidrotor::test_support {
namespace {

// A port the kernel considers free right now (bind 0, read it back, close).
std::uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

int ConnectTo(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

}  // namespace

RedisServer::RedisServer() : port_(FreePort()) {
  if (port_ == 0) {
    error_ = "no free port";
    return;
  }
  Start();
}

RedisServer::~RedisServer() {
  Kill();
  ::unlink(("/tmp/" + SnapshotName()).c_str());
}

std::string RedisServer::SnapshotName() const {
  return "cidrotor-test-redis-" + std::to_string(port_) + ".rdb";
}

bool RedisServer::Start(bool from_snapshot) {
  const std::string port = std::to_string(port_);
  // The server loads its snapshot file at start, if there is one: SAVE writes only there.
  if (!from_snapshot) ::unlink(("/tmp/" + SnapshotName()).c_str());
  std::vector<std::string> args = {
      "/usr/bin/redis-server", "--port",       port,          "--bind",     "127.0.0.1",
      "--save",                "",             "--appendonly", "no",         "--loglevel",
      "warning",               "--dir",        "/tmp",         "--dbfilename", SnapshotName()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (pid < 0) {
    error_ = "fork failed";
    return false;
  }
  pid_ = pid;
  // Ready when it answers PING (bounded: 10 s, polling every 10 ms).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Command({"PING"}).rfind("+PONG", 0) == 0) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "redis-server exited at start (port " + port + " taken, or not installed)";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  error_ = "redis-server did not answer PING";
  Kill();
  return false;
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);  // also ends a paused (SIGSTOPped) server
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void RedisServer::Pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void RedisServer::Resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

bool RedisServer::Restart() {
  Kill();
  return Start();
}

bool RedisServer::SaveSnapshot() { return Command({"SAVE"}) == "+OK\r\n"; }

bool RedisServer::RestartFromSnapshot() {
  Kill();
  return Start(/*from_snapshot=*/true);
}

std::string RedisServer::Command(const std::vector<std::string>& args) const {
  const int fd = ConnectTo(port_);
  if (fd < 0) return {};
  // RESP, built with append: g++ 12 warns (-Wrestrict, a false positive) on chained operator+.
  std::string request = "*";
  request.append(std::to_string(args.size())).append("\r\n");
  for (const std::string& arg : args) {
    request.append("$").append(std::to_string(arg.size())).append("\r\n");
    request.append(arg).append("\r\n");
  }
  std::string reply;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) reply.assign(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply;
}

}  // namespace cidrotor::test_support
