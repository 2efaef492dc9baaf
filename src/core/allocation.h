// The allocation vocabulary shared by the core index, the stores and the protocol layers:
// a request for a caller-ID, the reservation it produces, and how a reservation ends.
// Plain values, thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/phone_number.h"

namespace cidrotor::core {

// The tier that produced a caller-ID; the response's `match`. Ordered from most to least local.
enum class MatchTier : std::uint8_t { kSticky, kExchange, kAreaCode, kState, kAny };
std::string_view MatchTierName(MatchTier tier);  // "sticky", "exchange", "area_code", ...

inline constexpr std::string_view kDefaultCampaign = "default";
inline constexpr std::string_view kAutoAgent = "auto";  // predictive dialing: no rate limit

struct AllocationRequest {
  PhoneNumber destination = PhoneNumber::FromValidDigits(2'015'550'100);
  std::string campaign = std::string(kDefaultCampaign);
  std::string agent = std::string(kAutoAgent);
  std::optional<std::uint64_t> lead_id;  // from `lead` or VICIdial's call code
  std::optional<Seconds> ttl;            // reservation length; the configured default if unset
  std::string pool;  // resolved from the campaign by the store (campaigns → pools); "" = default
  // False when the pool's fallback is `none` (set by the store): no `any` tier, so a
  // destination with no local number gets no caller-ID rather than a far one.
  bool any_tier = true;
};

struct Reservation {
  std::uint64_t id = 0;
  PhoneNumber caller_id = PhoneNumber::FromValidDigits(2'015'550'100);
  PhoneNumber destination = PhoneNumber::FromValidDigits(2'015'550'100);
  std::string campaign;
  std::string agent;
  std::string pool;
  std::optional<std::uint64_t> lead_id;
  MatchTier match = MatchTier::kAny;
  TimePoint reserved_at;
  TimePoint reserved_until;
};

// A successful allocation: the reservation plus what the response reports about the number.
struct Allocation {
  Reservation reservation;
  std::string carrier;
};

// How a call ended, as POST /release reports it. Asterisk DIALSTATUS values map onto these.
enum class CallOutcome : std::uint8_t {
  kUnknown,  // release without an outcome
  kAnswered,
  kNoAnswer,
  kBusy,
  kFailed,
  kVoicemail,
  kOther,  // an outcome we do not know; stored, never a reason to keep the number
};
std::string_view CallOutcomeName(CallOutcome outcome);  // "answered", ..., "" for kUnknown
// Accepts our names and Asterisk's DIALSTATUS (ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION,
// CHANUNAVAIL), case-insensitively; anything else is kOther, empty is kUnknown.
CallOutcome ParseCallOutcome(std::string_view text);

struct ReleaseRequest {
  std::optional<std::uint64_t> reservation_id;  // names one reservation exactly
  std::optional<PhoneNumber> caller_id;         // else: that number's live reservation
  CallOutcome outcome = CallOutcome::kUnknown;
  std::optional<std::uint32_t> duration_seconds;
};

struct ReleaseResult {
  bool released = false;  // false: the reservation had already ended (idempotent release)
  std::optional<Reservation> reservation;  // the reservation that ended now, when released
};

}  // namespace cidrotor::core
