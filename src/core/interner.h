// Small names (pools, carriers, states) stored once and referred to by a 16-bit id, so a
// number's record holds 2 bytes instead of a 32-byte std::string. Id 0 is always "".
// Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cidrotor::core {

class Interner {
 public:
  static constexpr std::size_t kCapacity = 65'536;  // names, "" included

  Interner() { Intern(""); }

  // The id of `name`, adding it when new; nullopt when kCapacity names are taken already.
  std::optional<std::uint16_t> Intern(std::string_view name) {
    if (auto found = Find(name)) return found;
    if (names_.size() >= kCapacity) return std::nullopt;
    const auto id = static_cast<std::uint16_t>(names_.size());
    names_.emplace_back(name);
    ids_.emplace(names_.back(), id);
    return id;
  }

  std::optional<std::uint16_t> Find(std::string_view name) const {
    auto it = ids_.find(std::string(name));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }

  const std::string& Name(std::uint16_t id) const { return names_[id]; }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::uint16_t> ids_;
};

}  // namespace cidrotor::core
