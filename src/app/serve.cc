#include "app/serve.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <condition_variable>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <stop_token>
#include <thread>
#include <vector>

#include "agi/agi_server.h"
#include "app/availability_alerts.h"
#include "app/store_factory.h"
#include "app/tz_calendar.h"
#include "http/server.h"
#include "net/connection_cap.h"
#include "service/auto_rest.h"
#include "service/observed_store.h"

namespace cidrotor::app {
namespace {

int ConfigError(const core::Error& error) {
  std::cerr << "cidrotor serve: " << ConfigErrorMessage(error) << "\n";
  return 2;
}

// A second SIGINT/SIGTERM/SIGHUP while shutting down: the operator wants out now.
// Async-signal-safe. When the graceful stop began (CLOCK_MONOTONIC, ns): a signal within
// kRepeatedSignal of it is the same stop delivered twice (coreutils `timeout` and `kill -- -PGID`
// signal the process and its group), not an operator's second ^C. Lock-free, so the handler may
// read it.
std::atomic<std::int64_t> stop_began_ns{0};
static_assert(std::atomic<std::int64_t>::is_always_lock_free);
constexpr std::int64_t kRepeatedSignalNs = 1'000'000'000;

std::int64_t MonotonicNs() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

extern "C" void ExitNow(int /*signo*/) {
  if (MonotonicNs() - stop_began_ns.load() < kRepeatedSignalNs) return;
  static constexpr char kMessage[] = "cidrotor: second signal, exiting now\n";
  [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  ::_exit(1);
}

void InstallExitNowHandlers() {
  stop_began_ns.store(MonotonicNs());
  struct sigaction action {};
  action.sa_handler = ExitNow;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGHUP, &action, nullptr);
}

// Writes {"http_port":N,"agi_port":M} to `path` through a temporary file and a rename, so a
// reader never sees a half-written file. Returns false (and logs) on failure.
bool WriteReadyFile(const std::filesystem::path& path, std::uint16_t port, std::uint16_t agi_port) {
  const auto tmp = std::filesystem::path(path.string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << fmt::format("{{\"http_port\":{},\"agi_port\":{}}}\n", port, agi_port);
    if (!out.flush()) {
      spdlog::error("msg=\"cannot write ready file\" path={}", tmp.string());
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    spdlog::error("msg=\"cannot write ready file\" path={} error=\"{}\"", path.string(),
                  ec.message());
    return false;
  }
  return true;
}

// A check the housekeeping thread runs every `interval` (the first one right away).
struct PeriodicJob {
  std::chrono::seconds interval;
  std::function<void(core::TimePoint now)> run;
};

// Calls store.Tick() once a second on its own thread (never on an I/O thread: a window
// roll-over may return many numbers to the available order at once), and the periodic jobs
// (the webhooks' check, the automatic rests) each at its interval.
class Housekeeping {
 public:
  Housekeeping(store::Store& store, const core::Clock& clock, std::vector<PeriodicJob> jobs)
      : thread_([this, &store, &clock, jobs = std::move(jobs)](std::stop_token stop) {
          Run(stop, store, clock, jobs);
        }) {}
  ~Housekeeping() { Stop(); }
  Housekeeping(const Housekeeping&) = delete;
  Housekeeping& operator=(const Housekeeping&) = delete;

  void Stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run(std::stop_token stop, store::Store& store, const core::Clock& clock,
           const std::vector<PeriodicJob>& jobs) {
    std::unique_lock lock(mu_);
    std::int64_t ticks = 0;
    while (!stop.stop_requested()) {
      cv_.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
      if (stop.stop_requested()) break;
      lock.unlock();
      store.Tick();
      for (const PeriodicJob& job : jobs) {
        if (ticks % job.interval.count() == 0) job.run(clock.Now());
      }
      ++ticks;
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable_any cv_;  // waits on mu_; woken by the stop token
  std::jthread thread_;             // last: starts after mu_ and cv_ exist
};

service::AutoRestOptions AutoRestOptionsFor(const Config& config) {
  service::AutoRestOptions options;
  options.rules.min_calls = config.auto_rest_min_calls;
  options.rules.threshold_percent = config.auto_rest_threshold;
  options.rules.max_share_percent = config.auto_rest_max_share;
  options.window = std::chrono::hours(config.auto_rest_window_hours);
  options.rest = std::chrono::hours(config.auto_rest_hours);
  options.interval = config.auto_rest_check_interval;
  return options;
}

// A key for the JWTs when SECRET_KEY is unset: 32 random bytes, hex. Sessions then end with the
// process, which is acceptable for the embedded single instance; clusters must set SECRET_KEY.
std::string RandomSecret() {
  std::random_device device;  // /dev/urandom on Linux
  std::string secret;
  for (int i = 0; i < 8; ++i) secret += fmt::format("{:08x}", device());
  return secret;
}

void RunIoThread(boost::asio::io_context& io) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      // Handlers are not supposed to throw; keep serving the other connections.
      spdlog::error("msg=\"exception escaped an I/O handler\" error=\"{}\"", e.what());
    }
  }
}

// Lets the process have as many file descriptors as its hard limit allows: each HTTP keep-alive
// and FastAGI connection takes one, and a login shell starts `make run` with a soft limit of
// 1,024 (the systemd unit sets 65,536 itself). Capped at Linux's default nr_open. Returns the
// limit in force.
rlim_t RaiseOpenFilesLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1'024;
  const rlim_t target = std::min<rlim_t>(limit.rlim_max, 1'048'576);
  if (limit.rlim_cur >= target) return limit.rlim_cur;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = target;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return before;
  spdlog::info("msg=\"open files limit raised\" from={} to={}", before, target);
  return target;
}

// Lowers a server's `max_connections` to its share of the open-files limit (the HTTP API half,
// FastAGI a quarter: net::ConnectionCapFor), and says so.
void CapConnections(std::size_t& max_connections, rlim_t open_files, std::size_t parts,
                    const char* server) {
  const std::size_t cap = net::ConnectionCapFor(open_files, max_connections, parts);
  if (cap >= max_connections) return;
  spdlog::warn("msg=\"{} connections capped by the open files limit\" open_files={} cap={}", server,
               open_files, cap);
  max_connections = cap;
}

}  // namespace

int RunServe(const Config& config, const ServeOptions& options) {
  // A closed stderr pipe (`serve | tee`, `| logger` restarted) must cost a log line, not the
  // process: by default a write into it ends the process with SIGPIPE, requests in flight
  // dropped, and systemd takes that death for a clean exit and does not restart it. Sockets
  // write with MSG_NOSIGNAL already.
  ::signal(SIGPIPE, SIG_IGN);
  if (auto mode = SelectMode(config); !mode) return ConfigError(mode.error());
  if (auto valid = ValidateForServe(config); !valid) return ConfigError(valid.error());
  const rlim_t open_files = RaiseOpenFilesLimit();
  auto calendar = TzCalendar::Open(config.timezone);
  if (!calendar) return ConfigError(calendar.error());
  // Before the store: a stats completion may still run on a store thread until it closes.
  auto alerts = AvailabilityAlerts::Create(config);
  if (!alerts) return ConfigError(alerts.error());

  const core::SystemClock clock;
  const unsigned threads = config.http_threads > 0
                               ? config.http_threads
                               : std::max(1U, std::thread::hardware_concurrency());
  // One io_context per I/O thread (http/server.h, session_contexts): `io` runs the acceptors,
  // the signals, the FastAGI server and a share of the HTTP connections; the others only
  // connections. Declared before the store so that they outlive it: the store's threads post
  // completions to them until the store is destroyed (and joins them).
  boost::asio::io_context io(1);
  std::vector<std::unique_ptr<boost::asio::io_context>> more_io;
  std::vector<boost::asio::io_context*> session_contexts = {&io};
  for (unsigned i = 1; i < threads; ++i) {
    more_io.push_back(std::make_unique<boost::asio::io_context>(1));
    session_contexts.push_back(more_io.back().get());
  }
  // Keeps the other contexts running while they have no connection, until the stop.
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> idle_guards;
  for (auto& context : more_io) idle_guards.push_back(boost::asio::make_work_guard(*context));
  auto opened = OpenServeStore(config, clock, **calendar);
  if (!opened) {
    if (opened.error().code() == core::ErrorCode::kInvalidArgument) {
      return ConfigError(opened.error());
    }
    spdlog::error("msg=\"cannot open the store\" error=\"{}\"", opened.error().ToString());
    return 1;
  }
  store::Store& store = *opened->store;

  // Allocation figures for /metrics and the dashboard, whichever protocol allocates.
  service::AllocationTelemetry telemetry;
  service::ObservedStore observed_store(store, clock, telemetry);

  http::ServerOptions server_options;
  server_options.admin_token = config.admin_token;
  server_options.jwt_secret = config.secret_key.empty() ? RandomSecret() : config.secret_key;
  server_options.jwt_ttl = config.jwt_ttl;
  if (config.secret_key.empty()) {
    spdlog::warn(
        "msg=\"SECRET_KEY unset: JWTs are signed with a random key and end with this process\"");
  }
  server_options.version = CIDROTOR_VERSION;
  CapConnections(server_options.max_connections, open_files, http::kOpenFilesParts, "http");
  server_options.caps = IndexOptionsFor(config);
  server_options.calendar = &**calendar;
  if (*alerts) {
    server_options.send_event = [sender = alerts->get()](std::string_view event, std::string json) {
      sender->Send(event, std::move(json));
    };
  }
  // Judged on the housekeeping thread (below); its counters are in /metrics.
  service::AutoRest auto_rest(store, AutoRestOptionsFor(config), server_options.send_event);
  http::ServerContext server_context{
      observed_store, clock, server_options, &telemetry, &auto_rest.counters(), session_contexts};
  if (*alerts) server_context.webhooks = &(*alerts)->sender();
  http::HttpServer server(io, std::move(server_context));
  agi::AgiContext agi_context{observed_store, clock, config.agi_timeout};
  CapConnections(agi_context.max_connections, open_files, agi::kOpenFilesParts, "fastagi");
  agi::AgiServer agi_server(io, std::move(agi_context));
  // Signals are caught from here on: one that arrives before the I/O threads run is queued.
  // SIGHUP too (the terminal of a `make run` closed): a graceful stop, not death mid-request.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("msg=\"stopping\" signal={}", signo);
    signals.clear();  // Asio lets go of the signals, so a second one reaches ExitNow.
    InstallExitNowHandlers();
    server.Stop();
    agi_server.Stop();
    for (auto& guard : idle_guards) guard.reset();  // their run() returns once drained
  });

  auto port = server.Listen(config.api_host, config.api_port);
  if (!port) {
    spdlog::error("msg=\"cannot listen\" address={}:{} error=\"{}\"", config.api_host,
                  config.api_port, port.error().detail());
    return 1;
  }
  auto agi_port = agi_server.Listen(AgiHost(config), config.agi_port);
  if (!agi_port) {
    spdlog::error("msg=\"cannot listen\" address={}:{} error=\"{}\"", AgiHost(config),
                  config.agi_port, agi_port.error().detail());
    return 1;
  }
  server.Start();
  agi_server.Start();
  if (!IsLoopbackHost(AgiHost(config))) {
    spdlog::warn(
        "msg=\"FastAGI listens on {} without authentication (Asterisk sends none): its lookup "
        "names campaigns, agents and leads; firewall AGI_PORT to the Asterisk servers, or set "
        "AGI_HOST\"",
        AgiHost(config));
  }
  spdlog::info(
      "msg=\"listening\" address={}:{} agi={}:{} mode={} {} timezone={} threads={} "
      "admin_token={}",
      config.api_host, *port, AgiHost(config), *agi_port,
      opened->mode == DeploymentMode::kCluster ? "cluster" : "embedded", opened->where,
      config.timezone, threads, config.admin_token.empty() ? "unset" : "set");
  if (!options.ready_file.empty() && !WriteReadyFile(options.ready_file, *port, *agi_port)) {
    return 1;
  }

  std::vector<PeriodicJob> jobs;
  if (*alerts) {
    // The first check right away sets the levels the later ones compare with.
    jobs.push_back(
        {alerts->get()->interval(),
         [&store, alerts = alerts->get()](core::TimePoint now) { alerts->Check(store, now); }});
  }
  if (auto_rest.enabled()) {
    jobs.push_back(
        {auto_rest.interval(), [&auto_rest](core::TimePoint now) { auto_rest.Check(now); }});
  }
  Housekeeping housekeeping(store, clock, std::move(jobs));
  std::vector<std::thread> pool;
  for (auto& context : more_io) {
    pool.emplace_back([context = context.get()] { RunIoThread(*context); });
  }
  RunIoThread(io);
  for (auto& t : pool) t.join();

  housekeeping.Stop();
  auto_rest.Stop();  // its completions call the store: done before the store closes
  if (!store.Flush()) {
    // The journal logged what failed; a supervisor should see this stop as a failure.
    spdlog::error("msg=\"stopped with changes not written to the store\"");
    return 1;
  }
  spdlog::info("msg=\"stopped\"");
  return 0;
}

}  // namespace cidrotor::app
