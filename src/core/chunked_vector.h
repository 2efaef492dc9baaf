// A growable array in fixed chunks of 2^kChunkBits elements: elements never move (ids and
// references stay valid), growth never copies the whole array (no transient double memory at a
// million records), and indexing is a shift, a mask and one load from a small chunk table.
// std::deque does the first two, but its 512-byte blocks hold 9 of our records: indexing divides,
// and its block map (a million records: 111,000 pointers) is one more cache miss per access.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace cidrotor::core {

template <class T, unsigned kChunkBits = 12>
class ChunkedVector {
 public:
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;

  std::size_t size() const { return size_; }

  T& operator[](std::size_t i) { return chunks_[i >> kChunkBits][i & (kChunkSize - 1)]; }
  const T& operator[](std::size_t i) const {
    return chunks_[i >> kChunkBits][i & (kChunkSize - 1)];
  }

  // Appends a value-initialized element and returns it.
  T& emplace_back() {
    if ((size_ & (kChunkSize - 1)) == 0 && (size_ >> kChunkBits) == chunks_.size()) {
      chunks_.push_back(std::make_unique<T[]>(kChunkSize));
    }
    T& element = (*this)[size_];
    ++size_;
    return element;
  }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  std::size_t size_ = 0;
};

}  // namespace cidrotor::core
