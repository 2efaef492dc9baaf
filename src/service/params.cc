#include "service/params.h"

namespace cidrotor::service {

core::Result<void> Params::Add(std::string name, std::string value) {
  if (name.size() > kMaxValueBytes || value.size() > kMaxValueBytes) {
    if (name.size() > kMaxValueBytes) name.resize(64);  // keep error messages small
    return core::Fail(core::Error::InvalidArgument(std::move(name), "is too long"));
  }
  if (entries_.size() >= kMaxParams) {
    return core::Fail(core::Error::InvalidArgument(std::move(name), "too many parameters"));
  }
  entries_.emplace_back(std::move(name), std::move(value));
  return {};
}

std::optional<std::string_view> Params::Get(std::string_view name) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->first == name && !it->second.empty()) return std::string_view(it->second);
  }
  return std::nullopt;
}

bool Params::Given(std::string_view name) const {
  for (const auto& [key, value] : entries_) {
    if (key == name) return true;
  }
  return false;
}

}  // namespace cidrotor::service
