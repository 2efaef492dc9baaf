#include "cli/sample_csv.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <numeric>
#include <ostream>
#include <random>
#include <set>
#include <string_view>

#include "cli/sample_pool.h"
#include "core/phone_number.h"

namespace cidrotor::cli {
namespace {

// Real US area codes, roughly by how many numbers call centers hold in them (largest first).
constexpr std::array<SampleAreaCode, 60> kAreaCodes = {{
    {212, "NY"}, {310, "CA"}, {312, "IL"}, {713, "TX"}, {305, "FL"}, {404, "GA"}, {214, "TX"},
    {415, "CA"}, {617, "MA"}, {602, "AZ"}, {206, "WA"}, {702, "NV"}, {646, "NY"}, {213, "CA"},
    {718, "NY"}, {917, "NY"}, {323, "CA"}, {818, "CA"}, {619, "CA"}, {408, "CA"}, {512, "TX"},
    {210, "TX"}, {469, "TX"}, {832, "TX"}, {281, "TX"}, {786, "FL"}, {954, "FL"}, {407, "FL"},
    {813, "FL"}, {678, "GA"}, {770, "GA"}, {773, "IL"}, {847, "IL"}, {215, "PA"}, {267, "PA"},
    {412, "PA"}, {313, "MI"}, {248, "MI"}, {216, "OH"}, {614, "OH"}, {513, "OH"}, {704, "NC"},
    {919, "NC"}, {615, "TN"}, {901, "TN"}, {314, "MO"}, {816, "MO"}, {612, "MN"}, {303, "CO"},
    {720, "CO"}, {503, "OR"}, {801, "UT"}, {504, "LA"}, {502, "KY"}, {317, "IN"}, {414, "WI"},
    {405, "OK"}, {505, "NM"}, {208, "ID"}, {307, "WY"},
}};

constexpr std::uint32_t kLinesPerExchange = 10'000;

// Exchanges usable for pool numbers, 555 first.
std::vector<std::uint32_t> Exchanges() {
  std::vector<std::uint32_t> out{555};
  for (std::uint32_t x = 200; x <= 999; ++x) {
    // 950, 958, 959 and 976 are reserved service codes in every area code.
    if (!core::IsValidCentralOfficeCode(x) || x == 555 || x == 950 || x == 958 || x == 959 ||
        x == 976) {
      continue;
    }
    out.push_back(x);
  }
  return out;
}

const char* StateOf(std::uint32_t npa) {
  for (const auto& a : kAreaCodes) {
    if (a.npa == npa) return a.state;
  }
  return "";
}

}  // namespace

core::Result<std::vector<std::uint32_t>> ParseAreaCodeList(std::string_view text) {
  std::vector<std::uint32_t> out;
  std::set<std::uint32_t> seen;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    std::uint32_t npa = 0;
    bool digits = item.size() == 3;
    for (const char c : item) {
      digits = digits && c >= '0' && c <= '9';
      npa = npa * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (!digits || !core::IsValidAreaCode(npa)) {
      return core::Fail(core::Error::InvalidArgument(
          "area-codes", fmt::format("'{}' is not a valid NANP area code", item)));
    }
    if (!seen.insert(npa).second) {
      return core::Fail(
          core::Error::InvalidArgument("area-codes", fmt::format("{} is listed twice", npa)));
    }
    out.push_back(npa);
  }
  if (out.empty()) return core::Fail(core::Error::InvalidArgument("area-codes", "is empty"));
  return out;
}

core::Result<std::string> GenerateSampleCsv(const SampleCsvOptions& options) {
  std::vector<std::uint32_t> npas = options.area_codes;
  if (npas.empty()) {
    for (const auto& a : kAreaCodes) npas.push_back(a.npa);
  }
  const std::vector<std::uint32_t> exchanges = Exchanges();
  const std::uint64_t per_area = std::uint64_t{exchanges.size()} * kLinesPerExchange;
  if (options.count > per_area * npas.size()) {
    return core::Fail(
        core::Error::InvalidArgument("count", fmt::format("at most {} numbers fit in {} area codes",
                                                          per_area * npas.size(), npas.size())));
  }
  // Zipf shares, largest remainder; an area code that is full passes its rest to the next.
  std::vector<double> weights(npas.size());
  for (std::size_t i = 0; i < npas.size(); ++i) weights[i] = 1.0 / static_cast<double>(i + 1);
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<std::uint64_t> counts(npas.size());
  std::uint64_t assigned = 0;
  for (std::size_t i = 0; i < npas.size(); ++i) {
    counts[i] = std::min<std::uint64_t>(
        per_area,
        static_cast<std::uint64_t>(static_cast<double>(options.count) * weights[i] / total));
    assigned += counts[i];
  }
  for (std::size_t i = 0; assigned < options.count; i = (i + 1) % npas.size()) {
    if (counts[i] < per_area) {
      ++counts[i];
      ++assigned;
    }
  }

  std::vector<std::uint64_t> numbers;
  numbers.reserve(options.count);
  for (std::size_t i = 0; i < npas.size(); ++i) {
    for (std::uint64_t k = 0; k < counts[i]; ++k) {
      const std::uint64_t exchange = exchanges[k / kLinesPerExchange];
      numbers.push_back(std::uint64_t{npas[i]} * 10'000'000 + exchange * 10'000 +
                        k % kLinesPerExchange);
    }
  }
  std::mt19937_64 rng(options.seed);
  std::shuffle(numbers.begin(), numbers.end(), rng);

  std::vector<int> carrier_weights;
  for (const auto& c : SampleCarriers()) carrier_weights.push_back(c.weight);
  std::discrete_distribution<std::size_t> carrier(carrier_weights.begin(), carrier_weights.end());
  std::uniform_int_distribution<int> percent(0, 99);

  std::string out = "caller_id,carrier,area_code,hourly_limit,daily_limit,pool,state\n";
  out.reserve(out.size() + numbers.size() * 48);
  for (const std::uint64_t n : numbers) {
    const auto npa = static_cast<std::uint32_t>(n / 10'000'000);
    const int p = percent(rng);
    // 90 % follow the defaults; 10 % carry caps of their own.
    const char* caps = p < 90 ? "," : p < 95 ? "50,300" : "20,100";
    fmt::format_to(std::back_inserter(out), "{},{},{},{},default,{}\n", n,
                   SampleCarriers()[carrier(rng)].name, npa, caps, StateOf(npa));
  }
  return out;
}

int RunSampleCsv(const SampleCsvOptions& options, std::ostream& out, std::ostream& err) {
  auto csv = GenerateSampleCsv(options);
  if (!csv) {
    err << "cidrotor sample-csv: " << csv.error().field() << ": " << csv.error().detail() << "\n";
    return 2;
  }
  if (options.output == "-") {
    out.write(csv->data(), static_cast<std::streamsize>(csv->size()));
    out.flush();
    return out ? 0 : 1;
  }
  std::ofstream file(options.output, std::ios::binary | std::ios::trunc);
  file.write(csv->data(), static_cast<std::streamsize>(csv->size()));
  file.close();
  if (!file) {
    err << "cidrotor sample-csv: cannot write " << options.output << "\n";
    return 1;
  }
  err << fmt::format("sample-csv: {} numbers written to {}\n", options.count, options.output);
  return 0;
}

}  // namespace cidrotor::cli
