#include "agi/reservation_memo.h"

#include <utility>

namespace cidrotor::agi {

ReservationMemo::ReservationMemo(std::size_t capacity, std::chrono::seconds ttl)
    : capacity_(capacity == 0 ? 1 : capacity), ttl_(ttl) {}

std::string ChannelKey(std::string_view peer_address, std::string_view uniqueid) {
  if (uniqueid.empty()) return {};
  std::string key(peer_address);
  key += ' ';
  key += uniqueid;
  return key;
}

std::optional<std::uint64_t> ReservationMemo::Remember(std::string_view uniqueid,
                                                       std::uint64_t reservation_id,
                                                       core::TimePoint now) {
  if (uniqueid.empty()) return std::nullopt;
  const std::string key(uniqueid);
  std::lock_guard lock(mu_);
  EvictLocked(now, capacity_);
  std::optional<std::uint64_t> replaced;
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (it->second.reservation_id != reservation_id) replaced = it->second.reservation_id;
  } else {
    EvictLocked(now, capacity_ - 1);  // room for one more
    it = entries_.try_emplace(key).first;
  }
  const std::uint64_t sequence = next_sequence_++;
  it->second = Entry{reservation_id, now + ttl_, sequence};
  order_.emplace_back(key, sequence);
  return replaced;
}

std::optional<std::uint64_t> ReservationMemo::Find(std::string_view uniqueid, core::TimePoint now) {
  if (uniqueid.empty()) return std::nullopt;
  std::lock_guard lock(mu_);
  EvictLocked(now, capacity_);
  const auto it = entries_.find(std::string(uniqueid));
  if (it == entries_.end()) return std::nullopt;
  return it->second.reservation_id;
}

void ReservationMemo::Forget(std::string_view uniqueid, std::uint64_t reservation_id) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(std::string(uniqueid));
  if (it != entries_.end() && it->second.reservation_id == reservation_id) entries_.erase(it);
}

std::size_t ReservationMemo::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void ReservationMemo::EvictLocked(core::TimePoint now, std::size_t keep_at_most) {
  // Drops expired entries from the front, then the oldest while more than `keep_at_most` are
  // held, and records that no longer match their entry. The deque holds at most one record per
  // Remember() that is still in the map plus the stale ones ahead of the first live record.
  while (!order_.empty()) {
    const auto& [uniqueid, sequence] = order_.front();
    const auto it = entries_.find(uniqueid);
    const bool stale = it == entries_.end() || it->second.sequence != sequence;
    if (!stale && it->second.expires_at > now && entries_.size() <= keep_at_most) break;
    if (!stale) entries_.erase(it);
    order_.pop_front();
  }
  // Stale records behind a live front record are bounded by compacting when the deque grows.
  if (order_.size() > 2 * capacity_ + 16) {
    std::deque<std::pair<std::string, std::uint64_t>> live;
    for (auto& record : order_) {
      const auto it = entries_.find(record.first);
      if (it != entries_.end() && it->second.sequence == record.second) {
        live.push_back(std::move(record));
      }
    }
    order_.swap(live);
  }
}

}  // namespace cidrotor::agi
