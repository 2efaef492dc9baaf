// ParseNumberSpec, ParseNumberPatch and ParseNumberFilter (service/requests.h).
#include <string>
#include <string_view>
#include <utility>

#include "core/phone_number.h"
#include "service/field_parsers.h"
#include "service/number_rows.h"
#include "service/requests.h"

namespace cidrotor::service {
namespace {

constexpr std::uint64_t kMaxOffset = 1'000'000'000;
constexpr std::uint64_t kMaxPageLimit = 1000;

// A cap in a PATCH: 1..65,535, or `0` / `default` to follow the configured default again.
core::Result<std::uint16_t> ParsePatchCap(std::string_view text, std::string_view field) {
  if (text == "default" || text == "0") return std::uint16_t{0};
  return ParseCap(text, field);
}

}  // namespace

core::Result<core::NumberSpec> ParseNumberSpec(const Params& params) {
  core::NumberSpec spec;
  // The seed's fields and ours; a rest is a PATCH once the number exists.
  auto known = RefuseUnknownFields(params,
                                   {"caller_id", "carrier", "area_code", "hourly_limit",
                                    "daily_limit", "pool", "state", "active"},
                                   "a new number");
  if (!known) return core::Fail(std::move(known).error());

  const auto caller_id = params.Get("caller_id");
  if (!caller_id) return core::Fail(core::Error::InvalidArgument("caller_id", "is required"));
  auto number = core::PhoneNumber::ParsePoolNumber(*caller_id, "caller_id");
  if (!number) return core::Fail(std::move(number).error());
  spec.caller_id = *number;

  if (const auto area_code_text = params.Get("area_code")) {
    auto area_code = ParseAreaCode(*area_code_text, "area_code");
    if (!area_code) return core::Fail(std::move(area_code).error());
    if (*area_code != spec.caller_id.area_code()) {
      return core::Fail(
          core::Error::InvalidArgument("area_code", "area code contradicts the number"));
    }
  }
  auto carrier =
      ParseIfPresent(params, "carrier", [](std::string_view t) { return ParseCarrier(t); });
  if (!carrier) return core::Fail(std::move(carrier).error());
  if (*carrier) spec.carrier = std::move(**carrier);

  auto hourly = ParseIfPresent(params, "hourly_limit",
                               [](std::string_view t) { return ParseCap(t, "hourly_limit"); });
  if (!hourly) return core::Fail(std::move(hourly).error());
  spec.hourly_cap = hourly->value_or(0);

  auto daily = ParseIfPresent(params, "daily_limit",
                              [](std::string_view t) { return ParseCap(t, "daily_limit"); });
  if (!daily) return core::Fail(std::move(daily).error());
  spec.daily_cap = daily->value_or(0);

  auto pool = ParseIfPresent(params, "pool", [](std::string_view t) { return ParsePoolName(t); });
  if (!pool) return core::Fail(std::move(pool).error());
  if (*pool) spec.pool = std::move(**pool);

  auto state =
      ParseIfPresent(params, "state", [](std::string_view t) { return ParseStateCode(t); });
  if (!state) return core::Fail(std::move(state).error());
  if (*state) spec.state = std::move(**state);

  auto active =
      ParseIfPresent(params, "active", [](std::string_view t) { return ParseBool(t, "active"); });
  if (!active) return core::Fail(std::move(active).error());
  spec.active = active->value_or(true);
  return spec;
}

core::Result<core::NumberPatch> ParseNumberPatch(const Params& params, core::TimePoint now) {
  core::NumberPatch patch;

  // A misspelt name is refused, not ignored: {"hourly_limt":5,"active":true} would otherwise
  // answer 200 with the cap unchanged.
  auto known = RefuseUnknownFields(
      params, {"carrier", "hourly_limit", "daily_limit", "pool", "state", "active", "rest_until"},
      "a number");
  if (!known) return core::Fail(std::move(known).error());

  // An empty carrier or state (given, but "") clears it: the one way to take a wrong one off
  // (an import's empty cell keeps the number's own).
  auto carrier =
      ParseIfPresent(params, "carrier", [](std::string_view t) { return ParseCarrier(t); });
  if (!carrier) return core::Fail(std::move(carrier).error());
  patch.carrier = std::move(*carrier);
  if (!patch.carrier && params.Given("carrier")) patch.carrier.emplace();

  auto hourly = ParseIfPresent(params, "hourly_limit",
                               [](std::string_view t) { return ParsePatchCap(t, "hourly_limit"); });
  if (!hourly) return core::Fail(std::move(hourly).error());
  patch.hourly_cap = *hourly;

  auto daily = ParseIfPresent(params, "daily_limit",
                              [](std::string_view t) { return ParsePatchCap(t, "daily_limit"); });
  if (!daily) return core::Fail(std::move(daily).error());
  patch.daily_cap = *daily;

  auto pool = ParseIfPresent(params, "pool", [](std::string_view t) { return ParsePoolName(t); });
  if (!pool) return core::Fail(std::move(pool).error());
  patch.pool = std::move(*pool);

  auto state =
      ParseIfPresent(params, "state", [](std::string_view t) { return ParseStateCode(t); });
  if (!state) return core::Fail(std::move(state).error());
  patch.state = std::move(*state);
  if (!patch.state && params.Given("state")) patch.state.emplace();

  auto active =
      ParseIfPresent(params, "active", [](std::string_view t) { return ParseBool(t, "active"); });
  if (!active) return core::Fail(std::move(active).error());
  patch.active = *active;

  // An admin's rest: out of rotation until then (ISO-8601 UTC, as last_used in CSV), back on its
  // own; "none" ends a rest now.
  auto rest = ParseIfPresent(params, "rest_until", [now](std::string_view t) {
    if (t == "none") return core::Result<core::CompactTime>(0);
    auto until = ParseIsoUtc(t, "rest_until");
    if (until && *until <= core::ToCompact(now)) {
      return core::Result<core::CompactTime>(core::Fail(core::Error::InvalidArgument(
          "rest_until",
          "is not in the future (a rest lasts until a time to come; none ends one)")));
    }
    return until;
  });
  if (!rest) return core::Fail(std::move(rest).error());
  patch.rest_until = *rest;

  if (!patch.carrier && !patch.hourly_cap && !patch.daily_cap && !patch.pool && !patch.state &&
      !patch.active && !patch.rest_until) {
    return core::Fail(core::Error::InvalidArgument(
        "body",
        "names no field to change (carrier, hourly_limit, daily_limit, pool, state, "
        "active, rest_until)"));
  }
  return patch;
}

core::Result<store::NumberFilter> ParseNumberFilter(const Params& params) {
  store::NumberFilter filter;

  auto area_code =
      ParseIfPresent(params, "area_code", [](std::string_view t) { return ParseAreaCode(t); });
  if (!area_code) return core::Fail(std::move(area_code).error());
  filter.area_code = *area_code;

  auto pool = ParseIfPresent(params, "pool", [](std::string_view t) { return ParsePoolName(t); });
  if (!pool) return core::Fail(std::move(pool).error());
  filter.pool = std::move(*pool);

  auto active =
      ParseIfPresent(params, "active", [](std::string_view t) { return ParseBool(t, "active"); });
  if (!active) return core::Fail(std::move(active).error());
  filter.active = *active;

  auto resting =
      ParseIfPresent(params, "resting", [](std::string_view t) { return ParseBool(t, "resting"); });
  if (!resting) return core::Fail(std::move(resting).error());
  filter.resting = *resting;

  auto after = ParseIfPresent(params, "after", [](std::string_view t) {
    return core::PhoneNumber::ParsePoolNumber(t, "after");
  });
  if (!after) return core::Fail(std::move(after).error());
  filter.after = *after;

  auto offset = ParseIfPresent(params, "offset", [](std::string_view t) {
    return ParseWholeNumber(t, "offset", 0, kMaxOffset);
  });
  if (!offset) return core::Fail(std::move(offset).error());
  filter.offset = static_cast<std::size_t>(offset->value_or(0));

  auto limit = ParseIfPresent(params, "limit", [](std::string_view t) {
    return ParseWholeNumber(t, "limit", 1, kMaxPageLimit);
  });
  if (!limit) return core::Fail(std::move(limit).error());
  filter.limit = static_cast<std::size_t>(limit->value_or(filter.limit));
  return filter;
}

}  // namespace cidrotor::service
