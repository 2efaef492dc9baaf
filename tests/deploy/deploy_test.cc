// The deployment kit, checked without a Docker engine: docker-compose.yml's structure (a minimal
// YAML reader, plus PyYAML when python3 has it), the Dockerfile's stages, the systemd unit
// (`systemd-analyze verify` when available) and that every `cidrotor` command the docs show
// uses flags the binary really has.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace cidrotor::deploy {
namespace {

const std::filesystem::path kSource = CIDROTOR_SOURCE_DIR;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs a shell command; returns its exit status and stdout+stderr.
std::pair<int, std::string> Shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::array<char, 4096> chunk{};
  while (std::fgets(chunk.data(), chunk.size(), pipe) != nullptr) output += chunk.data();
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A minimal reader for the block-style YAML of docker-compose.yml: "a.b.c" -> value for
// `key: value` lines, and "a.b[]" -> the items of `- item` lists. Comments dropped.
struct Yaml {
  std::map<std::string, std::string> values;
  std::map<std::string, std::vector<std::string>> lists;
  std::set<std::string> keys;
};

std::string Unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

Yaml ParseYaml(const std::string& text) {
  Yaml yaml;
  std::vector<std::pair<int, std::string>> stack;  // (indent, key)
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (const auto hash = line.find(" #"); hash != std::string::npos) line.resize(hash);
    if (line.find_first_not_of(' ') == std::string::npos ||
        line[line.find_first_not_of(' ')] == '#') {
      continue;
    }
    const int indent = static_cast<int>(line.find_first_not_of(' '));
    std::string body = line.substr(static_cast<std::size_t>(indent));
    while (!body.empty() && body.back() == ' ') body.pop_back();
    const bool item = body.rfind("- ", 0) == 0;
    while (!stack.empty() && stack.back().first >= indent &&
           !(item && stack.back().first == indent)) {
      stack.pop_back();
    }
    if (item && !stack.empty() && stack.back().first == indent) stack.pop_back();
    std::string path;
    for (const auto& [_, key] : stack) path += (path.empty() ? "" : ".") + key;
    if (item) {
      yaml.lists[path].push_back(Unquote(body.substr(2)));
      continue;
    }
    const auto colon = body.find(':');
    if (colon == std::string::npos) {
      ADD_FAILURE() << "not `key: value`: " << line;
      continue;
    }
    const std::string key = body.substr(0, colon);
    std::string value = colon + 1 < body.size() ? body.substr(colon + 1) : "";
    value.erase(0, value.find_first_not_of(' ') == std::string::npos
                       ? value.size()
                       : value.find_first_not_of(' '));
    const std::string full = path.empty() ? key : path + "." + key;
    yaml.keys.insert(full);
    if (!value.empty()) {
      yaml.values[full] = Unquote(value);
    } else {
      stack.emplace_back(indent, key);
    }
  }
  return yaml;
}

TEST(ComposeTest, DefinesApiPostgresAndRedisOnLoopbackWithHealthchecksAndVolumes) {
  const Yaml yaml = ParseYaml(ReadFile(kSource / "docker-compose.yml"));
  EXPECT_EQ(yaml.values.at("services.api.build"), ".");
  EXPECT_EQ(yaml.values.at("services.postgres.image"), "postgres:15");
  EXPECT_EQ(yaml.values.at("services.redis.image"), "redis:7");
  for (const std::string service : {"api", "postgres", "redis"}) {
    const std::string base = "services." + service;
    EXPECT_TRUE(yaml.keys.count(base + ".healthcheck")) << service;
    EXPECT_TRUE(yaml.values.count(base + ".healthcheck.test") ||
                yaml.values.count(base + ".healthcheck.test"))
        << service;
    EXPECT_TRUE(yaml.values.count(base + ".restart")) << service;
    const auto ports = yaml.lists.find(base + ".ports");
    ASSERT_NE(ports, yaml.lists.end()) << service;
    for (const auto& port : ports->second) {
      EXPECT_EQ(port.rfind("127.0.0.1:", 0), 0U) << service << " publishes " << port;
    }
    const auto volumes = yaml.lists.find(base + ".volumes");
    ASSERT_NE(volumes, yaml.lists.end()) << service;
    for (const auto& volume : volumes->second) {
      const std::string name = volume.substr(0, volume.find(':'));
      EXPECT_TRUE(yaml.keys.count("volumes." + name)) << "undeclared named volume " << name;
    }
  }
  EXPECT_EQ(yaml.values.at("services.api.depends_on.postgres.condition"), "service_healthy");
  EXPECT_TRUE(yaml.values.count("services.api.environment.ADMIN_TOKEN"));
  // Every setting of .env reaches the server, as in the other ways of running it.
  ASSERT_TRUE(yaml.values.count("services.api.env_file"));
  EXPECT_EQ(yaml.values.at("services.api.env_file"), ".env");
}

TEST(ComposeTest, IsValidYamlWhenPyYamlIsAvailable) {
  if (Shell("python3 -c 'import yaml'").first != 0) GTEST_SKIP() << "python3 yaml not installed";
  const auto [status, output] = Shell(
      "python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); "
      "assert set(d[\"services\"]) == {\"api\", \"postgres\", \"redis\"}' " +
      (kSource / "docker-compose.yml").string());
  EXPECT_EQ(status, 0) << output;
}

TEST(DockerfileTest, BuildsOnDebian12AndRunsNonRootWithAHealthcheck) {
  const std::string text = ReadFile(kSource / "Dockerfile");
  EXPECT_NE(text.find("FROM debian:12 AS build"), std::string::npos);
  EXPECT_NE(text.find("FROM debian:12-slim AS runtime"), std::string::npos);
  EXPECT_NE(text.find("COPY --from=build"), std::string::npos);
  EXPECT_NE(text.find("\nUSER cidrotor"), std::string::npos);
  EXPECT_NE(text.find("\nHEALTHCHECK "), std::string::npos);
  EXPECT_NE(text.find("EXPOSE 8000 4573"), std::string::npos);
  // The libraries go flat into /usr/lib: a /lib directory copied onto debian:12-slim's /lib
  // symlink fails (BuildKit) or replaces it (and the loader's path with it).
  EXPECT_EQ(text.find("--parents"), std::string::npos);
  EXPECT_NE(text.find("/runtime/usr/lib/$(gcc -print-multiarch)"), std::string::npos);
  // Every path the build stage copies exists in the tree.
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("COPY ", 0) != 0 || line.find("--from") != std::string::npos) continue;
    std::istringstream words(line.substr(5));
    std::string source;
    words >> source;
    EXPECT_TRUE(std::filesystem::exists(kSource / source)) << line;
  }
}

TEST(SystemdUnitTest, IsHardenedAndVerifies) {
  const std::string unit = ReadFile(kSource / "deploy/systemd/cidrotor.service");
  // --data-dir: a flag wins over the settings file, where .env.example's value would land; the
  // file goes through cidrotor's .env parser (--env-file), not systemd's EnvironmentFile=.
  for (const char* key :
       {"ExecStart=/usr/local/bin/cidrotor serve --data-dir /var/lib/cidrotor --env-file "
        "${CREDENTIALS_DIRECTORY}/env",
        "LoadCredential=env:/etc/cidrotor/cidrotor.env", "RestartPreventExitStatus=2",
        "NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n",
        "DynamicUser=yes", "StateDirectory=cidrotor", "KillSignal=SIGTERM"}) {
    EXPECT_NE(unit.find(key), std::string::npos) << key;
  }
  if (Shell("command -v systemd-analyze").first != 0) GTEST_SKIP() << "no systemd-analyze";
  // verify checks that ExecStart exists: point it at the binary under test.
  const auto dir =
      std::filesystem::temp_directory_path() / ("cidrotor-unit-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string patched = unit;
  patched.replace(patched.find("ExecStart=/usr/local/bin/cidrotor") + 10, 23, CIDROTOR_BINARY);
  std::ofstream(dir / "cidrotor.service") << patched;
  const auto [status, output] =
      Shell("systemd-analyze verify " + (dir / "cidrotor.service").string());
  std::filesystem::remove_all(dir);
  EXPECT_EQ(status, 0) << output;
}

TEST(DocsTest, EveryCidrotorCommandUsesRealFlags) {
  const std::set<std::string> subcommands = {"serve", "import", "export", "init-db", "sample-csv"};
  std::map<std::string, std::string> help;
  const std::regex command(R"(cidrotor (serve|import|export|init-db|sample-csv)([^`\n]*))");
  const std::regex flag(R"((--[a-z][a-z0-9-]*))");
  int checked = 0;
  for (const char* doc : {"docs/DEPLOYMENT.md", "docs/VICIDIAL_INTEGRATION.md", "docs/agi.md"}) {
    const std::string text = ReadFile(kSource / doc);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), command);
         it != std::sregex_iterator(); ++it) {
      const std::string sub = (*it)[1];
      if (!help.count(sub))
        help[sub] = Shell(std::string(CIDROTOR_BINARY) + " " + sub + " --help").second;
      const std::string rest = (*it)[2];
      for (auto f = std::sregex_iterator(rest.begin(), rest.end(), flag);
           f != std::sregex_iterator(); ++f) {
        ++checked;
        EXPECT_NE(help[sub].find((*f)[1].str()), std::string::npos)
            << doc << ": `cidrotor " << sub << "` has no " << (*f)[1];
      }
    }
  }
  EXPECT_GE(checked, 3);
}

}  // namespace
}  // namespace cidrotor::deploy
