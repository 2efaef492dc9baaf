// A strict parser of the Prometheus text exposition format (0.0.4), for the tests of GET /metrics:
// it fails on anything a scraper could choke on or that would be a lie, rather than skipping it.
// Checked: metric and label names' grammar; quoted label values with only \\ \" \n escapes;
// values as Go's ParseFloat takes them (+Inf, -Inf, NaN too); `# TYPE` at most once per family,
// before its samples, and one of counter/gauge/histogram/summary/untyped; each family's samples
// contiguous; sample names matching their family (histograms: _bucket/_sum/_count); no duplicate
// series; histogram buckets cumulative with a +Inf bucket equal to _count; text ends with \n.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace cidrotor::e2e {

struct ParsedMetrics {
  std::map<std::string, std::string> types;  // family -> type
  // Series -> value. The key is the name plus its labels, sorted by name, as
  // `name{a="1",b="2"}` (or just `name`).
  std::map<std::string, double> series;

  // The value of a series, or -1 when absent. `key` as in `series`.
  double Value(const std::string& key) const;
};

// Parses `text`; false with `error` naming the line at fault.
bool ParsePrometheusText(std::string_view text, ParsedMetrics& out, std::string& error);

}  // namespace cidrotor::e2e
