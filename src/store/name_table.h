// A small name → name table both Stores keep in memory for their settings tables: campaigns →
// pools (SPEC: an unmapped campaign allocates from pool "default") and pools → fallback (SPEC:
// a pool whose fallback is `none` has no `any` tier). Allocation reads them for every request:
// while a table is empty that is one atomic load, else one hash probe under a mutex held for
// nanoseconds; changes are rare admin operations.
//
// Example:
//   NameTable campaigns;
//   campaigns.Set("sales", "east");
//   request.pool = campaigns.Lookup(request.campaign);  // "east"; "" for an unmapped campaign
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cidrotor::store {

class NameTable {
 public:
  using Entry = std::pair<std::string, std::string>;  // key, value

  // `key`'s value; "" when it has none.
  [[nodiscard]] std::string Lookup(std::string_view key) const;
  // Sets `key` to `value`; returns its previous value, if it had one.
  std::optional<std::string> Set(const std::string& key, const std::string& value);
  // Removes `key`; returns the value it had, nullopt when it had none.
  std::optional<std::string> Remove(const std::string& key);
  // Sets or removes (`value` empty) in one call: what a journal entry says.
  void Apply(const std::string& key, const std::optional<std::string>& value);
  // Replaces the whole table (cluster mode: the copy read back from Redis) unless it changed
  // since Version() returned `version`: a copy read before a local change must not undo it.
  // Returns whether it replaced.
  bool ReplaceIfUnchanged(const std::vector<Entry>& entries, std::uint64_t version);
  // Counts the changes: Set, Remove of a present key, Apply, replacements.
  [[nodiscard]] std::uint64_t Version() const;
  // Every entry, by key.
  [[nodiscard]] std::vector<Entry> List() const;
  [[nodiscard]] std::size_t size() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> entries_;  // guarded by mu_
  std::uint64_t version_ = 0;                                                    // guarded by mu_
  std::atomic<bool> empty_{true};  // entries_.empty(), written under mu_, read without it
};

}  // namespace cidrotor::store
