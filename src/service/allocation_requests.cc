// ParseAllocateRequest and ParseReleaseRequest (service/requests.h).
#include <spdlog/spdlog.h>

#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/phone_number.h"
#include "service/field_parsers.h"
#include "service/requests.h"

namespace cidrotor::service {
namespace {

constexpr std::uint64_t kMaxDurationSeconds = 86'400;

// A call's parameter as a dialer sends it, without blanks at either end (a dialplan variable that
// expanded to spaces, or kept the newline of `${SHELL(...)}`'s output): blank counts as absent,
// as empty does (SPEC), rather than costing the call its caller-ID.
std::optional<std::string_view> DialerValue(const Params& params, std::string_view name) {
  const auto value = params.Get(name);
  if (!value) return std::nullopt;
  const std::string_view trimmed = TrimBlanks(*value);
  if (trimmed.empty()) return std::nullopt;
  return trimmed;
}

}  // namespace

core::Result<core::AllocationRequest> ParseAllocateRequest(const Params& params) {
  core::AllocationRequest request;

  // Blanks at its end only: a space at its start is the '+' of "+44..." sent unencoded, which
  // ParseDestination refuses as international rather than take 44 for a dial prefix.
  auto to = params.Get("to");
  if (to) to = TrimBlanksAtEnd(*to);
  if (!to || to->empty()) return core::Fail(core::Error::InvalidArgument("to", "is required"));
  auto destination = core::PhoneNumber::ParseDestination(*to, "to");
  if (!destination) return core::Fail(std::move(destination).error());
  request.destination = *destination;

  if (const auto campaign = DialerValue(params, "campaign")) {
    auto parsed = ParseAgentOrCampaign(*campaign, "campaign");
    if (!parsed) return core::Fail(std::move(parsed).error());
    request.campaign = std::move(*parsed);
  }
  if (const auto agent = DialerValue(params, "agent")) {
    auto parsed = ParseAgentOrCampaign(*agent, "agent");
    if (!parsed) return core::Fail(std::move(parsed).error());
    request.agent = std::move(*parsed);
  }
  if (const auto lead = DialerValue(params, "lead")) {
    auto parsed = ParseLeadId(*lead, "lead");
    if (!parsed) return core::Fail(std::move(parsed).error());
    request.lead_id = *parsed;
  }
  if (!request.lead_id) {
    if (const auto cidname = params.Get("cidname")) request.lead_id = LeadIdFromCallCode(*cidname);
  }
  return request;
}

LoggedNames NamesToLog(const Params& params) {
  LoggedNames names;
  const auto agent = DialerValue(params, "agent");
  const auto campaign = DialerValue(params, "campaign");
  if (auto parsed = ParseAgentOrCampaign(agent.value_or(core::kAutoAgent), "agent")) {
    names.agent = std::move(*parsed);
  }
  if (auto parsed = ParseAgentOrCampaign(campaign.value_or(core::kDefaultCampaign), "campaign")) {
    names.campaign = std::move(*parsed);
  }
  return names;
}

core::Result<core::ReleaseRequest> ParseReleaseRequest(const Params& params) {
  core::ReleaseRequest request;

  if (const auto id = DialerValue(params, "reservation_id")) {
    auto parsed =
        ParseWholeNumber(*id, "reservation_id", 1, std::numeric_limits<std::uint64_t>::max());
    if (!parsed) return core::Fail(std::move(parsed).error());
    request.reservation_id = *parsed;
  }
  if (const auto caller_id = DialerValue(params, "caller_id")) {
    auto parsed = core::PhoneNumber::ParsePoolNumber(*caller_id, "caller_id");
    if (!parsed) return core::Fail(std::move(parsed).error());
    request.caller_id = *parsed;
  }
  if (!request.reservation_id && !request.caller_id) {
    return core::Fail(
        core::Error::InvalidArgument("reservation_id", "reservation_id or caller_id is required"));
  }
  if (const auto outcome = DialerValue(params, "outcome"))
    request.outcome = core::ParseCallOutcome(*outcome);  // " ANSWER" of a form
  if (const auto duration = DialerValue(params, "duration")) {
    // Like an unknown outcome, a bad duration (a hang-up handler's unexpanded variable, "12.5")
    // is no reason to keep the number reserved: a hang-up handler releases once and never again.
    auto parsed = ParseWholeNumber(*duration, "duration", 0, kMaxDurationSeconds);
    if (parsed) {
      request.duration_seconds = static_cast<std::uint32_t>(*parsed);
    } else {
      spdlog::warn("release: duration ignored: {}", parsed.error().ToString());
    }
  }
  return request;
}

}  // namespace cidrotor::service
