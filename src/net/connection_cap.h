// How many connections a server may hold at once (the HTTP API's and FastAGI's).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace cidrotor::net {

// `configured`, or `open_files / parts` when that is less (at least 16): the HTTP API takes at
// most half of the process's descriptors, FastAGI a quarter, so that a flood of silent peers on
// one cannot take the other's descriptors, nor the store's (SQLite, PostgreSQL, Redis).
inline std::size_t ConnectionCapFor(std::uint64_t open_files, std::size_t configured,
                                    std::size_t parts) {
  const auto share = static_cast<std::size_t>(open_files / parts);
  return share >= configured ? configured : std::max<std::size_t>(share, 16);
}

}  // namespace cidrotor::net
