// Lookup of a number's record id by its 10 digits, in about 8 bytes a number.
//
// Why not std::unordered_map<uint64_t, uint32_t>: a node per element costs 32+ bytes. This is an
// open-addressing table of 32-bit record ids (linear probing, backward-shift deletion, so no
// tombstones) whose hash and equality read the digits from the record itself (DESIGN-NOTES §1).
// DigitsOf is any callable `std::uint64_t(std::uint32_t id)`. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace cidrotor::core {

template <class DigitsOf>
class NumberTable {
 public:
  explicit NumberTable(DigitsOf digits_of) : digits_of_(digits_of), slots_(16, kEmpty) {}

  std::optional<std::uint32_t> Find(std::uint64_t digits) const {
    for (std::size_t i = Home(digits);; i = Next(i)) {
      const std::uint32_t id = slots_[i];
      if (id == kEmpty) return std::nullopt;
      if (digits_of_(id) == digits) return id;
    }
  }

  // REQUIRES: no id with the same digits is present.
  void Insert(std::uint32_t id) {
    if ((size_ + 1) * 5 > slots_.size() * 4) Grow();  // keep load under 0.8
    Place(id);
    ++size_;
  }

  // REQUIRES: id is present.
  void Erase(std::uint32_t id) {
    std::size_t hole = Home(digits_of_(id));
    while (slots_[hole] != id) hole = Next(hole);
    // Backward-shift: pull later entries of the probe run into the hole when allowed.
    for (std::size_t i = Next(hole);; i = Next(i)) {
      const std::uint32_t moved = slots_[i];
      if (moved == kEmpty) break;
      const std::size_t home = Home(digits_of_(moved));
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
  static constexpr std::uint32_t kEmpty = 0xFFFF'FFFF;

  std::size_t Home(std::uint64_t digits) const {
    std::uint64_t h = digits * 0x9E37'79B9'7F4A'7C15ULL;  // Fibonacci hashing
    h ^= h >> 29;
    return static_cast<std::size_t>(h) & (slots_.size() - 1);
  }
  std::size_t Next(std::size_t i) const { return (i + 1) & (slots_.size() - 1); }

  void Place(std::uint32_t id) {
    std::size_t i = Home(digits_of_(id));
    while (slots_[i] != kEmpty) i = Next(i);
    slots_[i] = id;
  }

  void Grow() {
    std::vector<std::uint32_t> old(slots_.size() * 2, kEmpty);
    old.swap(slots_);
    for (std::uint32_t id : old) {
      if (id != kEmpty) Place(id);
    }
  }

  DigitsOf digits_of_;
  std::vector<std::uint32_t> slots_;
  std::size_t size_ = 0;
};

}  // namespace cidrotor::core
