// A realistic sample pool of caller-IDs over real US area codes, for `init-db --sample-data` and
// (later) `sample-csv`. Pure: no I/O; the same (count, seed) always gives the same pool.
//
// Numbers are spread evenly over the area codes (round robin), each area code counting up in its
// 555 exchange from 555-0100 (555-0100..0199 is the range NANP keeps for fictional use, so the
// first 1,500 numbers ring nobody), then through further valid exchanges for large pools.
// Carriers are drawn from a few real ones with a seeded engine. Caps are left at 0, so the
// configured DEFAULT_HOURLY_LIMIT / DEFAULT_DAILY_LIMIT apply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/number.h"

namespace cidrotor::cli {

struct SampleAreaCode {
  std::uint32_t npa;  // 212
  const char* state;  // "NY"
};

// The area codes the sample pool uses (NY, CA, IL, FL, TX, GA, MA, WA, NV, AZ).
std::span<const SampleAreaCode> SampleAreaCodes();

struct SampleCarrier {
  const char* name;  // "AT&T"
  int weight;        // rough market share, for std::discrete_distribution
};

// The carriers sample numbers get (init-db's pool and `sample-csv` alike).
std::span<const SampleCarrier> SampleCarriers();

// `count` distinct, valid pool numbers. REQUIRES: count <= 10,000,000.
std::vector<core::NumberSpec> GenerateSamplePool(std::size_t count, std::uint64_t seed = 1);

}  // namespace cidrotor::cli
