#include "http/json_codec.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cmath>

#include "http/json_text.h"

namespace cidrotor::http {
namespace {

boost::json::value TimeOrNull(std::optional<core::TimePoint> t) {
  if (!t) return nullptr;
  return boost::json::value(FormatIsoTime(*t));
}

}  // namespace

std::string AreaCodeText(std::uint32_t area_code) {
  std::string text;
  AppendUnsigned(text, area_code);
  return text;
}

Response JsonResponse(const boost::json::object& body, unsigned status) {
  Response response;
  response.status = status;
  response.body = boost::json::serialize(body);
  return response;
}

std::string NextCidBody(const core::Allocation& allocation) {
  const core::Reservation& r = allocation.reservation;
  // From the reservation's start, rounded down: the index rounds reserved_until up to a whole
  // second, so this is the TTL the dialer asked for, whatever time the answer is encoded at.
  const auto remaining_ms =
      std::chrono::duration_cast<core::Milliseconds>(r.reserved_until - r.reserved_at);
  const auto reserved_for =
      remaining_ms.count() <= 0 ? 0 : static_cast<std::uint64_t>(remaining_ms.count() / 1000);
  const std::string caller_id = r.caller_id.ToString();

  std::string body;
  body.reserve(320);
  body.append(R"({"success":true,"caller_id":")");
  body.append(caller_id);
  body.append(R"(","area_code":")");
  body.append(caller_id, 0, 3);
  body.append(R"(","carrier":)");
  AppendJsonString(body, allocation.carrier);
  body.append(R"(,"reserved_for":)");
  AppendUnsigned(body, reserved_for);
  body.append(R"(,"destination":")");
  body.append(r.destination.ToString());
  body.append(R"(","agent":)");
  AppendJsonString(body, r.agent);
  body.append(R"(,"campaign":)");
  AppendJsonString(body, r.campaign);
  body.append(R"(,"match":")");
  body.append(core::MatchTierName(r.match));
  body.append(R"(","reservation_id":")");
  AppendUnsigned(body, r.id);
  body.append(R"(","pool":)");
  AppendJsonString(body, r.pool);
  body.append(R"(,"reserved_until":")");
  AppendIsoTime(body, r.reserved_until);
  body.append(R"("})");
  return body;
}

std::string ReleaseBody(const core::ReleaseRequest& request, const core::ReleaseResult& result) {
  std::optional<core::PhoneNumber> caller_id = request.caller_id;
  std::optional<std::uint64_t> reservation_id = request.reservation_id;
  if (result.reservation) {
    caller_id = result.reservation->caller_id;
    reservation_id = result.reservation->id;
  }
  std::string body;
  body.reserve(112);
  body.append(R"({"success":true,"released":)");
  body.append(result.released ? "true" : "false");
  body.append(R"(,"caller_id":)");
  if (caller_id) {
    body.push_back('"');
    body.append(caller_id->ToString());
    body.push_back('"');
  } else {
    body.append("null");
  }
  body.append(R"(,"reservation_id":)");
  if (reservation_id) {
    body.push_back('"');
    AppendUnsigned(body, *reservation_id);
    body.push_back('"');
  } else {
    body.append("null");
  }
  body.push_back('}');
  return body;
}

std::string_view RedisStatus(const store::StoreHealth& health) {
  // Embedded mode has no Redis; cluster mode's Redis is the allocation authority, so it is as
  // healthy as the store's ability to allocate.
  if (health.mode != "cluster") return "not_configured";
  return health.can_allocate ? "healthy" : "unavailable";
}

std::string HealthBody(std::string_view status, const store::StoreHealth& health,
                       core::TimePoint now, std::string_view version) {
  std::string body;
  body.reserve(192);
  body.append(R"({"status":")");
  body.append(status);
  body.append(R"(","timestamp":")");
  AppendIsoTime(body, now);
  body.append(R"(","database":)");
  AppendJsonString(body, health.database);
  body.append(R"(,"redis":{"status":")");
  body.append(RedisStatus(health));
  body.append(R"("},"mode":)");
  AppendJsonString(body, health.mode);
  body.append(R"(,"version":)");
  AppendJsonString(body, version);
  body.push_back('}');
  return body;
}

boost::json::object NumberJson(const core::NumberView& number) {
  const core::NumberSpec& spec = number.spec;
  boost::json::object json;
  json["caller_id"] = spec.caller_id.ToString();
  json["carrier"] = spec.carrier;
  json["area_code"] = AreaCodeText(spec.caller_id.area_code());
  json["pool"] = spec.pool;
  json["state"] = spec.state;
  json["active"] = spec.active;
  json["hourly_limit"] = number.effective_hourly_cap;
  json["daily_limit"] = number.effective_daily_cap;
  // While a new number warms up (WARMUP_DAYS), the day of its warm-up and today's share of its
  // daily cap; daily_limit stays the full cap, the one a PATCH sets.
  json["warmup_day"] =
      number.warmup_day == 0 ? boost::json::value(nullptr) : boost::json::value(number.warmup_day);
  json["daily_limit_today"] = number.daily_cap_today;
  // True when either cap follows DEFAULT_HOURLY_LIMIT / DEFAULT_DAILY_LIMIT (has no own value).
  json["uses_default_limits"] = spec.hourly_cap == 0 || spec.daily_cap == 0;
  json["hourly_used"] = number.hourly_used_now;
  json["daily_used"] = number.daily_used_now;
  json["last_used"] =
      number.usage.last_used == 0
          ? boost::json::value(nullptr)
          : boost::json::value(FormatIsoTime(core::FromCompact(number.usage.last_used)));
  json["reserved"] = number.reserved;
  // A rest (an admin's PATCH rest_until, or automatic): until when; null when not resting.
  json["resting_until"] =
      number.resting ? boost::json::value(FormatIsoTime(core::FromCompact(number.usage.rest_until)))
                     : boost::json::value(nullptr);
  // After a rest: when its probation ends (the budget applies through that local day); null when
  // not on probation.
  json["probation_until"] =
      number.probation_until != 0
          ? boost::json::value(FormatIsoTime(core::FromCompact(number.probation_until)))
          : boost::json::value(nullptr);
  json["available"] = number.available;
  return json;
}

boost::json::object ReservationJson(const store::ReservationRecord& record) {
  const core::Reservation& r = record.reservation;
  boost::json::object json;
  json["reservation_id"] = std::to_string(r.id);
  json["caller_id"] = r.caller_id.ToString();
  json["destination"] = r.destination.ToString();
  json["campaign"] = r.campaign;
  json["agent"] = r.agent;
  json["pool"] = r.pool;
  json["lead_id"] =
      r.lead_id ? boost::json::value(std::to_string(*r.lead_id)) : boost::json::value(nullptr);
  json["match"] = core::MatchTierName(r.match);
  json["reserved_at"] = FormatIsoTime(r.reserved_at);
  json["reserved_until"] = FormatIsoTime(r.reserved_until);
  json["released_at"] = TimeOrNull(record.released_at);
  const std::string_view outcome = core::CallOutcomeName(record.outcome);
  json["outcome"] = outcome.empty() ? boost::json::value(nullptr) : boost::json::value(outcome);
  json["duration"] = record.duration_seconds ? boost::json::value(*record.duration_seconds)
                                             : boost::json::value(nullptr);
  json["live"] = record.live;
  return json;
}

boost::json::object CoverageJson(const service::AreaCodeCoverage& a) {
  boost::json::object json;
  json["area_code"] = std::to_string(a.area_code);
  json["state"] = a.state;
  json["numbers"] = a.numbers;
  json["active"] = a.active;
  json["available"] = a.available;
  json["resting"] = a.resting;
  json["ramping"] = a.ramping;
  json["calls_24h"] = a.calls_24h;
  json["calls_7d"] = a.calls_7d;
  json["busiest_hour"] = a.busiest_hour;
  json["busiest_day"] = a.busiest_day;
  json["hourly_capacity"] = a.hourly_capacity;
  json["daily_capacity"] = a.daily_capacity;
  json["full_hourly_capacity"] = a.full_hourly_capacity;
  json["full_daily_capacity"] = a.full_daily_capacity;
  json["saturated"] = a.saturated;
  json["numbers_needed"] = a.numbers_needed;
  json["more_numbers_needed"] = a.more_numbers_needed;
  return json;
}

boost::json::object LogJson(const store::StoredLog& log) {
  const store::ApiLogEntry& e = log.entry;
  boost::json::object json;
  json["id"] = log.id;
  json["timestamp"] = FormatIsoTime(e.timestamp);
  json["endpoint"] = e.endpoint;
  json["method"] = e.method;
  json["agent"] = e.agent;
  json["campaign"] = e.campaign;
  json["caller_id_allocated"] = e.caller_id_allocated;
  json["response_time_us"] = e.response_time_us;
  json["response_time_ms"] = (e.response_time_us + 500) / 1000;  // the seed's column
  json["status_code"] = e.status_code;
  return json;
}

boost::json::object StatsJson(const store::StoreStats& stats) {
  boost::json::object json;
  json["success"] = true;
  json["total_numbers"] = stats.total_numbers;
  json["active_numbers"] = stats.active_numbers;
  json["reserved_numbers"] = stats.reserved_numbers;
  json["available_numbers"] = stats.available_numbers;
  json["capped_numbers"] = stats.capped_numbers;
  json["resting_numbers"] = stats.resting_numbers;
  json["allocations_total"] = stats.allocations_total;
  json["releases_total"] = stats.releases_total;
  json["no_caller_id_total"] = stats.no_caller_id_total;
  json["journal_queue_depth"] = stats.journal_queue_depth;
  json["journal_backlog_copy_failures"] = stats.journal_backlog_copy_failures;
  boost::json::array area_codes;
  area_codes.reserve(stats.area_codes.size());
  for (const auto& a : stats.area_codes) {
    boost::json::object entry;
    entry["area_code"] = AreaCodeText(a.area_code);
    entry["total"] = a.total;
    entry["active"] = a.active;
    entry["available"] = a.available;
    area_codes.emplace_back(std::move(entry));
  }
  json["area_codes"] = std::move(area_codes);
  boost::json::array pools;
  pools.reserve(stats.pools.size());
  for (const auto& p : stats.pools) {
    pools.emplace_back(boost::json::object{
        {"pool", p.pool}, {"total", p.total}, {"active", p.active}, {"available", p.available}});
  }
  json["pools"] = std::move(pools);
  return json;
}

void AddLiveViewJson(const service::LiveActivity& activity, const store::StoreHealth& health,
                     boost::json::object& json) {
  boost::json::array counts;
  counts.reserve(activity.per_minute.size());
  for (const std::uint32_t count : activity.per_minute) counts.emplace_back(count);
  json["allocations_per_minute"] = boost::json::object{
      {"start", activity.first_minute}, {"step_seconds", 60}, {"counts", counts}};

  auto rows = [](const std::vector<service::ActivityRow>& from) {
    boost::json::array out;
    out.reserve(from.size());
    for (const auto& row : from) {
      out.emplace_back(
          boost::json::object{{"name", row.name},
                              {"allocations", row.allocations},
                              {"last_allocation", FormatIsoTime(row.last_allocation)}});
    }
    return out;
  };
  json["campaigns_24h"] = rows(activity.names.campaigns);
  json["agents_24h"] = rows(activity.names.agents);

  json["health"] = boost::json::object{{"mode", health.mode},
                                       {"can_allocate", health.can_allocate},
                                       {"degraded", health.degraded},
                                       {"database", health.database},
                                       {"redis", RedisStatus(health)}};
}

}  // namespace cidrotor::http
