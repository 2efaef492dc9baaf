// What a FastAGI request asks for, read from its environment block: which script (`next-cid`,
// `release` or `lookup`) and the named parameters for the shared request parsers in
// service/requests.h, so FastAGI and HTTP validate exactly the same input. Pure functions, no I/O.
//
// Where each parameter comes from, weakest first (service::Params: the last non-empty wins):
//   to        agi_dnid, then agi_extension when it is a dialled number (not `s`, `h`, ...)
//   cidname   agi_calleridname (VICIdial's call code; service reads the lead id from it)
//   lookup (an inbound call to one of the pool's numbers): caller_id from agi_dnid/agi_extension
//             as `to` above (the number the party dialled), from from agi_callerid (the party)
//             when it is a NANP number (not `anonymous`, an international or internal number)
//   the script's query string  agi://host:4573/next-cid?campaign=X&agent=Y (percent-decoded),
//             from agi_network_script, else from the path of agi_request
//   agi_arg_1..N  `key=value` each, as in AGI(agi://host/next-cid,campaign=X); others ignored
// `reservation=` is accepted as a short name of `reservation_id` (both work).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "agi/agi_parser.h"
#include "core/result.h"
#include "service/params.h"

namespace cidrotor::agi {

enum class AgiScript { kNextCid, kRelease, kLookup };

std::string_view AgiScriptName(AgiScript script);  // "next-cid", "release", "lookup"

struct AgiRequest {
  AgiScript script = AgiScript::kNextCid;
  service::Params params;
  std::string channel;   // agi_channel, for logs ("" when absent)
  std::string uniqueid;  // agi_uniqueid: keys the uniqueid -> reservation map ("" when absent)
};

// Returns the request, or: kNotFound (field "script") naming an unknown script or none;
// kInvalidArgument when the query string is malformed (bad percent escape) or carries more or
// longer parameters than service::Params holds.
[[nodiscard]] core::Result<AgiRequest> ParseAgiRequest(const Environment& env);

// The script an environment names, even when its parameters are refused; nullopt: unknown.
std::optional<AgiScript> AgiScriptOf(const Environment& env);

// The channel and uniqueid of an environment, for log lines even when ParseAgiRequest failed:
// "SIP/carrier-0000001a uniqueid=1700000000.42", or "unknown channel".
std::string DescribeChannel(const Environment& env);

}  // namespace cidrotor::agi
