// `.env` files: the NAME=VALUE lines that docker-compose, the seed and most deployment tools
// read, parsed without executing anything (no variable expansion, no command substitution).
//
// Syntax: blank lines and `#` comments; an optional `export ` prefix; values unquoted (trimmed,
// cut at a `#` that follows whitespace), in single quotes (literal) or in double quotes (escapes
// \n \t \r \" \\ \$). Later lines win. Pure functions; ReadDotEnvFile reads one file.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace cidrotor::app {

// Raw values by variable name ("API_PORT" -> "8000"), one map per configuration source.
using Values = std::map<std::string, std::string, std::less<>>;

// Parses a .env file's text. `source` names the file in errors.
// Errors: kInvalidArgument "FILE:LINE: ..." for a line that is not an assignment, an invalid
// name, an unterminated quote or text after a closing quote.
[[nodiscard]] core::Result<Values> ParseDotEnv(std::string_view text, std::string_view source);

// Reads and parses `path`; a missing file is an empty set unless `required` (a file named on the
// command line: a typo there must not run on the defaults). Errors: as ParseDotEnv, or
// kInvalidArgument when the file is required and missing, is a directory, or cannot be read.
[[nodiscard]] core::Result<Values> ReadDotEnvFile(const std::filesystem::path& path,
                                                  bool required = false);

}  // namespace cidrotor::app
