#include "app/config.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <optional>

#include "core/warm_up.h"

namespace cidrotor::app {
namespace {

using core::Error;
using core::Fail;
using core::Result;

// Returns the problem with `text`, or nullopt when it was applied to `config`.
using Apply = std::function<std::optional<std::string>(Config&, std::string_view)>;

enum class Kind : std::uint8_t { kText, kBool };

struct SettingDef {
  SettingInfo info;
  Kind kind = Kind::kText;
  Apply apply;
};

std::optional<std::uint64_t> ParseWhole(std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// A port; 0 ("pick one") only where `allow_zero`.
Apply PortSetter(std::uint16_t Config::*field, bool allow_zero) {
  return [field, allow_zero](Config& c, std::string_view text) -> std::optional<std::string> {
    const auto value = ParseWhole(text);
    if (!value || *value > 65535 || (*value == 0 && !allow_zero)) return "not a port number";
    c.*field = static_cast<std::uint16_t>(*value);
    return std::nullopt;
  };
}

// A whole number in [min, max], stored through `store`.
Apply CountSetter(std::uint64_t min, std::uint64_t max,
                  std::function<void(Config&, std::uint64_t)> store) {
  return [=](Config& c, std::string_view text) -> std::optional<std::string> {
    const auto value = ParseWhole(text);
    if (!value) return "not a whole number";
    if (*value < min || *value > max) return fmt::format("must be between {} and {}", min, max);
    store(c, *value);
    return std::nullopt;
  };
}

// A whole number in [min, max] stored as is in an integer `field` (the range fits its type).
template <class Int>
Apply CountField(std::uint64_t min, std::uint64_t max, Int Config::*field) {
  return CountSetter(min, max,
                     [field](Config& c, std::uint64_t v) { c.*field = static_cast<Int>(v); });
}

Apply TextSetter(std::string Config::*field) {
  return [field](Config& c, std::string_view text) -> std::optional<std::string> {
    c.*field = std::string(text);
    return std::nullopt;
  };
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

Apply BoolSetter(bool Config::*field) {
  return [field](Config& c, std::string_view text) -> std::optional<std::string> {
    const std::string v = Lower(text);
    if (v == "true" || v == "1" || v == "yes" || v == "on") {
      c.*field = true;
    } else if (v == "false" || v == "0" || v == "no" || v == "off") {
      c.*field = false;
    } else {
      return "not a boolean (true or false)";
    }
    return std::nullopt;
  };
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

constexpr std::uint8_t kBoth = kScopeServe | kScopeStore;

const std::vector<SettingDef>& Defs() {
  static const std::vector<SettingDef> defs = {
      {{"API_HOST", "api-host", "127.0.0.1",
        "Address the HTTP API listens on; a non-loopback one needs ADMIN_TOKEN"},
       Kind::kText,
       TextSetter(&Config::api_host)},
      {{"API_PORT", "api-port", "8000", "TCP port of the HTTP API (0 picks a free one)"},
       Kind::kText,
       PortSetter(&Config::api_port, true)},
      {{"AGI_HOST", "agi-host", "",
        "Address the FastAGI server listens on (unset: API_HOST); FastAGI has no authentication"},
       Kind::kText,
       TextSetter(&Config::agi_host)},
      {{"AGI_PORT", "agi-port", "4573", "TCP port of the FastAGI server (0 picks a free one)"},
       Kind::kText,
       PortSetter(&Config::agi_port, true)},
      {{"AGI_TIMEOUT_MS", "agi-timeout-ms", "250",
        "Deadline of one FastAGI request in ms; past it CIDROTOR_STATUS=timeout"},
       Kind::kText,
       CountSetter(1, 10'000,
                   [](Config& c, std::uint64_t v) {
                     c.agi_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(v));
                   })},
      {{"HTTP_THREADS", "http-threads", "0", "I/O threads for HTTP; 0 = one per hardware thread"},
       Kind::kText,
       CountField(0, 256, &Config::http_threads)},
      {{"DEBUG", "debug", "false", "Log at debug level (one line per request)", kBoth},
       Kind::kBool,
       BoolSetter(&Config::debug)},
      {{"CIDROTOR_DATA_DIR", "data-dir", "./var",
        "Directory of the embedded store (cidrotor.db); serve, init-db and import create it "
        "when missing, backup, export and move-to-cluster refuse a missing store",
        kBoth},
       Kind::kText,
       TextSetter(&Config::data_dir)},
      {{"TIMEZONE", "timezone", "UTC", "IANA time zone of the hourly and daily cap windows", kBoth},
       Kind::kText,
       TextSetter(&Config::timezone)},
      {{"DATABASE_URL", "database-url", "",
        "PostgreSQL URL; with Redis selects cluster mode (unset: embedded)", kBoth, true},
       Kind::kText,
       TextSetter(&Config::database_url)},
      {{"POSTGRES_HOST", "postgres-host", "", "PostgreSQL host (alternative to DATABASE_URL)",
        kBoth},
       Kind::kText,
       TextSetter(&Config::postgres_host)},
      {{"POSTGRES_PORT", "postgres-port", "5432", "PostgreSQL port", kBoth},
       Kind::kText,
       PortSetter(&Config::postgres_port, false)},
      {{"POSTGRES_USER", "postgres-user", "", "PostgreSQL user", kBoth},
       Kind::kText,
       TextSetter(&Config::postgres_user)},
      {{"POSTGRES_PASSWORD", "postgres-password", "", "PostgreSQL password", kBoth, true},
       Kind::kText,
       TextSetter(&Config::postgres_password)},
      {{"POSTGRES_DB", "postgres-db", "", "PostgreSQL database", kBoth},
       Kind::kText,
       TextSetter(&Config::postgres_db)},
      {{"POSTGRES_COMMIT_WAIT_MS", "postgres-commit-wait-ms", "1000",
        "Cluster mode: longest an allocation waits for a PostgreSQL commit that gets no answer "
        "before the instance goes on without it (degraded); 0 = the 6 s statement deadline"},
       Kind::kText,
       CountSetter(0, 60'000,
                   [](Config& c, std::uint64_t v) {
                     c.postgres_commit_wait =
                         std::chrono::milliseconds(static_cast<std::int64_t>(v));
                   })},
      {{"REDIS_URL", "redis-url", "", "Redis URL; with PostgreSQL selects cluster mode", kBoth},
       Kind::kText,
       TextSetter(&Config::redis_url)},
      {{"REDIS_HOST", "redis-host", "", "Redis host (alternative to REDIS_URL)", kBoth},
       Kind::kText,
       TextSetter(&Config::redis_host)},
      {{"REDIS_PORT", "redis-port", "6379", "Redis port", kBoth},
       Kind::kText,
       PortSetter(&Config::redis_port, false)},
      {{"ADMIN_TOKEN", "admin-token", "",
        "Bearer token of the admin endpoints (unset: admin endpoints refuse all)", kScopeServe,
        true},
       Kind::kText,
       TextSetter(&Config::admin_token)},
      {{"SECRET_KEY", "secret-key", "", "HS256 key of the JWTs issued by /auth/token", kScopeServe,
        true},
       Kind::kText,
       TextSetter(&Config::secret_key)},
      {{"JWT_TTL", "jwt-ttl", "3600",
        "Seconds a JWT from /auth/token is valid (60..86400); the dashboard renews it", kScopeServe,
        false},
       Kind::kText,
       CountSetter(60, 86'400,
                   [](Config& c, std::uint64_t v) {
                     c.jwt_ttl = std::chrono::seconds(static_cast<long>(v));
                   })},
      {{"DEFAULT_RESERVATION_TTL", "default-reservation-ttl", "300",
        "Seconds a caller-ID stays reserved without a release (1..86400)"},
       Kind::kText,
       CountSetter(1, 86'400,
                   [](Config& c, std::uint64_t v) {
                     c.default_reservation_ttl = std::chrono::seconds(static_cast<long>(v));
                   })},
      {{"DEFAULT_RATE_LIMIT_PER_AGENT", "default-rate-limit-per-agent", "100",
        "Allocations per agent per sliding minute; 0 = unlimited (agent auto never limited)"},
       Kind::kText,
       CountField(0, 1'000'000, &Config::default_rate_limit_per_agent)},
      {{"DEFAULT_HOURLY_LIMIT", "default-hourly-limit", "100",
        "Allocations per number per local hour, for numbers without their own cap"},
       Kind::kText,
       CountField(1, 65'535, &Config::default_hourly_limit)},
      {{"DEFAULT_DAILY_LIMIT", "default-daily-limit", "500",
        "Allocations per number per local day, for numbers without their own cap"},
       Kind::kText,
       CountField(1, 65'535, &Config::default_daily_limit)},
      {{"STICKY_DAYS", "sticky-days", "7",
        "Days a lead keeps the caller-ID it was given, when that number is free (0..365); 0 = off"},
       Kind::kText,
       CountField(0, 365, &Config::sticky_days)},
      {{"WARMUP_DAYS", "warmup-days", "0",
        "Days a new number's daily cap ramps up to its full cap (0..365); 0 = off"},
       Kind::kText,
       CountField(0, core::kMaxWarmupDays, &Config::warmup_days)},
      {{"AUTO_REST_MAX_SHARE", "auto-rest-max-share", "10",
        "Percent of a pool's active numbers that may rest at once (0..100); 0 = no automatic "
        "rests"},
       Kind::kText,
       CountField(0, 100, &Config::auto_rest_max_share)},
      {{"AUTO_REST_MIN_CALLS", "auto-rest-min-calls", "30",
        "Answered or unanswered calls in the window before a number's answer rate counts "
        "(1..1000000)"},
       Kind::kText,
       CountField(1, 1'000'000, &Config::auto_rest_min_calls)},
      {{"AUTO_REST_THRESHOLD", "auto-rest-threshold", "40",
        "Rest a number whose answer rate is below this percent of its area code's and pool's "
        "(1..99)"},
       Kind::kText,
       CountField(1, 99, &Config::auto_rest_threshold)},
      {{"AUTO_REST_WINDOW_HOURS", "auto-rest-window-hours", "24",
        "Hours of calls an answer rate is counted over (1..720)"},
       Kind::kText,
       CountField(1, 720, &Config::auto_rest_window_hours)},
      {{"AUTO_REST_HOURS", "auto-rest-hours", "48", "Hours an automatic rest lasts (1..8760)"},
       Kind::kText,
       CountField(1, 8'760, &Config::auto_rest_hours)},
      {{"AUTO_REST_CHECK_SECONDS", "auto-rest-check-seconds", "300",
        "How often answer rates are judged (1..86400)"},
       Kind::kText,
       CountSetter(1, 86'400,
                   [](Config& c, std::uint64_t v) {
                     c.auto_rest_check_interval = std::chrono::seconds(v);
                   })},
      {{"PROBATION_HOURS", "probation-hours", "48",
        "Hours after a rest a number's daily cap is PROBATION_DAILY_LIMIT (0..8760); 0 = none"},
       Kind::kText,
       CountField(0, 8'760, &Config::probation_hours)},
      {{"PROBATION_DAILY_LIMIT", "probation-daily-limit", "30",
        "Daily cap of a number on probation after a rest (1..65535)"},
       Kind::kText,
       CountField(1, 65'535, &Config::probation_daily_limit)},
      {{"API_LOG_RETENTION_DAYS", "api-log-retention-days", "30",
        "Days api_logs rows are kept (0..36500); 0 = forever"},
       Kind::kText,
       CountField(0, 36'500, &Config::api_log_retention_days)},
      {{"RESERVATION_RETENTION_DAYS", "reservation-retention-days", "90",
        "Days ended reservations (the call history) are kept (0..36500); 0 = forever"},
       Kind::kText,
       CountField(0, 36'500, &Config::reservation_retention_days)},
      {{"WEBHOOK_URLS", "webhook-urls", "",
        "Comma-separated http(s) URLs POSTed when an area code or pool runs low, dry, or recovers",
        kScopeServe, true},
       Kind::kText,
       TextSetter(&Config::webhook_urls)},
      {{"WEBHOOK_SECRET", "webhook-secret", "",
        "Key of each webhook body's X-Cidrotor-Signature (HMAC-SHA256)", kScopeServe, true},
       Kind::kText,
       TextSetter(&Config::webhook_secret)},
      {{"WEBHOOK_CA_FILE", "webhook-ca-file", "",
        "PEM CA certificates for https webhook receivers (default: the system's)"},
       Kind::kText,
       TextSetter(&Config::webhook_ca_file)},
      {{"WEBHOOK_LOW_AVAILABLE", "webhook-low-available", "5",
        "An area code or pool with fewer available numbers than this is low (1..65535)"},
       Kind::kText,
       CountField(1, 65'535, &Config::webhook_low_available)},
      {{"WEBHOOK_CHECK_SECONDS", "webhook-check-seconds", "10",
        "Seconds between two availability checks for the webhooks (1..3600)"},
       Kind::kText,
       CountSetter(1, 3'600,
                   [](Config& c, std::uint64_t v) {
                     c.webhook_check_interval = std::chrono::seconds(static_cast<long>(v));
                   })},
  };
  return defs;
}

}  // namespace

const std::vector<SettingInfo>& Settings() {
  static const std::vector<SettingInfo> infos = [] {
    std::vector<SettingInfo> out;
    for (const auto& def : Defs()) out.push_back(def.info);
    return out;
  }();
  return infos;
}

Values ReadEnvironment() {
  Values values;
  for (const auto& def : Defs()) {
    const std::string name(def.info.name);
    if (const char* value = std::getenv(name.c_str())) values.emplace(name, value);
  }
  return values;
}

void AddConfigFlags(CLI::App& command, std::uint8_t scope, Values& flags) {
  for (const auto& def : Defs()) {
    const SettingInfo& s = def.info;
    if ((s.scope & scope) == 0) continue;
    std::string description = fmt::format("{} [env: {}", s.help, s.name);
    if (!s.default_value.empty()) description += fmt::format(", default: {}", s.default_value);
    description += "]";
    const std::string name(s.name);
    const std::string flag = fmt::format("--{}", s.flag);
    if (def.kind == Kind::kBool) {
      // `--debug`, or `--debug=false` (CLI11 counts a false value as -1) to override a true one
      // from the environment or .env: flags win over both.
      command.add_flag_function(
          flag, [&flags, name](std::int64_t count) { flags[name] = count > 0 ? "true" : "false"; },
          description);
    } else {
      command
          .add_option_function<std::string>(
              flag, [&flags, name](const std::string& value) { flags[name] = value; }, description)
          ->type_name(s.secret ? "SECRET" : "VALUE");
    }
  }
}

Result<Config> ResolveConfig(const Values& dotenv, const Values& environment, const Values& flags) {
  Config config;
  for (const auto& def : Defs()) {
    std::optional<std::string_view> value;
    for (const Values* source : {&dotenv, &environment, &flags}) {
      const auto it = source->find(def.info.name);
      if (it != source->end() && !Trim(it->second).empty()) value = Trim(it->second);
    }
    if (!value) continue;
    if (auto problem = def.apply(config, *value)) {
      return Fail(Error::InvalidArgument(std::string(def.info.name), std::move(*problem)));
    }
  }
  return config;
}

Result<DeploymentMode> SelectMode(const Config& config) {
  const bool postgres = !config.database_url.empty() || !config.postgres_host.empty();
  const bool redis = !config.redis_url.empty() || !config.redis_host.empty();
  if (postgres && redis) return DeploymentMode::kCluster;
  if (!postgres && !redis) return DeploymentMode::kEmbedded;
  if (postgres) {
    return Fail(Error::InvalidArgument(
        "REDIS_URL",
        "not set (nor REDIS_HOST), but PostgreSQL is (DATABASE_URL or POSTGRES_HOST): cluster "
        "mode needs both; set REDIS_URL or REDIS_HOST, or unset the PostgreSQL settings to run "
        "the embedded mode"));
  }
  // The seed's .env sets REDIS_HOST and POSTGRES_USER/_PASSWORD/_DB but no POSTGRES_HOST (its
  // compose file's service is `postgres`): say so rather than only what is missing.
  const bool seed_env = !config.postgres_user.empty() || !config.postgres_db.empty();
  return Fail(Error::InvalidArgument(
      "DATABASE_URL",
      std::string("not set (nor POSTGRES_HOST), but Redis is (REDIS_URL or REDIS_HOST): cluster "
                  "mode needs both; set DATABASE_URL or POSTGRES_HOST, or unset the Redis "
                  "settings to run the embedded mode") +
          (seed_env ? ". POSTGRES_USER or POSTGRES_DB is set without POSTGRES_HOST (the seed's "
                      ".env): add POSTGRES_HOST=postgres under docker compose, or the server's "
                      "address"
                    : "")));
}

const std::string& AgiHost(const Config& config) {
  return config.agi_host.empty() ? config.api_host : config.agi_host;
}

bool IsLoopbackHost(std::string_view host) {
  std::string h(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string lower = Lower(h);
  if (lower == "localhost" || lower == "ip6-localhost" || lower == "ip6-loopback") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

Result<void> ValidateForServe(const Config& config) {
  if (IsLoopbackHost(config.api_host)) return {};
  if (config.admin_token.empty()) {
    return Fail(Error::InvalidArgument(
        "ADMIN_TOKEN",
        fmt::format("required when API_HOST ({}) is not a loopback address: set ADMIN_TOKEN, or "
                    "listen on API_HOST=127.0.0.1",
                    config.api_host)));
  }
  // Whoever reaches the port may guess (nothing slows down failed logins), and a SECRET_KEY
  // found offline from one JWT forges sessions: short ones are no protection there.
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string&>{"ADMIN_TOKEN", config.admin_token},
        {"SECRET_KEY", config.secret_key}}) {
    if (!value.empty() && value.size() < kMinSecretLength) {
      return Fail(Error::InvalidArgument(
          name, fmt::format("at least {} characters when API_HOST ({}) is not a loopback "
                            "address (`openssl rand -hex 32` makes one; make run writes such)",
                            kMinSecretLength, config.api_host)));
    }
  }
  return {};
}

std::string ConfigErrorMessage(const core::Error& error) {
  if (error.field().empty()) return error.detail();
  return fmt::format("{}: {}", error.field(), error.detail());
}

}  // namespace cidrotor::app
