#include "store/row_codec.h"

#include <array>
#include <string>

namespace cidrotor::store {

core::MatchTier ParseMatchTier(std::string_view name) {
  static constexpr std::array kTiers = {core::MatchTier::kSticky, core::MatchTier::kExchange,
                                        core::MatchTier::kAreaCode, core::MatchTier::kState,
                                        core::MatchTier::kAny};
  for (core::MatchTier tier : kTiers) {
    if (core::MatchTierName(tier) == name) return tier;
  }
  return core::MatchTier::kAny;
}

std::optional<core::PhoneNumber> PhoneFromStored(std::int64_t digits) {
  if (digits < 2'000'000'000 || digits > 9'999'999'999) return std::nullopt;
  const auto npa = static_cast<std::uint32_t>(digits / 10'000'000);
  const auto nxx = static_cast<std::uint32_t>((digits / 10'000) % 1000);
  // An exchange (NXX) follows the same rule as an area code: [2-9]XX and not N11.
  if (!core::IsValidAreaCode(npa) || !core::IsValidAreaCode(nxx)) return std::nullopt;
  return core::PhoneNumber::FromValidDigits(static_cast<std::uint64_t>(digits));
}

std::optional<core::PhoneNumber> PhoneFromStoredText(std::string_view digits) {
  if (digits.size() != 10) return std::nullopt;
  std::int64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return PhoneFromStored(value);
}

void AreaCodeText(core::PhoneNumber number, char (&out)[3]) {
  const std::uint32_t npa = number.area_code();
  out[0] = static_cast<char>('0' + npa / 100);
  out[1] = static_cast<char>('0' + npa / 10 % 10);
  out[2] = static_cast<char>('0' + npa % 10);
}

core::Error UnknownCursor(std::uint64_t before_id) {
  return core::Error::NotFound("no reservation " + std::to_string(before_id) +
                                   " (pruned since, or never made): list again without before_id",
                               "before_id");
}

core::Result<void> CheckHistoryLimit(std::size_t limit) {
  if (limit < 1 || limit > kMaxHistoryRows) {
    return core::Fail(core::Error::InvalidArgument("limit", "must be between 1 and 1000"));
  }
  return {};
}

}  // namespace cidrotor::store
