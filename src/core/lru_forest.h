// The least-recently-used order of a pool's available numbers, nested by tier.
//
// Why this shape (DESIGN-NOTES §2): tiers nest (exchange ⊂ area code ⊂ pool), so each number sits
// in exactly one order, that of its (pool, exchange) leaf group, keyed by (last_used, its
// millisecond, number). Each group above keeps a min-heap of its non-empty child groups keyed by
// the child's head. The least recently used number of any tier is found by walking heads down from
// that tier's group, and linking or unlinking a number updates its leaf and the heads above it:
// O(log n) per level. Leaf orders (core/leaf_order.h: a FIFO ring for numbers that come back in the
// order they were used, a heap for the rest) hold 12-byte entries carrying their own key (last use
// to the millisecond and the number's last four digits: a leaf is one exchange), so ordering never
// touches the records themselves: at a million numbers, records are cache misses. Removal from a
// leaf is lazy: a number that leaves the order only clears its `linked` flag, and an entry whose
// generation no longer matches its record is dropped when it reaches the front (the front is always
// valid). Almost every removal is of the front anyway (allocation takes the least recently used).
// Group heaps (few elements) are indexed heaps whose elements know their position.
//
// The state tier keeps no level of its own (NumberIndex compares the heads of a state's area
// codes, a few dozen at most), so allocations in the other tiers do not pay for it.
//
// Records is any type with `LruKey Key(std::uint32_t id) const` and
// `LinkState& Link(std::uint32_t id)`. Not thread-safe; owned by NumberIndex.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/leaf_order.h"

namespace cidrotor::core {

inline constexpr std::uint32_t kUnlinked = 0xFFFF'FFFF;

struct LruKey {
  std::uint32_t last_used = 0;     // CompactTime; 0 = never used, sorts first
  std::uint16_t last_used_ms = 0;  // NumberUsage::last_used_ms: the order within that second
  std::uint64_t digits = 0;        // ties by number
  friend bool operator==(const LruKey&, const LruKey&) = default;
  friend bool operator<(const LruKey& a, const LruKey& b) {
    if (a.last_used != b.last_used) return a.last_used < b.last_used;
    return a.last_used_ms != b.last_used_ms ? a.last_used_ms < b.last_used_ms : a.digits < b.digits;
  }
};

enum class Level : std::uint8_t { kExchange = 0, kAreaCode = 1, kPool = 2 };

// Kept in each record: whether it is in the order, and which of its leaf entries is current.
struct LinkState {
  std::uint16_t generation = 0;
  bool linked = false;
};

// Min-heap operations on a vector of ids; `access` gives each id's key and stored position.
template <class Access>
class IndexedHeap {
 public:
  static void Push(std::vector<std::uint32_t>& heap, std::uint32_t id, Access& access) {
    heap.push_back(id);
    access.HeapPos(id) = static_cast<std::uint32_t>(heap.size() - 1);
    SiftUp(heap, heap.size() - 1, access);
  }

  // REQUIRES: id is in heap.
  static void Erase(std::vector<std::uint32_t>& heap, std::uint32_t id, Access& access) {
    const std::size_t pos = access.HeapPos(id);
    assert(pos < heap.size() && heap[pos] == id);
    access.HeapPos(id) = kUnlinked;
    const std::uint32_t last = heap.back();
    heap.pop_back();
    if (pos == heap.size()) return;
    heap[pos] = last;
    access.HeapPos(last) = static_cast<std::uint32_t>(pos);
    SiftUp(heap, pos, access);
    SiftDown(heap, access.HeapPos(last), access);
  }

 private:
  static void Place(std::vector<std::uint32_t>& heap, std::size_t pos, std::uint32_t id,
                    Access& access) {
    heap[pos] = id;
    access.HeapPos(id) = static_cast<std::uint32_t>(pos);
  }

  static void SiftUp(std::vector<std::uint32_t>& heap, std::size_t pos, Access& access) {
    const std::uint32_t id = heap[pos];
    const LruKey key = access.Key(id);
    while (pos > 0) {
      const std::size_t parent = (pos - 1) / 2;
      if (!(key < access.Key(heap[parent]))) break;
      Place(heap, pos, heap[parent], access);
      pos = parent;
    }
    Place(heap, pos, id, access);
  }

  static void SiftDown(std::vector<std::uint32_t>& heap, std::size_t pos, Access& access) {
    const std::uint32_t id = heap[pos];
    const LruKey key = access.Key(id);
    const std::size_t n = heap.size();
    while (true) {
      std::size_t child = 2 * pos + 1;
      if (child >= n) break;
      if (child + 1 < n && access.Key(heap[child + 1]) < access.Key(heap[child])) ++child;
      if (!(access.Key(heap[child]) < key)) break;
      Place(heap, pos, heap[child], access);
      pos = child;
    }
    Place(heap, pos, id, access);
  }
};

template <class Records>
class LruForest {
 public:
  explicit LruForest(Records& records) : records_(records) {}

  // The leaf group of (pool, exchange), created with its ancestors on first use.
  std::uint32_t LeafFor(std::uint16_t pool, std::uint32_t exchange) {
    if (auto found = Find(Level::kExchange, pool, exchange)) return *found;
    const std::uint32_t area = GroupFor(Level::kAreaCode, pool, exchange / 1000,
                                        GroupFor(Level::kPool, pool, 0, kUnlinked));
    return GroupFor(Level::kExchange, pool, exchange, area);
  }

  std::optional<std::uint32_t> Find(Level level, std::uint16_t pool, std::uint32_t label) const {
    auto it = ids_.find(GroupKey(level, pool, label));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }

  // The least recently used number under `group`, if any is linked there.
  std::optional<std::uint32_t> Oldest(std::uint32_t group) const {
    const Group* g = &groups_[group];
    while (g->level != Level::kExchange) {
      if (g->heap.empty()) return std::nullopt;
      g = &groups_[g->heap.front()];
    }
    if (g->leaf.empty()) return std::nullopt;
    return g->leaf.front().record();
  }

  // The key of the least recently used number under `group`, if any is linked there. Reads no
  // record: heads are kept in the groups.
  std::optional<LruKey> Head(std::uint32_t group) const {
    const Group& g = groups_[group];
    if (IsEmpty(g)) return std::nullopt;
    return HeadOf(g);
  }

  // REQUIRES: record is unlinked; its key must not change until Unlink.
  void Link(std::uint32_t record, std::uint32_t leaf) {
    LinkState& state = records_.Link(record);
    state.linked = true;
    ++state.generation;
    const LruKey key = records_.Key(record);
    LeafOrder& entries = groups_[leaf].leaf;
    entries.push(LeafEntry(key.last_used, key.last_used_ms,
                           static_cast<std::uint16_t>(key.digits % 10'000), state.generation,
                           record));
    if (entries.front().record() == record) Propagate(leaf);
  }

  // REQUIRES: record is linked in `leaf`.
  void Unlink(std::uint32_t record, std::uint32_t leaf) {
    records_.Link(record).linked = false;
    Group& g = groups_[leaf];
    if (g.leaf.front().record() != record) {  // its entry goes stale in place
      // Numbers taken from the middle (the sticky tier, admin changes) leave entries that only
      // go when they reach the front, which they may never do while the front stays: once they
      // outnumber the live ones, drop them all (amortized O(log n) per removal, and memory
      // stays within twice the leaf's numbers).
      if (++g.stale > kMinCompaction && g.stale > g.leaf.size() / 2) Compact(g);
      return;
    }
    g.leaf.pop();
    DropStaleTops(g);
    Propagate(leaf);
  }

  // The record at the front of a leaf, if any: the one its next allocation takes.
  std::optional<std::uint32_t> LeafFront(std::uint32_t leaf) const {
    const LeafOrder& entries = groups_[leaf].leaf;
    if (entries.empty()) return std::nullopt;
    return entries.front().record();
  }

  // Leaf entries of every group, stale ones included. O(groups).
  std::size_t Entries() const {
    std::size_t entries = 0;
    for (const Group& g : groups_) entries += g.leaf.size();
    return entries;
  }

  std::uint16_t PoolOf(std::uint32_t group) const { return groups_[group].pool; }
  std::uint32_t LabelOf(std::uint32_t group) const { return groups_[group].label; }

 private:
  struct Group {
    LeafOrder leaf;                   // a leaf's numbers (empty above the leaves)
    std::vector<std::uint32_t> heap;  // child group ids (empty in a leaf)
    LruKey head;                      // key of heap.front(), valid while linked in the parent
    std::uint32_t parent = kUnlinked;
    std::uint32_t heap_pos = kUnlinked;  // position in the parent's heap
    std::uint32_t label = 0;             // exchange (NPA-NXX), area code (NPA), 0 for the pool
    std::uint32_t stale = 0;             // leaf entries whose number has left the order
    std::uint16_t pool = 0;
    Level level = Level::kExchange;
  };

  // Heap access for child groups: keyed by their cached head.
  struct GroupAccess {
    std::vector<Group>& groups;
    LruKey Key(std::uint32_t id) const { return groups[id].head; }
    std::uint32_t& HeapPos(std::uint32_t id) { return groups[id].heap_pos; }
  };
  using GroupHeap = IndexedHeap<GroupAccess>;

  static constexpr std::uint32_t kMinCompaction = 16;  // stale entries a leaf may always keep

  // Whether `entry` is its record's current one: linked, of the same generation and key (the
  // key too, so that a generation that wrapped around can never revive an old entry).
  bool IsCurrent(const LeafEntry& entry) {
    const LinkState& state = records_.Link(entry.record());
    if (!state.linked || state.generation != entry.generation()) return false;
    const LruKey key = records_.Key(entry.record());
    return key.last_used == entry.last_used() && key.last_used_ms == entry.last_used_ms();
  }

  // Pops entries off the top until the top is current (or the heap is empty). Checking costs a
  // look at the record (a cache miss in a big pool), so leaves known to hold no stale entry skip
  // it.
  void DropStaleTops(Group& g) {
    while (g.stale > 0 && !g.leaf.empty()) {
      if (IsCurrent(g.leaf.front())) return;
      g.leaf.pop();
      --g.stale;
    }
  }

  // Drops every stale entry of a leaf. Its front is current, so it stays: no head changes.
  void Compact(Group& g) {
    g.leaf.EraseIf([this](const LeafEntry& entry) { return !IsCurrent(entry); });
    g.stale = 0;
  }

  static std::uint64_t GroupKey(Level level, std::uint16_t pool, std::uint32_t label) {
    return (std::uint64_t{static_cast<std::uint8_t>(level)} << 56) | (std::uint64_t{pool} << 32) |
           label;
  }

  std::uint32_t GroupFor(Level level, std::uint16_t pool, std::uint32_t label,
                         std::uint32_t parent) {
    auto [it, inserted] =
        ids_.try_emplace(GroupKey(level, pool, label), static_cast<std::uint32_t>(groups_.size()));
    if (inserted) {
      Group g;
      g.parent = parent;
      g.label = label;
      g.pool = pool;
      g.level = level;
      groups_.push_back(std::move(g));
    }
    return it->second;
  }

  LruKey HeadOf(const Group& g) const {
    if (g.level != Level::kExchange) return groups_[g.heap.front()].head;
    const LeafEntry& top = g.leaf.front();
    return LruKey{top.last_used(), top.last_used_ms(),
                  std::uint64_t{g.label} * 10'000 + top.line()};
  }
  static bool IsEmpty(const Group& g) {
    return g.level == Level::kExchange ? g.leaf.empty() : g.heap.empty();
  }

  // After `group`'s heap changed: refresh its head in its parent, and so on up while heads move.
  void Propagate(std::uint32_t group) {
    GroupAccess access{groups_};
    while (groups_[group].parent != kUnlinked) {
      Group& g = groups_[group];
      const bool non_empty = !IsEmpty(g);
      const bool linked = g.heap_pos != kUnlinked;
      if (!non_empty && !linked) return;
      const LruKey head = non_empty ? HeadOf(g) : LruKey{};
      if (non_empty && linked && head == g.head) return;  // nothing above changes
      auto& parent_heap = groups_[g.parent].heap;
      if (linked) GroupHeap::Erase(parent_heap, group, access);
      if (non_empty) {
        groups_[group].head = head;
        GroupHeap::Push(parent_heap, group, access);
      }
      group = groups_[group].parent;
    }
  }

  Records& records_;
  std::vector<Group> groups_;
  std::unordered_map<std::uint64_t, std::uint32_t> ids_;
};

}  // namespace cidrotor::core
