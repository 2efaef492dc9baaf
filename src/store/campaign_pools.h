// The campaigns → pools table both Stores keep in memory (SPEC: campaigns map to pools; an unmapped
// campaign allocates from pool "default"). Allocation reads it for every request: with nothing
// mapped that is one atomic load, else one hash probe under a mutex held for nanoseconds; changes
// are rare admin operations.
//
// Example:
//   CampaignPools pools;
//   pools.Set("sales", "east");
//   request.pool = pools.PoolFor(request.campaign);  // "east"; "" for an unmapped campaign
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
#include <vector>

#include "store/store.h"

namespace cidrotor::store {

class CampaignPools {
 public:
  // The pool that serves `campaign`; "" (pool "default") when it is not mapped.
  [[nodiscard]] std::string PoolFor(std::string_view campaign) const;
  // Maps `campaign` to `pool`; returns its previous pool, if it had one.
  std::optional<std::string> Set(const std::string& campaign, const std::string& pool);
  // Unmaps `campaign`; returns the pool it had, nullopt when it was not mapped.
  std::optional<std::string> Remove(const std::string& campaign);
  // Sets or unmaps (`pool` empty) in one call: what a CampaignPoolChanged entry says.
  void Apply(const std::string& campaign, const std::optional<std::string>& pool);
  // Replaces the whole table (cluster mode: the copy read back from Redis) unless it changed
  // since Version() returned `version`: a copy read before a local change must not undo it.
  // Returns whether it replaced.
  bool ReplaceIfUnchanged(const std::vector<CampaignPool>& mappings, std::uint64_t version);
  // Counts the changes: Set, Remove of a mapped campaign, Apply, replacements.
  [[nodiscard]] std::uint64_t Version() const;
  // Every mapping, by campaign name.
  [[nodiscard]] std::vector<CampaignPool> List() const;
  [[nodiscard]] std::size_t size() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> pools_;  // guarded by mu_
  std::uint64_t version_ = 0;                                                  // guarded by mu_
  std::atomic<bool> empty_{true};  // pools_.empty(), written under mu_, read without it
};

}  // namespace cidrotor::store
