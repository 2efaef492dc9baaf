// Configuration loading: .env syntax, the precedence defaults < .env < environment < flags, errors
// that name the variable, mode selection and the loopback rule; plus a drift check that
// .env.example and the README document every setting.
#include "app/config.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cidrotor::app {
namespace {

Config Resolve(const Values& dotenv, const Values& env = {}, const Values& flags = {}) {
  auto config = ResolveConfig(dotenv, env, flags);
  EXPECT_TRUE(config.has_value()) << (config ? "" : config.error().ToString());
  return config.value_or(Config{});
}

std::string ResolveError(const Values& dotenv, const Values& env = {}, const Values& flags = {}) {
  auto config = ResolveConfig(dotenv, env, flags);
  if (config) return "(no error)";
  return ConfigErrorMessage(config.error());
}

TEST(DotEnvTest, ParsesCommentsExportAndQuotes) {
  const auto values = ParseDotEnv(
      "# a comment\n"
      "\n"
      "API_PORT=9000\n"
      "export ADMIN_TOKEN = abc123  # trailing comment\n"
      "SECRET_KEY='literal # not a comment \\n'\n"
      "TIMEZONE=\"America/New_York\"\n"
      "POSTGRES_PASSWORD=\"a \\\"quoted\\\" pass\\tword\"\n"
      "REDIS_HOST=host#1\n"
      "EMPTY=\n"
      "API_HOST=127.0.0.1\r\n",
      ".env");
  ASSERT_TRUE(values.has_value()) << values.error().ToString();
  EXPECT_EQ(values->at("API_PORT"), "9000");
  EXPECT_EQ(values->at("ADMIN_TOKEN"), "abc123");
  EXPECT_EQ(values->at("SECRET_KEY"), "literal # not a comment \\n");
  EXPECT_EQ(values->at("TIMEZONE"), "America/New_York");
  EXPECT_EQ(values->at("POSTGRES_PASSWORD"), "a \"quoted\" pass\tword");
  EXPECT_EQ(values->at("REDIS_HOST"), "host#1");
  EXPECT_EQ(values->at("EMPTY"), "");
  EXPECT_EQ(values->at("API_HOST"), "127.0.0.1");
}

TEST(DotEnvTest, LaterLinesWin) {
  const auto values = ParseDotEnv("API_PORT=1\nAPI_PORT=2\n", ".env");
  ASSERT_TRUE(values.has_value());
  EXPECT_EQ(values->at("API_PORT"), "2");
}

TEST(DotEnvTest, ErrorsNameFileAndLine) {
  auto missing_eq = ParseDotEnv("API_PORT=1\nthis is not an assignment\n", "my.env");
  ASSERT_FALSE(missing_eq.has_value());
  EXPECT_EQ(missing_eq.error().detail(), "my.env:2: expected NAME=VALUE");

  auto bad_name = ParseDotEnv("1ABC=2\n", ".env");
  ASSERT_FALSE(bad_name.has_value());
  EXPECT_NE(bad_name.error().detail().find(".env:1: invalid variable name"), std::string::npos);

  auto unterminated = ParseDotEnv("ADMIN_TOKEN=\"abc\n", ".env");
  ASSERT_FALSE(unterminated.has_value());
  EXPECT_NE(unterminated.error().detail().find("ADMIN_TOKEN: unterminated"), std::string::npos);
}

TEST(DotEnvTest, MissingFileIsEmpty) {
  auto values = ReadDotEnvFile("/nonexistent/dir/.env");
  ASSERT_TRUE(values.has_value());
  EXPECT_TRUE(values->empty());
}

// --env-file names a file: a typo there must not run on the defaults.
TEST(DotEnvTest, ARequiredFileMustExistAndNotBeADirectory) {
  auto missing = ReadDotEnvFile("/nonexistent/dir/.env", /*required=*/true);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().detail().find("/nonexistent/dir/.env: no such file"),
            std::string::npos);
  auto directory = ReadDotEnvFile("/tmp", /*required=*/true);
  ASSERT_FALSE(directory.has_value());
  EXPECT_NE(directory.error().detail().find("is a directory"), std::string::npos);
  EXPECT_FALSE(ReadDotEnvFile("/tmp").has_value()) << "a directory is never an .env";
}

TEST(ConfigTest, DefaultsMatchSpec) {
  const Config c = Resolve({});
  EXPECT_EQ(c.api_host, "127.0.0.1");
  EXPECT_EQ(c.api_port, 8000);
  EXPECT_EQ(c.agi_port, 4573);
  EXPECT_FALSE(c.debug);
  EXPECT_EQ(c.data_dir, "./var");
  EXPECT_EQ(c.timezone, "UTC");
  EXPECT_EQ(c.default_reservation_ttl, std::chrono::seconds(300));
  EXPECT_EQ(c.default_rate_limit_per_agent, 100U);
  EXPECT_EQ(c.default_hourly_limit, 100);
  EXPECT_EQ(c.default_daily_limit, 500);
  EXPECT_EQ(c.postgres_port, 5432);
  EXPECT_EQ(c.postgres_commit_wait, std::chrono::milliseconds(1'000));
  EXPECT_EQ(c.redis_port, 6379);
  EXPECT_TRUE(c.admin_token.empty());
  EXPECT_EQ(AgiHost(c), "127.0.0.1");  // FastAGI beside the API unless AGI_HOST says otherwise
}

TEST(ConfigTest, AgiHostDefaultsToApiHostAndCanDiffer) {
  EXPECT_EQ(AgiHost(Resolve({{"API_HOST", "10.0.0.5"}, {"ADMIN_TOKEN", "t"}})), "10.0.0.5");
  const Config split = Resolve({{"AGI_HOST", "10.0.0.5"}});
  EXPECT_EQ(split.api_host, "127.0.0.1");
  EXPECT_EQ(AgiHost(split), "10.0.0.5");
  // FastAGI has no admin endpoints: a non-loopback AGI_HOST needs no ADMIN_TOKEN.
  EXPECT_TRUE(ValidateForServe(split).has_value());
}

TEST(ConfigTest, EnvironmentWinsOverDotEnvAndFlagsWinOverBoth) {
  const Values dotenv = {{"API_PORT", "9000"}, {"TIMEZONE", "America/Chicago"}, {"DEBUG", "true"}};
  const Values env = {{"API_PORT", "9100"}, {"ADMIN_TOKEN", "from-env"}};
  const Values flags = {{"ADMIN_TOKEN", "from-flag"}};
  const Config c = Resolve(dotenv, env, flags);
  EXPECT_EQ(c.api_port, 9100);               // env > .env
  EXPECT_EQ(c.timezone, "America/Chicago");  // .env > default
  EXPECT_TRUE(c.debug);
  EXPECT_EQ(c.admin_token, "from-flag");  // flag > env
}

TEST(ConfigTest, EmptyValueCountsAsUnset) {
  const Config c = Resolve({{"API_PORT", "9000"}}, {{"API_PORT", ""}});
  EXPECT_EQ(c.api_port, 9000);
}

TEST(ConfigTest, BadValuesNameTheVariable) {
  EXPECT_EQ(ResolveError({{"API_PORT", "abc"}}), "API_PORT: not a port number");
  EXPECT_EQ(ResolveError({}, {{"API_PORT", "70000"}}), "API_PORT: not a port number");
  EXPECT_EQ(ResolveError({}, {}, {{"REDIS_PORT", "0"}}), "REDIS_PORT: not a port number");
  EXPECT_EQ(ResolveError({{"DEFAULT_HOURLY_LIMIT", "0"}}),
            "DEFAULT_HOURLY_LIMIT: must be between 1 and 65535");
  EXPECT_EQ(ResolveError({{"DEFAULT_DAILY_LIMIT", "70000"}}),
            "DEFAULT_DAILY_LIMIT: must be between 1 and 65535");
  EXPECT_EQ(ResolveError({{"DEFAULT_RESERVATION_TTL", "-5"}}),
            "DEFAULT_RESERVATION_TTL: not a whole number");
  EXPECT_EQ(ResolveError({{"DEBUG", "maybe"}}), "DEBUG: not a boolean (true or false)");
  EXPECT_EQ(ResolveError({{"HTTP_THREADS", "lots"}}), "HTTP_THREADS: not a whole number");
  EXPECT_EQ(ResolveError({{"POSTGRES_COMMIT_WAIT_MS", "90000"}}),
            "POSTGRES_COMMIT_WAIT_MS: must be between 0 and 60000");
  EXPECT_EQ(ResolveError({{"AUTO_REST_THRESHOLD", "100"}}),
            "AUTO_REST_THRESHOLD: must be between 1 and 99");
  EXPECT_EQ(ResolveError({{"AUTO_REST_MAX_SHARE", "101"}}),
            "AUTO_REST_MAX_SHARE: must be between 0 and 100");
  EXPECT_EQ(ResolveError({{"PROBATION_DAILY_LIMIT", "0"}}),
            "PROBATION_DAILY_LIMIT: must be between 1 and 65535");
}

// The automatic rests and probation: defaults on, each setting reaching its field.
TEST(ConfigTest, AutomaticRestsAndProbationHaveDefaultsAndTakeTheirValues) {
  const Config defaults = Resolve({});
  EXPECT_EQ(defaults.auto_rest_max_share, 10u);
  EXPECT_EQ(defaults.probation_daily_limit, 30u);
  const Config c = Resolve({{"AUTO_REST_MAX_SHARE", "0"},
                            {"AUTO_REST_MIN_CALLS", "12"},
                            {"AUTO_REST_THRESHOLD", "25"},
                            {"AUTO_REST_WINDOW_HOURS", "72"},
                            {"AUTO_REST_HOURS", "96"},
                            {"AUTO_REST_CHECK_SECONDS", "60"},
                            {"PROBATION_HOURS", "0"},
                            {"PROBATION_DAILY_LIMIT", "5"}});
  EXPECT_EQ(c.auto_rest_max_share, 0u);
  EXPECT_EQ(c.auto_rest_min_calls, 12u);
  EXPECT_EQ(c.auto_rest_threshold, 25u);
  EXPECT_EQ(c.auto_rest_window_hours, 72u);
  EXPECT_EQ(c.auto_rest_hours, 96u);
  EXPECT_EQ(c.auto_rest_check_interval, std::chrono::seconds(60));
  EXPECT_EQ(c.probation_hours, 0u);
  EXPECT_EQ(c.probation_daily_limit, 5u);
}

TEST(ConfigTest, PortZeroPicksAFreePort) { EXPECT_EQ(Resolve({{"API_PORT", "0"}}).api_port, 0); }

TEST(ConfigTest, BooleansAcceptCommonSpellings) {
  EXPECT_TRUE(Resolve({{"DEBUG", "True"}}).debug);
  EXPECT_TRUE(Resolve({{"DEBUG", "1"}}).debug);
  EXPECT_FALSE(Resolve({{"DEBUG", "FALSE"}}).debug);
  EXPECT_FALSE(Resolve({{"DEBUG", "no"}}).debug);
}

TEST(ConfigTest, ReadEnvironmentReadsKnownNamesOnly) {
  ::setenv("TIMEZONE", "Asia/Kolkata", 1);
  ::setenv("CIDROTOR_TEST_UNKNOWN", "x", 1);
  const Values env = ReadEnvironment();
  ::unsetenv("TIMEZONE");
  ::unsetenv("CIDROTOR_TEST_UNKNOWN");
  EXPECT_EQ(env.at("TIMEZONE"), "Asia/Kolkata");
  EXPECT_EQ(env.count("CIDROTOR_TEST_UNKNOWN"), 0U);
}

TEST(ConfigFlagsTest, FlagsOverrideEnvironment) {
  CLI::App app("test");
  Values flags;
  auto* serve = app.add_subcommand("serve");
  AddConfigFlags(*serve, kScopeServe, flags);
  app.parse("serve --api-port 9001 --timezone UTC --debug", false);
  const Config c = Resolve({}, {{"API_PORT", "9000"}, {"TIMEZONE", "America/Denver"}}, flags);
  EXPECT_EQ(c.api_port, 9001);
  EXPECT_EQ(c.timezone, "UTC");
  EXPECT_TRUE(c.debug);
}

// `--debug=false` turns off a DEBUG=true of the environment or .env (it was taken silently and
// did nothing: the flag could only say true).
TEST(ConfigFlagsTest, AFalseFlagOverridesATrueEnvironment) {
  for (const char* off : {"serve --debug=false", "serve --debug=0"}) {
    CLI::App app("test");
    Values flags;
    AddConfigFlags(*app.add_subcommand("serve"), kScopeServe, flags);
    app.parse(off, false);
    EXPECT_FALSE(Resolve({{"DEBUG", "true"}}, {{"DEBUG", "true"}}, flags).debug) << off;
  }
}

TEST(ConfigFlagsTest, BadFlagValueNamesTheVariable) {
  CLI::App app("test");
  Values flags;
  AddConfigFlags(*app.add_subcommand("serve"), kScopeServe, flags);
  app.parse("serve --api-port abc", false);
  EXPECT_EQ(ResolveError({}, {}, flags), "API_PORT: not a port number");
}

TEST(ConfigFlagsTest, HelpListsEveryVariable) {
  CLI::App app("test");
  Values flags;
  auto* serve = app.add_subcommand("serve");
  AddConfigFlags(*serve, kScopeServe, flags);
  const std::string help = serve->help();
  for (const auto& setting : Settings()) {
    if ((setting.scope & kScopeServe) == 0) continue;
    EXPECT_NE(help.find(std::string(setting.name)), std::string::npos) << setting.name;
    EXPECT_NE(help.find("--" + std::string(setting.flag)), std::string::npos) << setting.flag;
  }
}

TEST(ModeTest, NeitherDatabaseIsEmbeddedBothIsCluster) {
  Config c;
  EXPECT_EQ(SelectMode(c).value(), DeploymentMode::kEmbedded);
  c.database_url = "postgresql://u:p@127.0.0.1/db";
  c.redis_url = "redis://127.0.0.1:6379";
  EXPECT_EQ(SelectMode(c).value(), DeploymentMode::kCluster);
  Config split;
  split.postgres_host = "db";
  split.redis_host = "cache";
  EXPECT_EQ(SelectMode(split).value(), DeploymentMode::kCluster);
}

TEST(ModeTest, OnlyOneDatabaseNamesTheMissingOne) {
  Config postgres_only;
  postgres_only.postgres_host = "db";
  auto mode = SelectMode(postgres_only);
  ASSERT_FALSE(mode.has_value());
  EXPECT_EQ(mode.error().field(), "REDIS_URL");
  EXPECT_NE(mode.error().detail().find("REDIS_HOST"), std::string::npos);

  Config redis_only;
  redis_only.redis_url = "redis://127.0.0.1";
  mode = SelectMode(redis_only);
  ASSERT_FALSE(mode.has_value());
  EXPECT_EQ(mode.error().field(), "DATABASE_URL");
  EXPECT_NE(mode.error().detail().find("POSTGRES_HOST"), std::string::npos);
  EXPECT_EQ(mode.error().detail().find("seed"), std::string::npos);

  // The seed's .env: REDIS_HOST and POSTGRES_USER/_PASSWORD/_DB, no POSTGRES_HOST.
  Config seed;
  seed.redis_host = "redis";
  seed.postgres_user = "postgres";
  seed.postgres_db = "callerid_db";
  mode = SelectMode(seed);
  ASSERT_FALSE(mode.has_value());
  EXPECT_NE(mode.error().detail().find("POSTGRES_HOST=postgres"), std::string::npos)
      << mode.error().detail();
}

TEST(LoopbackTest, RecognisesLoopbackAddresses) {
  for (const char* host :
       {"127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "10.0.0.1", "::", "192.168.1.5", "example.com", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(LoopbackTest, NonLoopbackHostNeedsAdminToken) {
  Config c;
  c.api_host = "0.0.0.0";
  auto valid = ValidateForServe(c);
  ASSERT_FALSE(valid.has_value());
  EXPECT_EQ(valid.error().field(), "ADMIN_TOKEN");
  c.admin_token = "secret";  // too short to face a network
  valid = ValidateForServe(c);
  ASSERT_FALSE(valid.has_value());
  EXPECT_EQ(valid.error().field(), "ADMIN_TOKEN");
  c.admin_token = "0123456789abcdef";
  EXPECT_TRUE(ValidateForServe(c).has_value());
  c.secret_key = "short";
  valid = ValidateForServe(c);
  ASSERT_FALSE(valid.has_value());
  EXPECT_EQ(valid.error().field(), "SECRET_KEY");
  c.secret_key = "fedcba9876543210";
  EXPECT_TRUE(ValidateForServe(c).has_value());
  Config loopback;
  loopback.admin_token = "t";  // a developer's box: anything goes
  EXPECT_TRUE(ValidateForServe(loopback).has_value());
  EXPECT_TRUE(ValidateForServe(Config{}).has_value());
}

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(CIDROTOR_SOURCE_DIR) + "/" + relative);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ConfigDocsTest, EnvExampleAndReadmeDocumentEverySetting) {
  const std::string example = ReadSourceFile(".env.example");
  const std::string readme = ReadSourceFile("README.md");
  ASSERT_FALSE(example.empty());
  auto parsed = ParseDotEnv(example, ".env.example");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  for (const auto& setting : Settings()) {
    const std::string name(setting.name);
    EXPECT_NE(example.find(name + "="), std::string::npos) << name << " missing in .env.example";
    EXPECT_NE(readme.find("`" + name + "`"), std::string::npos) << name << " missing in README";
  }
  // The example must itself be a valid configuration.
  EXPECT_TRUE(ResolveConfig(*parsed, {}, {}).has_value());
}

}  // namespace
}  // namespace cidrotor::app
