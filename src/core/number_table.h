// Lookup of a number's record id by its 10 digits, in about 8 bytes a number.
//
// Why not std::unordered_map<uint64_t, uint32_t>: a node per element costs 32+ bytes. This is an
// open-addressing table of 32-bit slots (linear probing, backward-shift deletion, so no
// tombstones) whose equality reads the digits from the record itself (DESIGN-NOTES §1). A slot
// holds the record id (24 bits: ids are below kMaxIds, the index's own limit) and 8 bits of the
// number's hash, so a probe that passes other numbers reads their records only when those bits
// match (1 in 255): looking up a number that is absent, which every new number does, costs no
// record read, where each probed slot cost one (a cache miss in a large pool: start-up spent a
// quarter of its time here).
// DigitsOf is any callable `std::uint64_t(std::uint32_t id)`. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace cidrotor::core {

template <class DigitsOf>
class NumberTable {
 public:
  // Record ids the table can hold: 0 .. kMaxIds - 1.
  static constexpr std::uint32_t kMaxIds = 1U << 24;

  explicit NumberTable(DigitsOf digits_of) : digits_of_(digits_of), slots_(16, kEmpty) {}

  std::optional<std::uint32_t> Find(std::uint64_t digits) const {
    const std::uint64_t hash = Hash(digits);
    const std::uint32_t tag = TagOf(hash);
    for (std::size_t i = Home(hash);; i = Next(i)) {
      const std::uint32_t slot = slots_[i];
      if (slot == kEmpty) return std::nullopt;
      if ((slot & kTagMask) == tag && digits_of_(slot & kIdMask) == digits) return slot & kIdMask;
    }
  }

  // Makes room for `count` entries in all, so that inserting up to that many never grows the
  // table (a grow reads every entry's record again).
  void Reserve(std::size_t count) {
    std::size_t slots = slots_.size();
    while (count * 5 > slots * 4) slots *= 2;
    if (slots > slots_.size()) Rehash(slots);
  }

  // REQUIRES: id < kMaxIds, and no id with the same digits is present.
  void Insert(std::uint32_t id) {
    if ((size_ + 1) * 5 > slots_.size() * 4) Rehash(slots_.size() * 2);  // keep load under 0.8
    Place(id);
    ++size_;
  }

  // REQUIRES: id is present.
  void Erase(std::uint32_t id) {
    std::size_t hole = Home(Hash(digits_of_(id)));
    while ((slots_[hole] & kIdMask) != id) hole = Next(hole);
    // Backward-shift: pull later entries of the probe run into the hole when allowed.
    for (std::size_t i = Next(hole);; i = Next(i)) {
      const std::uint32_t moved = slots_[i];
      if (moved == kEmpty) break;
      const std::size_t home = Home(Hash(digits_of_(moved & kIdMask)));
      // `moved` may fill the hole if its home is not cyclically in (hole, i].
      const bool home_after_hole =
          hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
      if (!home_after_hole) {
        slots_[hole] = moved;
        hole = i;
      }
    }
    slots_[hole] = kEmpty;
    --size_;
  }

  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint32_t kIdMask = kMaxIds - 1;
  static constexpr std::uint32_t kTagMask = ~kIdMask;
  static constexpr std::uint32_t kEmpty = 0;  // a tag is never 0

  static std::uint64_t Hash(std::uint64_t digits) {
    std::uint64_t h = digits * 0x9E37'79B9'7F4A'7C15ULL;  // Fibonacci hashing
    return h ^ (h >> 29);
  }
  // The hash's top 8 bits (the home takes its low ones), 0 made 1, in the slot's top 8 bits.
  static std::uint32_t TagOf(std::uint64_t hash) {
    const auto top = static_cast<std::uint32_t>(hash >> 56);
    return (top == 0 ? 1U : top) << 24;
  }
  std::size_t Home(std::uint64_t hash) const {
    return static_cast<std::size_t>(hash) & (slots_.size() - 1);
  }
  std::size_t Next(std::size_t i) const { return (i + 1) & (slots_.size() - 1); }

  void Place(std::uint32_t id) {
    const std::uint64_t hash = Hash(digits_of_(id));
    std::size_t i = Home(hash);
    while (slots_[i] != kEmpty) i = Next(i);
    slots_[i] = TagOf(hash) | id;
  }

  // REQUIRES: `slots` is a power of two, and larger than the table's size.
  void Rehash(std::size_t slots) {
    std::vector<std::uint32_t> old(slots, kEmpty);
    old.swap(slots_);
    for (std::uint32_t slot : old) {
      if (slot != kEmpty) Place(slot & kIdMask);
    }
  }

  DigitsOf digits_of_;
  std::vector<std::uint32_t> slots_;
  std::size_t size_ = 0;
};

}  // namespace cidrotor::core
