// The named string parameters of one request, whatever carried them: an HTTP query string, a form
// or JSON body, or (later) a FastAGI request's arguments. Parsers in service/requests.h read
// typed requests from it, so HTTP and FastAGI validate their input in one place.
//
// Semantics (SPEC "An empty parameter counts as absent"): Get() ignores empty values, and when a
// name occurs more than once the last non-empty value wins, so a transport adds its sources from
// weakest to strongest (query string, then body). Bounded: at most kMaxParams parameters, names
// and values of at most kMaxValueBytes bytes each; Add() refuses more.
// Value type, thread-compatible.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace cidrotor::service {

class Params {
 public:
  static constexpr std::size_t kMaxParams = 64;
  static constexpr std::size_t kMaxValueBytes = 1024;

  // Appends one parameter. Returns kInvalidArgument naming `name` when the name or value is
  // longer than kMaxValueBytes ("is too long") or kMaxParams parameters are already held
  // ("too many parameters"); the list is unchanged then.
  [[nodiscard]] core::Result<void> Add(std::string name, std::string value);

  // The last non-empty value of `name`, or nullopt when the name is absent or only empty.
  // The view is valid until the Params is modified or destroyed.
  std::optional<std::string_view> Get(std::string_view name) const;

  // Whether any non-empty value of `name` is held.
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  // Whether `name` was given at all, even empty (a PATCH's way to clear a field).
  bool Given(std::string_view name) const;

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;  // in the order added
};

}  // namespace cidrotor::service
