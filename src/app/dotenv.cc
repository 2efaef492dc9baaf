#include "app/dotenv.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <system_error>

namespace cidrotor::app {
namespace {

using core::Error;
using core::Fail;
using core::Result;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsVariableName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char ch) { return std::isalnum(ch) || ch == '_'; });
}

// Parses the value part of one .env line (after `=`). Returns the problem on failure.
Result<std::string> ParseDotEnvValue(std::string_view raw) {
  raw = Trim(raw);
  if (raw.empty()) return std::string();
  const char quote = raw.front();
  if (quote != '"' && quote != '\'') {
    // Unquoted: a comment starts at a '#' that follows whitespace.
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '#' && (i == 0 || raw[i - 1] == ' ' || raw[i - 1] == '\t')) {
        return std::string(Trim(raw.substr(0, i)));
      }
    }
    return std::string(raw);
  }
  std::string value;
  std::size_t i = 1;
  for (; i < raw.size() && raw[i] != quote; ++i) {
    if (quote == '"' && raw[i] == '\\' && i + 1 < raw.size()) {
      const char next = raw[++i];
      switch (next) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case '"':
        case '\\':
        case '$':
          value += next;
          break;
        default:
          value += '\\';
          value += next;
      }
    } else {
      value += raw[i];
    }
  }
  if (i >= raw.size()) return Fail(Error::InvalidArgument({}, "unterminated quoted value"));
  const std::string_view rest = Trim(raw.substr(i + 1));
  if (!rest.empty() && rest.front() != '#') {
    return Fail(Error::InvalidArgument({}, "unexpected text after the closing quote"));
  }
  return value;
}

}  // namespace

Result<Values> ParseDotEnv(std::string_view text, std::string_view source) {
  Values values;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, 7) == "export " || line.substr(0, 7) == "export\t") {
      line = Trim(line.substr(7));
    }
    const std::size_t eq = line.find('=');
    const auto fail = [&](std::string_view problem) {
      return Fail(Error::InvalidArgument({}, fmt::format("{}:{}: {}", source, line_no, problem)));
    };
    if (eq == std::string_view::npos) return fail("expected NAME=VALUE");
    const std::string_view name = Trim(line.substr(0, eq));
    if (!IsVariableName(name)) return fail(fmt::format("invalid variable name '{}'", name));
    auto value = ParseDotEnvValue(line.substr(eq + 1));
    if (!value) return fail(fmt::format("{}: {}", name, value.error().detail()));
    values.insert_or_assign(std::string(name), std::move(*value));
  }
  return values;
}

Result<Values> ReadDotEnvFile(const std::filesystem::path& path, bool required) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (!required) return Values{};
    return Fail(Error::InvalidArgument({}, fmt::format("{}: no such file", path.string())));
  }
  if (std::filesystem::is_directory(path, ec)) {
    return Fail(Error::InvalidArgument({}, fmt::format("{}: is a directory", path.string())));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Fail(Error::InvalidArgument({}, fmt::format("{}: cannot be read", path.string())));
  std::ostringstream text;
  text << in.rdbuf();
  return ParseDotEnv(text.str(), path.string());
}

}  // namespace cidrotor::app
