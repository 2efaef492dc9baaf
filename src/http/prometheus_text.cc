#include "http/prometheus_text.h"

#include <fmt/format.h>

namespace cidrotor::http {
namespace {

void AppendEscaped(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\':
        out.append("\\\\");
        break;
      case '"':
        out.append("\\\"");
        break;
      case '\n':
        out.append("\\n");
        break;
      default:
        out.push_back(c);
    }
  }
}

}  // namespace

void PrometheusWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PrometheusWriter::Head(std::string_view name, std::initializer_list<Label> labels) {
  text_.append(name);
  if (labels.size() == 0) return;
  text_.push_back('{');
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) text_.push_back(',');
    first = false;
    text_.append(key);
    text_.append("=\"");
    AppendEscaped(text_, value);
    text_.push_back('"');
  }
  text_.push_back('}');
}

void PrometheusWriter::Sample(std::string_view name, std::initializer_list<Label> labels,
                              std::uint64_t value) {
  Head(name, labels);
  fmt::format_to(std::back_inserter(text_), " {}\n", value);
}

void PrometheusWriter::Sample(std::string_view name, std::initializer_list<Label> labels,
                              double value) {
  Head(name, labels);
  fmt::format_to(std::back_inserter(text_), " {}\n", value);
}

}  // namespace cidrotor::http
