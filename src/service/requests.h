// Typed requests parsed from Params: the validation of every public endpoint, shared by HTTP and
// FastAGI so both accept exactly the same input (STYLE §3 "parse everything, report the first bad
// field"). Each parser reads its fields in a fixed order and returns the typed request, or the
// first bad field as kInvalidArgument with `field()` naming the parameter to fix. Unknown
// parameters are ignored by /next-cid and /release (dialplans and seed-compatible clients send
// extra ones) and refused by the admin's writes (a misspelt cap must not become the default).
// Pure functions.
//
// Field rules (see field_parsers.h for each):
//   to        destination, dial prefixes allowed (core::PhoneNumber::ParseDestination)
//   caller_id pool number: 10 digits or 1 + 10, punctuation allowed, no prefix (ParsePoolNumber)
//   campaign, agent  UTF-8 text of 1..64 bytes, no control characters; pool [A-Za-z0-9_.-]{1,64}
//   hourly_limit, daily_limit  1..65,535;  limit 1..1000;  active/live
//   1/0/true/false/yes/no/y/n/on/off
#pragma once

#include "core/allocation.h"
#include "core/number.h"
#include "core/result.h"
#include "service/params.h"
#include "store/store.h"

namespace cidrotor::service {

// GET /next-cid, FastAGI next-cid.
// `to` (required), `campaign` (default "default"), `agent` (default "auto"), `lead` (explicit lead
// id), `cidname` (VICIdial call code; the lead id is read from it, a plain name is ignored; `lead`
// wins). The reservation TTL is not a public parameter: ttl stays unset.
[[nodiscard]] core::Result<core::AllocationRequest> ParseAllocateRequest(const Params& params);

// The agent and campaign an allocation's api_logs row names, also when the request is refused:
// each as parsed, its default ("auto", "default") when absent, empty when invalid. The log is
// shown on the dashboard and served as JSON: never the raw bytes of a refused name. HTTP and
// FastAGI log the same names for the same input.
struct LoggedNames {
  std::string agent;
  std::string campaign;
};
[[nodiscard]] LoggedNames NamesToLog(const Params& params);

// POST /release. `reservation_id` (decimal, >= 1) and/or `caller_id`; at least one is required
// (error field `reservation_id`). `outcome`: our names or Asterisk's DIALSTATUS, anything else is
// kOther (never an error). `duration`: whole seconds 0..86,400; any other value is ignored
// (logged), never an error either: neither may keep a number reserved.
[[nodiscard]] core::Result<core::ReleaseRequest> ParseReleaseRequest(const Params& params);

// POST /add-number, POST /api/numbers. `caller_id` (required), `area_code` (optional; must be the
// number's own: "area code contradicts the number"), `carrier`, `hourly_limit`, `daily_limit`
// (absent = 0 = the configured default), `pool` (default "default"), `state` (upper-cased),
// `active` (default true). Any other name is refused (error field: that name).
[[nodiscard]] core::Result<core::NumberSpec> ParseNumberSpec(const Params& params);

// PATCH /api/numbers/{caller_id}. Optional `carrier`, `pool`, `state`, `hourly_limit`,
// `daily_limit`, `active` with the rules above; a cap of `0` or `default` resets it to the
// configured default; an empty `carrier` or `state` clears it (any other empty field is absent).
// `rest_until`: an ISO-8601 UTC time, or `none` to end a rest. At least one of them is required
// (error field `body`); any other name is refused (error field: that name).
// `now`: a rest_until that is not after it is refused ("is not in the future"): a past time
// would start a probation on a number that never rested, and restart its answer-rate judging
// from then (a typo of the year did). An import's rest_until column may be past (an export
// being restored), not an admin's PATCH.
[[nodiscard]] core::Result<core::NumberPatch> ParseNumberPatch(const Params& params,
                                                               core::TimePoint now);

// GET /api/numbers. Optional `area_code`, `pool`, `active`, `resting` (resting now, or not);
// `after` (a caller-ID, pool number rules: only numbers above it, the previous page's last),
// `offset` (default 0), `limit` (1..1000, default 100).
[[nodiscard]] core::Result<store::NumberFilter> ParseNumberFilter(const Params& params);

// /api/campaigns/{campaign}: the campaign named by the path (decoded), with the agent/campaign
// rules (error field `campaign`).
[[nodiscard]] core::Result<std::string> ParseCampaignName(std::string_view campaign);

// PUT /api/campaigns/{campaign}: the campaign as above and `pool` (required, pool name rules);
// any other name is refused.
[[nodiscard]] core::Result<store::CampaignPool> ParseCampaignPool(std::string_view campaign,
                                                                  const Params& params);

// PUT /api/pools/{pool}: the pool named by the path (decoded; pool name rules, error field
// `pool`) and `fallback` (required): `any` or `none`; any other name is refused.
[[nodiscard]] core::Result<store::PoolSettings> ParsePoolSettings(std::string_view pool,
                                                                  const Params& params);

// GET /api/reservations. `live` (default true: only live reservations), `limit` (1..1000, 100).
[[nodiscard]] core::Result<store::ReservationQuery> ParseReservationQuery(const Params& params);

// GET /api/logs. `limit` (1..1000, 100), `before_id` (>= 1: older rows than that id).
[[nodiscard]] core::Result<store::LogQuery> ParseLogQuery(const Params& params);

// GET /api/lookup. `caller_id` (required, pool number rules) and `from` (optional: the party
// calling it back, core::PhoneNumber::ParseCallerId: 10 digits, 1 + 10 or +1 + 10, no prefix);
// `days` (1..365, default 30): how far back `from` is searched.
[[nodiscard]] core::Result<store::LookupQuery> ParseLookupQuery(const Params& params);

}  // namespace cidrotor::service
