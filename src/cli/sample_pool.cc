#include "cli/sample_pool.h"

#include <array>
#include <cassert>
#include <random>

#include "core/phone_number.h"

namespace cidrotor::cli {
namespace {

constexpr std::array<SampleAreaCode, 15> kAreaCodes = {{
    {212, "NY"},
    {646, "NY"},
    {917, "NY"},
    {310, "CA"},
    {213, "CA"},
    {415, "CA"},
    {312, "IL"},
    {305, "FL"},
    {713, "TX"},
    {404, "GA"},
    {617, "MA"},
    {206, "WA"},
    {702, "NV"},
    {602, "AZ"},
    {214, "TX"},
}};

constexpr std::array<SampleCarrier, 6> kCarriers = {{
    {"AT&T", 28},
    {"Verizon", 28},
    {"T-Mobile", 18},
    {"Bandwidth", 12},
    {"Lumen", 8},
    {"Twilio", 6},
}};

constexpr std::uint32_t kFirstLine = 100;                   // 555-0100
constexpr std::uint32_t kLinesIn555 = 10'000 - kFirstLine;  // 555-0100 .. 555-9999

// The k-th exchange after 555 with a full range of lines: [2-9]XX, not N11, not 555.
std::uint32_t ExtraExchange(std::uint32_t k) {
  std::uint32_t exchange = 200;
  for (;; ++exchange) {
    if (!core::IsValidCentralOfficeCode(exchange) || exchange == 555) continue;
    if (k-- == 0) return exchange;
  }
}

// The k-th number of area code `npa`, as 10 digits.
std::uint64_t NthNumber(std::uint32_t npa, std::uint32_t k) {
  std::uint32_t exchange = 555;
  std::uint32_t line = kFirstLine + k;
  if (k >= kLinesIn555) {
    const std::uint32_t j = k - kLinesIn555;
    exchange = ExtraExchange(j / 10'000);
    line = j % 10'000;
  }
  return std::uint64_t{npa} * 10'000'000 + std::uint64_t{exchange} * 10'000 + line;
}

}  // namespace

std::span<const SampleAreaCode> SampleAreaCodes() { return kAreaCodes; }

std::span<const SampleCarrier> SampleCarriers() { return kCarriers; }

std::vector<core::NumberSpec> GenerateSamplePool(std::size_t count, std::uint64_t seed) {
  assert(count <= 10'000'000);
  std::mt19937_64 engine(seed);
  std::array<int, kCarriers.size()> weights{};
  for (std::size_t i = 0; i < kCarriers.size(); ++i) weights[i] = kCarriers[i].weight;
  std::discrete_distribution<std::size_t> pick_carrier(weights.begin(), weights.end());

  std::vector<core::NumberSpec> pool;
  pool.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const SampleAreaCode& area = kAreaCodes[i % kAreaCodes.size()];
    const auto k = static_cast<std::uint32_t>(i / kAreaCodes.size());
    core::NumberSpec spec;
    spec.caller_id = core::PhoneNumber::FromValidDigits(NthNumber(area.npa, k));
    spec.carrier = kCarriers[pick_carrier(engine)].name;
    spec.state = area.state;
    pool.push_back(std::move(spec));
  }
  return pool;
}

}  // namespace cidrotor::cli
