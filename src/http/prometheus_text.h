// Writes the Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` once per
// metric family, then its samples, label values escaped (\\, \", \n). Pure; the caller keeps each
// family's samples together, as the format requires.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace cidrotor::http {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4";

using Label = std::pair<std::string_view, std::string_view>;

class PrometheusWriter {
 public:
  // Starts a family. `type`: "counter", "gauge" or "histogram".
  void Family(std::string_view name, std::string_view type, std::string_view help);

  void Sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t value);
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value);

  std::string Take() { return std::move(text_); }

 private:
  void Head(std::string_view name, std::initializer_list<Label> labels);

  std::string text_;
};

}  // namespace cidrotor::http
