// The process configuration of `cidrotor`: every setting, where it comes from, and its checks.
//
// Sources, later ones winning: built-in defaults < a `.env` file in the working directory <
// the process environment (a variable set there wins over the same name in `.env`) <
// command-line flags. Every setting has one name, the environment variable of SPEC/the seed
// (`API_PORT`), and one flag derived from it (`--api-port`); the table in config.cc is the only
// list, so `--help`, `.env.example` and the README cannot drift apart silently (a unit test
// compares them). An empty value counts as unset. Bad values are reported naming the variable:
// `API_PORT: not a port number`.
//
// Plain values and pure functions; thread-compatible. ReadEnvironment() reads `environ`.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "app/dotenv.h"
#include "core/result.h"

namespace CLI {
class App;
}

namespace cidrotor::app {

struct Config {
  // API_HOST: address the HTTP API listens on. Default 127.0.0.1 (loopback only); a
  // non-loopback address requires ADMIN_TOKEN.
  std::string api_host = "127.0.0.1";
  // API_PORT: TCP port of the HTTP API. Default 8000; 0 picks a free port (tests).
  std::uint16_t api_port = 8000;
  // AGI_HOST: address the FastAGI server listens on. Default empty = API_HOST. FastAGI has no
  // authentication (Asterisk sends none), so a call center binds it to the address its Asterisk
  // reaches and keeps the HTTP API on loopback; AgiHost() resolves the default.
  std::string agi_host;
  // AGI_PORT: TCP port of the FastAGI server. Default 4573; 0 picks a free port.
  std::uint16_t agi_port = 4573;
  // AGI_TIMEOUT_MS: deadline of one FastAGI request (from its environment block to its answer);
  // past it CIDROTOR_STATUS=timeout and CALLERID(num) is left alone. Default 250 (1..10000).
  std::chrono::milliseconds agi_timeout{250};
  // DEBUG: true/false. Default false; true logs at debug level (one line per request).
  bool debug = false;
  // HTTP_THREADS: I/O threads serving HTTP. Default 0 = one per hardware thread.
  std::uint32_t http_threads = 0;

  // CIDROTOR_DATA_DIR: directory of the embedded store (cidrotor.db); in cluster mode, of the
  // PostgreSQL backlog's local copy (pg-backlog/). Default ./var.
  std::string data_dir = "./var";
  // TIMEZONE: IANA zone whose local hours and days the caps count in. Default UTC.
  std::string timezone = "UTC";

  // DATABASE_URL: PostgreSQL URL (postgresql://user:pass@host:port/db); selects cluster mode
  // together with Redis. Default empty.
  std::string database_url;
  // POSTGRES_HOST / _PORT / _USER / _PASSWORD / _DB: the seed's split PostgreSQL settings;
  // POSTGRES_HOST set means PostgreSQL is configured. Defaults: empty, 5432, empty, empty, empty.
  std::string postgres_host;
  std::uint16_t postgres_port = 5432;
  std::string postgres_user;
  std::string postgres_password;
  std::string postgres_db;
  // POSTGRES_COMMIT_WAIT_MS: longest an allocation waits for a commit PostgreSQL does not answer
  // (a hung server) before the journal degrades (store::PostgresOptions::commit_wait); 0 = the
  // statement deadline. Default 1,000 ms.
  std::chrono::milliseconds postgres_commit_wait{1'000};
  // REDIS_URL: redis://host:port; selects cluster mode together with PostgreSQL. Default empty.
  std::string redis_url;
  // REDIS_HOST / REDIS_PORT: the seed's split Redis settings. Defaults: empty, 6379.
  std::string redis_host;
  std::uint16_t redis_port = 6379;

  // ADMIN_TOKEN: bearer token of the admin endpoints. Default empty (admin endpoints refuse
  // every request; a non-loopback API_HOST refuses to start).
  std::string admin_token;
  // SECRET_KEY: HS256 key of the JWTs issued by /auth/token. Default empty: `serve` then signs
  // with a random key of its own, so JWTs do not survive a restart (nor work across instances).
  std::string secret_key;
  // JWT_TTL: seconds a JWT is valid. Default 3600 (an hour, as SPEC's example answer).
  std::chrono::seconds jwt_ttl{3600};

  // DEFAULT_RESERVATION_TTL: seconds a caller-ID stays reserved without a release. Default 300.
  std::chrono::seconds default_reservation_ttl{300};
  // DEFAULT_RATE_LIMIT_PER_AGENT: allocations per agent per sliding minute. Default 100;
  // 0 = unlimited. Agent `auto` is never limited.
  std::uint32_t default_rate_limit_per_agent = 100;
  // DEFAULT_HOURLY_LIMIT: allocations per number per local hour, for numbers without their own
  // cap. Default 100 (1..65535).
  std::uint16_t default_hourly_limit = 100;
  // DEFAULT_DAILY_LIMIT: allocations per number per local day, likewise. Default 500 (1..65535).
  std::uint16_t default_daily_limit = 500;

  // STICKY_DAYS: days a lead (`lead`, or VICIdial's call code) keeps the caller-ID it was last
  // given, when that number is eligible (the sticky tier). Default 7; 0 = no sticky tier.
  std::uint32_t sticky_days = 7;
  std::uint16_t warmup_days = 0;  // WARMUP_DAYS: 0 = new numbers do not warm up

  // Automatic resting by answer rate (core/answer_rate.h, service/auto_rest.h) and the probation
  // after every rest (core/probation.h).
  // AUTO_REST_MAX_SHARE: percent of a pool's active numbers that may rest at once. Default 10;
  // 0 = no automatic rests.
  std::uint32_t auto_rest_max_share = 10;
  // AUTO_REST_MIN_CALLS: judged calls (answered or not picked up) in the window before a number's
  // answer rate counts. Default 30.
  std::uint32_t auto_rest_min_calls = 30;
  // AUTO_REST_THRESHOLD: a number is rested when its answer rate is below this percent of its
  // area code's and pool's. Default 40.
  std::uint32_t auto_rest_threshold = 40;
  // AUTO_REST_WINDOW_HOURS: the rolling window the answer rates are counted in. Default 24.
  std::uint32_t auto_rest_window_hours = 24;
  // AUTO_REST_HOURS: how long an automatic rest lasts. Default 48.
  std::uint32_t auto_rest_hours = 48;
  // AUTO_REST_CHECK_SECONDS: how often the answer rates are judged. Default 300.
  std::chrono::seconds auto_rest_check_interval{300};
  // PROBATION_HOURS: after any rest ends, how long the number's daily cap is at most
  // PROBATION_DAILY_LIMIT (for every local day that starts before then). Default 48; 0 = none.
  std::uint32_t probation_hours = 48;
  // PROBATION_DAILY_LIMIT: the daily cap of a number on probation. Default 30.
  std::uint16_t probation_daily_limit = 30;

  // API_LOG_RETENTION_DAYS: days api_logs rows are kept. Default 30; 0 = forever.
  std::uint32_t api_log_retention_days = 30;
  // RESERVATION_RETENTION_DAYS: days ended reservations are kept (the call history). Default 90;
  // 0 = forever.
  std::uint32_t reservation_retention_days = 90;

  // WEBHOOK_URLS: comma-separated http(s) URLs that get a POST when an area code's or a pool's
  // available count drops below WEBHOOK_LOW_AVAILABLE, runs dry, or recovers. Default empty: off.
  std::string webhook_urls;
  // WEBHOOK_SECRET: key of the X-Cidrotor-Signature HMAC-SHA256 of each body. Default empty.
  std::string webhook_secret;
  // WEBHOOK_CA_FILE: PEM CAs for https receivers instead of the system's. Default empty.
  std::string webhook_ca_file;
  // WEBHOOK_LOW_AVAILABLE: fewer available numbers than this is "low". Default 5 (1..65535).
  std::uint32_t webhook_low_available = 5;
  // WEBHOOK_CHECK_SECONDS: how often availability is compared. Default 10 (1..3600).
  std::chrono::seconds webhook_check_interval{10};
};

// Which commands a setting belongs to (a bit set).
enum SettingScope : std::uint8_t {
  kScopeServe = 1,  // `serve`
  kScopeStore = 2,  // every command that opens the store (`init-db`, later `import`, ...)
};

// One row of the settings table.
struct SettingInfo {
  std::string_view name;           // environment variable, e.g. "API_PORT"
  std::string_view flag;           // long flag without dashes, e.g. "api-port"
  std::string_view default_value;  // as shown in --help and .env.example; "" = unset
  std::string_view help;           // one line
  std::uint8_t scope = kScopeServe;
  bool secret = false;  // never echoed (tokens, passwords)
};

// Every setting, in the order --help and .env.example list them.
const std::vector<SettingInfo>& Settings();

// The process environment's values of the known settings (unknown names are not read).
Values ReadEnvironment();

// Registers one `--flag VALUE` per setting of `scope` on `command`; values given on the command
// line land in `flags` under the variable's name. Help text says which variable and default.
// REQUIRES: `flags` outlives parsing.
void AddConfigFlags(CLI::App& command, std::uint8_t scope, Values& flags);

// Merges the sources (defaults < dotenv < environment < flags; empty values ignored) and checks
// every value. Errors: kInvalidArgument with field = the variable, message "NAME: problem".
[[nodiscard]] core::Result<Config> ResolveConfig(const Values& dotenv, const Values& environment,
                                                 const Values& flags);

enum class DeploymentMode : std::uint8_t { kEmbedded, kCluster };

// SPEC's mode selection: neither PostgreSQL (DATABASE_URL or POSTGRES_HOST) nor Redis
// (REDIS_URL or REDIS_HOST) configured -> embedded; both -> cluster. Errors: kInvalidArgument
// naming the missing one when only one is configured.
[[nodiscard]] core::Result<DeploymentMode> SelectMode(const Config& config);

// The address FastAGI listens on: AGI_HOST, or API_HOST when it is unset.
const std::string& AgiHost(const Config& config);

// Whether `host` is a loopback address or name (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(std::string_view host);

// Checks that only matter to `serve`: a non-loopback API_HOST needs an ADMIN_TOKEN, and the
// ADMIN_TOKEN and SECRET_KEY given must then be kMinSecretLength long at least.
// Errors: kInvalidArgument naming ADMIN_TOKEN or SECRET_KEY.
[[nodiscard]] core::Result<void> ValidateForServe(const Config& config);
// The shortest ADMIN_TOKEN and SECRET_KEY ValidateForServe takes on a non-loopback API_HOST.
inline constexpr std::size_t kMinSecretLength = 16;

// "NAME: detail" for a config error (the form main prints on stderr).
std::string ConfigErrorMessage(const core::Error& error);

}  // namespace cidrotor::app
