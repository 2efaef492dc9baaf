// Files compiled into the binary (the dashboard's assets from web/, docs/openapi.json), so the
// dashboard works on a server with no network: no CDN, nothing read from disk at run time.
// The table is generated at build time by cmake/embed_files.cmake (src/http/CMakeLists.txt).
// Immutable static data: thread-safe.
#pragma once

#include <string_view>

namespace cidrotor::http {

struct EmbeddedFile {
  std::string_view name;  // "dashboard/app.js", "openapi.json"
  std::string_view data;  // the file's bytes
};

// The embedded file called `name`, or null.
const EmbeddedFile* FindEmbeddedFile(std::string_view name);

}  // namespace cidrotor::http
