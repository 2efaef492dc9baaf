// Which reservation the AGI server made for which channel, so that `agi://host/release` from a
// hang-up handler, without a `reservation=` argument, ends the right one (SPEC "VICIdial /
// Asterisk integration"). A channel is named by ChannelKey: Asterisk's agi_uniqueid is unique on
// one Asterisk server only (its start time and a counter), and several dialers may share one
// cidrotor, so the key is the Asterisk server's address with the uniqueid. Bounded: at most
// `capacity` entries, each kept for `ttl` after it was made; the oldest entry makes room for a new
// one. Only this process remembers: a release reaching another instance needs
// `reservation=${CIDROTOR_RESERVATION}`. Thread-safe (one mutex, held for a hash lookup); time is
// passed in, never read here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace cidrotor::agi {

// The memo's key of a channel: the address of the Asterisk server that sent it (the FastAGI
// connection's peer) and its agi_uniqueid. Empty when the uniqueid is.
std::string ChannelKey(std::string_view peer_address, std::string_view uniqueid);

class ReservationMemo {
 public:
  ReservationMemo(std::size_t capacity, std::chrono::seconds ttl);

  // Remembers `reservation_id` for `uniqueid` (a ChannelKey). Returns the reservation it replaces,
  // if any: a channel that asks again (a second Dial after the first failed) shows one caller-ID
  // at a time, so the caller releases the earlier one. Empty ids are ignored.
  [[nodiscard]] std::optional<std::uint64_t> Remember(std::string_view uniqueid,
                                                      std::uint64_t reservation_id,
                                                      core::TimePoint now);
  // The reservation made for `uniqueid`, or nullopt (none, or expired). Kept until Forget: a
  // release that fails (bad input, the store down) can be tried again.
  std::optional<std::uint64_t> Find(std::string_view uniqueid, core::TimePoint now);
  // Forgets `uniqueid`'s entry when it names `reservation_id` (released).
  void Forget(std::string_view uniqueid, std::uint64_t reservation_id);
  std::size_t size() const;

 private:
  struct Entry {
    std::uint64_t reservation_id = 0;
    core::TimePoint expires_at;
    std::uint64_t sequence = 0;  // which order_ record is current
  };
  void EvictLocked(core::TimePoint now, std::size_t keep_at_most);

  const std::size_t capacity_;
  const std::chrono::seconds ttl_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
  // Insertion order for expiry and eviction; stale records (replaced or taken) are skipped.
  std::deque<std::pair<std::string, std::uint64_t>> order_;  // guarded by mu_
  std::uint64_t next_sequence_ = 0;                          // guarded by mu_
};

}  // namespace cidrotor::agi
