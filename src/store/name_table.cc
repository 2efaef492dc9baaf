#include "store/name_table.h"

#include <algorithm>

namespace cidrotor::store {

std::string NameTable::Lookup(std::string_view key) const {
  if (empty_.load(std::memory_order_acquire)) return {};  // the usual case: no lock, no hashing
  std::lock_guard lock(mu_);
  const auto it = entries_.find(key);
  return it == entries_.end() ? std::string() : it->second;
}

std::optional<std::string> NameTable::Set(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  ++version_;
  auto [it, inserted] = entries_.try_emplace(key, value);
  empty_.store(false, std::memory_order_release);
  if (inserted) return std::nullopt;
  return std::exchange(it->second, value);
}

std::optional<std::string> NameTable::Remove(const std::string& key) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;  // nothing changed: the version stays
  ++version_;
  std::string value = std::move(it->second);
  entries_.erase(it);
  empty_.store(entries_.empty(), std::memory_order_release);
  return value;
}

void NameTable::Apply(const std::string& key, const std::optional<std::string>& value) {
  if (value) {
    Set(key, *value);
  } else {
    Remove(key);
  }
}

bool NameTable::ReplaceIfUnchanged(const std::vector<Entry>& entries, std::uint64_t version) {
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> fresh;
  for (const Entry& e : entries) fresh[e.first] = e.second;
  std::lock_guard lock(mu_);
  if (version_ != version) return false;
  ++version_;
  entries_.swap(fresh);
  empty_.store(entries_.empty(), std::memory_order_release);
  return true;
}

std::uint64_t NameTable::Version() const {
  std::lock_guard lock(mu_);
  return version_;
}

std::vector<NameTable::Entry> NameTable::List() const {
  std::vector<Entry> list;
  {
    std::lock_guard lock(mu_);
    list.assign(entries_.begin(), entries_.end());
  }
  std::sort(list.begin(), list.end());
  return list;
}

std::size_t NameTable::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace cidrotor::store
