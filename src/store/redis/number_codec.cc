#include "store/redis/number_codec.h"

#include "core/warm_up.h"

namespace cidrotor::store::redis {

void AppendSpecArgs(std::vector<std::string>& args, const core::NumberSpec& spec) {
  args.push_back(spec.caller_id.ToString());
  args.push_back(spec.carrier);
  args.push_back(spec.state);
  args.push_back(std::to_string(spec.hourly_cap));
  args.push_back(std::to_string(spec.daily_cap));
  args.push_back(spec.active ? "1" : "0");
}

void AppendNumberArgs(std::vector<std::string>& args, const core::NumberSpec& spec,
                      const std::optional<core::NumberUsage>& usage,
                      std::optional<core::CompactTime> last_used_only,
                      std::optional<core::CompactTime> rest_until,
                      std::optional<core::CompactTime> warm_from) {
  const core::NumberUsage u = usage.value_or(core::NumberUsage{});
  AppendSpecArgs(args, spec);
  args.push_back(usage ? "all" : last_used_only ? "lu" : "keep");
  if (last_used_only && !usage) {
    args.push_back(std::to_string(*last_used_only));
  } else {
    args.push_back(LastUsedArg(u));
  }
  args.push_back(std::to_string(u.hour_start));
  args.push_back(std::to_string(u.hourly_used));
  args.push_back(std::to_string(u.day_start));
  args.push_back(std::to_string(u.daily_used));
  if (warm_from) {
    args.push_back(std::to_string(*warm_from));
  } else {
    args.push_back(usage ? std::to_string(u.warm_from) : std::string());
  }
  if (rest_until) {
    args.push_back(std::to_string(*rest_until));
  } else {
    args.push_back(usage ? std::to_string(u.rest_until) : std::string());
  }
}

std::string LastUsedArg(const core::NumberUsage& usage) {
  std::string arg = std::to_string(usage.last_used);
  if (usage.last_used_ms != 0 && usage.last_used_ms < 1000) {
    const std::string ms = std::to_string(usage.last_used_ms);
    arg += '.';
    arg.append(3 - ms.size(), '0');
    arg += ms;
  }
  return arg;
}

core::NumberUsage UsageFromUpsert(const RedisReply& reply, std::size_t index) {
  // status, last_used, hour_start, hourly, day_start, daily, warm_from, rest_until, last_used_ms
  const std::size_t at = 1 + index * kUpsertReplyFields;
  core::NumberUsage usage;
  usage.last_used = static_cast<core::CompactTime>(reply.Int(at + 1));
  usage.hour_start = static_cast<core::CompactTime>(reply.Int(at + 2));
  usage.hourly_used = static_cast<std::uint16_t>(reply.Int(at + 3));
  usage.day_start = static_cast<core::CompactTime>(reply.Int(at + 4));
  usage.daily_used = static_cast<std::uint16_t>(reply.Int(at + 5));
  usage.warm_from = static_cast<core::CompactTime>(reply.Int(at + 6));
  usage.rest_until = static_cast<core::CompactTime>(reply.Int(at + 7));
  usage.last_used_ms = static_cast<std::uint16_t>(reply.Int(at + 8));
  return usage;
}

core::NumberView ViewFromReply(const RedisReply& v, const std::string& pool, core::TimePoint now,
                               const core::Windows& windows, const core::IndexOptions& defaults) {
  core::NumberView view;
  view.spec.caller_id = core::PhoneNumber::FromValidDigits(static_cast<std::uint64_t>(v.Int(0)));
  view.spec.carrier = v.Text(1);
  view.spec.state = v.Text(2);
  view.spec.pool = pool;
  view.spec.hourly_cap = static_cast<std::uint16_t>(v.Int(3));
  view.spec.daily_cap = static_cast<std::uint16_t>(v.Int(4));
  view.spec.active = v.Int(5) == 1;
  view.usage.last_used = static_cast<core::CompactTime>(v.Int(6));
  view.usage.hour_start = static_cast<core::CompactTime>(v.Int(7));
  view.usage.hourly_used = static_cast<std::uint16_t>(v.Int(8));
  view.usage.day_start = static_cast<core::CompactTime>(v.Int(9));
  view.usage.daily_used = static_cast<std::uint16_t>(v.Int(10));
  view.usage.warm_from = static_cast<core::CompactTime>(v.Int(13));
  view.usage.rest_until = static_cast<core::CompactTime>(v.Int(14));
  view.usage.last_used_ms = static_cast<std::uint16_t>(v.Int(15));
  view.effective_hourly_cap =
      view.spec.hourly_cap != 0 ? view.spec.hourly_cap : defaults.default_hourly_cap;
  view.effective_daily_cap =
      view.spec.daily_cap != 0 ? view.spec.daily_cap : defaults.default_daily_cap;
  view.warmup_day = core::WarmupDay(view.usage.warm_from, core::ToCompact(windows.day_start),
                                    defaults.warmup_days);
  view.daily_cap_today = core::DailyCapOn(windows, view.effective_daily_cap, view.usage, defaults);
  view.hourly_used_now =
      view.usage.hour_start == core::ToCompact(windows.hour_start) ? view.usage.hourly_used : 0;
  view.daily_used_now =
      view.usage.day_start == core::ToCompact(windows.day_start) ? view.usage.daily_used : 0;
  view.reserved = v.Int(11) != 0;
  view.resting = view.usage.rest_until > core::ToCompact(now);
  if (!view.resting) view.probation_until = core::ProbationUntilOn(windows, view.usage, defaults);
  view.available = v.Int(12) == 1;
  return view;
}

core::MatchTier TierFromWire(long long value) {
  switch (value) {
    case 0:
      return core::MatchTier::kSticky;
    case 1:
      return core::MatchTier::kExchange;
    case 2:
      return core::MatchTier::kAreaCode;
    case 3:
      return core::MatchTier::kState;
    default:
      return core::MatchTier::kAny;
  }
}

// A release/live reply's reservation fields from `at` on: id, number, destination, campaign,
// agent, lead, match, reserved_at_ms, reserved_until (compact).
core::Reservation ReservationFromReply(const RedisReply& reply, std::size_t at,
                                       const std::string& pool) {
  core::Reservation r;
  r.id = static_cast<std::uint64_t>(reply.Int(at));
  r.caller_id = core::PhoneNumber::FromValidDigits(static_cast<std::uint64_t>(reply.Int(at + 1)));
  r.destination = core::PhoneNumber::FromValidDigits(static_cast<std::uint64_t>(reply.Int(at + 2)));
  r.campaign = reply.Text(at + 3);
  r.agent = reply.Text(at + 4);
  if (const std::string lead = reply.Text(at + 5); !lead.empty()) {
    r.lead_id = static_cast<std::uint64_t>(reply.Int(at + 5));
  }
  r.match = TierFromWire(reply.Int(at + 6));
  r.pool = pool;
  r.reserved_at = core::TimePoint(core::Milliseconds(reply.Int(at + 7)));
  r.reserved_until = core::FromCompact(static_cast<core::CompactTime>(reply.Int(at + 8)));
  return r;
}

}  // namespace cidrotor::store::redis
