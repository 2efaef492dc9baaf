#include "core/allocation.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <utility>

namespace cidrotor::core {

std::string_view MatchTierName(MatchTier tier) {
  switch (tier) {
    case MatchTier::kSticky:
      return "sticky";
    case MatchTier::kExchange:
      return "exchange";
    case MatchTier::kAreaCode:
      return "area_code";
    case MatchTier::kState:
      return "state";
    case MatchTier::kAny:
      return "any";
  }
  return "any";
}

std::string_view CallOutcomeName(CallOutcome outcome) {
  switch (outcome) {
    case CallOutcome::kUnknown:
      return "";
    case CallOutcome::kAnswered:
      return "answered";
    case CallOutcome::kNoAnswer:
      return "no_answer";
    case CallOutcome::kBusy:
      return "busy";
    case CallOutcome::kFailed:
      return "failed";
    case CallOutcome::kVoicemail:
      return "voicemail";
    case CallOutcome::kOther:
      return "other";
  }
  return "other";
}

CallOutcome ParseCallOutcome(std::string_view text) {
  if (text.empty()) return CallOutcome::kUnknown;
  std::string lower(text.size(), '\0');
  std::transform(text.begin(), text.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr std::array<std::pair<std::string_view, CallOutcome>, 12> kNames{{
      {"answered", CallOutcome::kAnswered},
      {"answer", CallOutcome::kAnswered},  // DIALSTATUS
      {"no_answer", CallOutcome::kNoAnswer},
      {"noanswer", CallOutcome::kNoAnswer},  // DIALSTATUS
      {"cancel", CallOutcome::kNoAnswer},    // DIALSTATUS: caller hung up while ringing
      {"busy", CallOutcome::kBusy},
      {"failed", CallOutcome::kFailed},
      {"congestion", CallOutcome::kFailed},   // DIALSTATUS
      {"chanunavail", CallOutcome::kFailed},  // DIALSTATUS
      {"voicemail", CallOutcome::kVoicemail},
      {"other", CallOutcome::kOther},
      {"unknown", CallOutcome::kOther},
  }};
  for (const auto& [name, outcome] : kNames) {
    if (lower == name) return outcome;
  }
  return CallOutcome::kOther;
}

}  // namespace cidrotor::core
