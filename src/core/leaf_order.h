// The order of one leaf group (one pool's numbers of one exchange): a min-queue of LeafEntry by
// (last_used, last_used_ms, line), as LruForest needs it: look at the oldest, remove it, add an
// entry.
//
// Why not just a binary heap: numbers mostly come back to the order in the order they were used
// (reservations of one TTL expire in allocation order, calls released promptly), so most
// additions are not older than the newest entry. Those go to a FIFO ring, where taking the oldest
// and adding the newest touch one cache line each; a heap pop at a million numbers walks a dozen
// lines. Entries older than the ring's newest (a call released early, a number reactivated, a
// load in caller_id order) go to a binary heap. The oldest overall is the older of the two fronts.
// Every operation is O(log n); both buffers shrink when mostly empty, so memory follows the
// number of entries. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <vector>

namespace cidrotor::core {

// One number in a leaf order, with its key inline: (last_used, last_used_ms, line), ties by line
// (within one exchange, by number). Packed into 12 bytes, as SPEC's memory per number needs: the
// millisecond and the line share 24 bits, the generation is split over the two spare bytes, so a
// record id has 24 bits (kMaxRecords).
class LeafEntry {
 public:
  static constexpr std::uint32_t kMaxRecords = 1U << 24;

  LeafEntry() = default;
  // REQUIRES: last_used_ms < 1000, line < 10'000, record < kMaxRecords.
  LeafEntry(std::uint32_t last_used, std::uint16_t last_used_ms, std::uint16_t line,
            std::uint16_t generation, std::uint32_t record)
      : last_used_(last_used),
        tie_(((std::uint32_t{last_used_ms} << kLineBits | line) << 8) | (generation >> 8)),
        record_(record << 8 | (generation & 0xFFU)) {}

  std::uint32_t last_used() const { return last_used_; }
  std::uint16_t last_used_ms() const { return static_cast<std::uint16_t>(tie_ >> (8 + kLineBits)); }
  std::uint16_t line() const { return static_cast<std::uint16_t>((tie_ >> 8) & kLineMask); }
  std::uint16_t generation() const {
    return static_cast<std::uint16_t>((tie_ & 0xFFU) << 8 | (record_ & 0xFFU));
  }
  std::uint32_t record() const { return record_ >> 8; }

  // Newer-than: the heap is a max-heap of this relation, i.e. a min-heap of keys. The
  // generation's high byte below the key only orders two entries of one record.
  friend bool operator>(const LeafEntry& a, const LeafEntry& b) {
    return a.last_used_ != b.last_used_ ? a.last_used_ > b.last_used_ : a.tie_ > b.tie_;
  }

 private:
  static constexpr int kLineBits = 14;  // 10,000 lines; the millisecond takes the 10 above
  static constexpr std::uint32_t kLineMask = (1U << kLineBits) - 1;

  // No default member initializers: a default-initialized entry is left uninitialized, so a
  // ring's spare capacity (LeafOrder::Regrow) stays out of resident memory. With `= 0` here
  // every grown ring was zeroed whole: +7.3 MB at 1,000,000 numbers (97.0 -> 104.4 MB, past
  // SPEC's 100 B per number), as leaves of just over a power of two sit in twice that.
  std::uint32_t last_used_;
  std::uint32_t tie_;     // last_used_ms:10 | line:14 | generation's high byte
  std::uint32_t record_;  // record:24 | generation's low byte
};
static_assert(sizeof(LeafEntry) == 12, "leaf entries are part of the memory per number");
static_assert(std::is_trivially_default_constructible_v<LeafEntry>,
              "a ring's unused slots must not be written (resident memory)");

class LeafOrder {
 public:
  bool empty() const { return ring_size_ == 0 && heap_.empty(); }
  std::size_t size() const { return ring_size_ + heap_.size(); }

  // The oldest entry. REQUIRES: !empty().
  const LeafEntry& front() const { return RingHasOldest() ? RingFront() : heap_.front(); }

  void push(const LeafEntry& entry) {
    if (ring_size_ == 0 || !(RingBack() > entry)) {
      if (ring_size_ == capacity_) Regrow(std::max<std::size_t>(kMinRing, 2 * capacity_));
      ring_[(head_ + ring_size_) & (capacity_ - 1)] = entry;
      ++ring_size_;
      return;
    }
    heap_.push_back(entry);
    std::push_heap(heap_.begin(), heap_.end(), std::greater<>{});
  }

  // Removes every entry `stale(entry)` is true for; keeps the rest in order. O(n log n): for
  // compacting a leaf whose stale entries (numbers taken out of the middle) outgrew its live ones.
  template <class Stale>
  void EraseIf(Stale stale) {
    std::vector<LeafEntry> kept;
    kept.reserve(size());
    for (std::uint32_t i = 0; i < ring_size_; ++i) {
      const LeafEntry& entry = ring_[(head_ + i) & (capacity_ - 1)];
      if (!stale(entry)) kept.push_back(entry);
    }
    for (const LeafEntry& entry : heap_) {
      if (!stale(entry)) kept.push_back(entry);
    }
    std::sort(kept.begin(), kept.end(),
              [](const LeafEntry& a, const LeafEntry& b) { return b > a; });
    *this = LeafOrder();
    for (const LeafEntry& entry : kept) push(entry);  // in key order: all into the ring
  }

  // Removes front(). REQUIRES: !empty().
  void pop() {
    if (RingHasOldest()) {
      head_ = (head_ + 1) & (capacity_ - 1);
      --ring_size_;
      if (capacity_ > kMinRing && ring_size_ < capacity_ / 4) Regrow(capacity_ / 2);
      return;
    }
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>{});
    heap_.pop_back();
    if (heap_.capacity() > kMinRing && heap_.size() < heap_.capacity() / 4) {
      heap_.shrink_to_fit();
    }
  }

 private:
  static constexpr std::size_t kMinRing = 4;  // ring capacity: 0 or a power of two >= this

  const LeafEntry& RingFront() const { return ring_[head_]; }
  const LeafEntry& RingBack() const { return ring_[(head_ + ring_size_ - 1) & (capacity_ - 1)]; }
  bool RingHasOldest() const {
    return ring_size_ > 0 && (heap_.empty() || !(RingFront() > heap_.front()));
  }

  // Moves the ring's entries, oldest first, into a buffer of `capacity` (a power of two). The
  // buffer is left uninitialized: pages of a large ring that no entry reached yet stay out of
  // resident memory, as a std::vector's reserved capacity does.
  void Regrow(std::size_t capacity) {
    auto grown = std::make_unique_for_overwrite<LeafEntry[]>(capacity);
    for (std::uint32_t i = 0; i < ring_size_; ++i) {
      grown[i] = ring_[(head_ + i) & (capacity_ - 1)];
    }
    ring_ = std::move(grown);
    capacity_ = static_cast<std::uint32_t>(capacity);
    head_ = 0;
  }

  std::unique_ptr<LeafEntry[]>
      ring_;  // capacity_ slots; ring_size_ entries in key order from head_
  std::uint32_t capacity_ = 0;
  std::uint32_t head_ = 0;
  std::uint32_t ring_size_ = 0;
  std::vector<LeafEntry> heap_;  // min-heap (by std::greater) of the out-of-order entries
};

}  // namespace cidrotor::core
