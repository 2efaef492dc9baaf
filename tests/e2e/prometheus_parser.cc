#include "e2e/prometheus_parser.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>
#include <vector>

namespace cidrotor::e2e {
namespace {

bool IsNameStart(char c, bool colon) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || (colon && c == ':');
}
bool IsNameChar(char c, bool colon) {
  return IsNameStart(c, colon) || std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// Reads a metric (colon allowed) or label name at `pos`.
bool ReadName(std::string_view line, std::size_t& pos, bool colon, std::string& name) {
  const std::size_t start = pos;
  if (pos >= line.size() || !IsNameStart(line[pos], colon)) return false;
  while (pos < line.size() && IsNameChar(line[pos], colon)) ++pos;
  name = std::string(line.substr(start, pos - start));
  return true;
}

bool ParseValue(std::string_view text, double& value) {
  if (text == "+Inf" || text == "Inf") return value = HUGE_VAL, true;
  if (text == "-Inf") return value = -HUGE_VAL, true;
  if (text == "NaN") return value = std::nan(""), true;
  if (text.empty()) return false;
  const std::string copy(text);
  char* end = nullptr;
  value = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size() && std::isfinite(value);
}

// The family of a sample name given the declared types: the name itself, or for a histogram the
// name without _bucket/_sum/_count.
std::string FamilyOf(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string_view s(suffix);
    if (name.size() > s.size() && name.ends_with(s)) {
      const std::string base = name.substr(0, name.size() - s.size());
      const auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  return name;
}

struct Histogram {
  std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
  double count = -1;
};

}  // namespace

double ParsedMetrics::Value(const std::string& key) const {
  const auto it = series.find(key);
  return it == series.end() ? -1 : it->second;
}

bool ParsePrometheusText(std::string_view text, ParsedMetrics& out, std::string& error) {
  if (text.empty() || text.back() != '\n') return error = "text must end with a newline", false;
  std::set<std::string> finished;               // families whose samples ended
  std::string current;                          // the family of the last sample or TYPE line
  std::map<std::string, Histogram> histograms;  // by family + labels other than le
  std::size_t line_no = 0;
  auto fail = [&](const std::string& why, std::string_view line) {
    error = "line " + std::to_string(line_no) + ": " + why + ": " + std::string(line);
    return false;
  };
  auto enter = [&](const std::string& family) {
    if (family == current) return true;
    if (finished.count(family) != 0) return false;  // samples of a family must be contiguous
    if (!current.empty()) finished.insert(current);
    current = family;
    return true;
  };

  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.empty()) continue;
    if (line.front() == '#') {
      if (line.starts_with("# HELP ")) {
        std::size_t pos = 7;
        std::string name;
        if (!ReadName(line, pos, true, name)) return fail("bad HELP name", line);
        continue;
      }
      if (line.starts_with("# TYPE ")) {
        std::size_t pos = 7;
        std::string name;
        if (!ReadName(line, pos, true, name) || pos >= line.size() || line[pos] != ' ') {
          return fail("bad TYPE line", line);
        }
        const std::string type(line.substr(pos + 1));
        static const std::set<std::string> kTypes{"counter", "gauge", "histogram", "summary",
                                                  "untyped"};
        if (kTypes.count(type) == 0) return fail("unknown type", line);
        if (out.types.count(name) != 0) return fail("second TYPE for the family", line);
        if (!enter(name)) return fail("TYPE after the family's samples", line);
        out.types[name] = type;
        continue;
      }
      continue;  // other comments are allowed
    }

    std::size_t pos = 0;
    std::string name;
    if (!ReadName(line, pos, true, name)) return fail("bad metric name", line);
    std::vector<std::pair<std::string, std::string>> labels;
    if (pos < line.size() && line[pos] == '{') {
      ++pos;
      while (pos < line.size() && line[pos] != '}') {
        std::string label;
        if (!ReadName(line, pos, false, label)) return fail("bad label name", line);
        if (line.substr(pos, 2) != "=\"") return fail("label without =\"", line);
        pos += 2;
        std::string value;
        for (;;) {
          if (pos >= line.size()) return fail("unterminated label value", line);
          const char c = line[pos++];
          if (c == '"') break;
          if (c == '\\') {
            if (pos >= line.size()) return fail("dangling escape", line);
            const char e = line[pos++];
            if (e == 'n') {
              value.push_back('\n');
            } else if (e == '\\' || e == '"') {
              value.push_back(e);
            } else {
              return fail("bad escape", line);
            }
          } else {
            value.push_back(c);
          }
        }
        for (const auto& [existing, ignored] : labels) {
          if (existing == label) return fail("label twice", line);
        }
        labels.emplace_back(label, value);
        if (pos < line.size() && line[pos] == ',') ++pos;
      }
      if (pos >= line.size()) return fail("unterminated label set", line);
      ++pos;  // '}'
    }
    if (pos >= line.size() || line[pos] != ' ') return fail("no space before the value", line);
    std::string_view rest = line.substr(pos + 1);
    const std::size_t space = rest.find(' ');
    double value = 0;
    if (!ParseValue(rest.substr(0, space), value)) return fail("bad value", line);
    if (space != std::string_view::npos) {  // an optional integer timestamp
      const std::string_view stamp = rest.substr(space + 1);
      if (stamp.empty() || !std::all_of(stamp.begin(), stamp.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '-';
          })) {
        return fail("bad timestamp", line);
      }
    }

    const std::string family = FamilyOf(name, out.types);
    if (!enter(family)) return fail("samples of a family are not contiguous", line);
    const auto type = out.types.find(family);
    if (type != out.types.end() && type->second == "counter" && value < 0) {
      return fail("negative counter", line);
    }

    std::sort(labels.begin(), labels.end());
    std::string key = name;
    std::string without_le;
    if (!labels.empty()) {
      key += '{';
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) key += ',';
        key += labels[i].first + "=\"" + labels[i].second + "\"";
        if (labels[i].first != "le") without_le += labels[i].first + "=" + labels[i].second + ";";
      }
      key += '}';
    }
    if (!out.series.emplace(key, value).second) return fail("duplicate series", line);

    if (type != out.types.end() && type->second == "histogram") {
      Histogram& h = histograms[family + "|" + without_le];
      if (name == family + "_bucket") {
        const auto le = std::find_if(labels.begin(), labels.end(),
                                     [](const auto& l) { return l.first == "le"; });
        double bound = 0;
        if (le == labels.end() || !ParseValue(le->second, bound)) {
          return fail("bucket without a valid le", line);
        }
        if (!h.buckets.empty() &&
            (bound <= h.buckets.back().first || value < h.buckets.back().second)) {
          return fail("buckets not increasing and cumulative", line);
        }
        h.buckets.emplace_back(bound, value);
      } else if (name == family + "_count") {
        h.count = value;
      }
    }
  }
  for (const auto& [key, h] : histograms) {
    if (h.buckets.empty() || !std::isinf(h.buckets.back().first)) {
      return error = "histogram " + key + " has no +Inf bucket", false;
    }
    if (h.count != h.buckets.back().second) {
      return error = "histogram " + key + ": _count differs from the +Inf bucket", false;
    }
  }
  return true;
}

}  // namespace cidrotor::e2e
