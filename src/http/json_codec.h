// core/store types -> JSON response bodies. The hot endpoints' bodies (/next-cid, /release,
// /health) are formatted directly as text; admin bodies are built with Boost.JSON.
// Conventions: phone numbers, area codes, reservation ids and lead ids are JSON strings (ids can
// exceed JavaScript's 2^53); instants are ISO-8601 UTC strings ("2026-01-02T03:04:05Z") or null.
// Pure functions.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "core/allocation.h"
#include "core/clock.h"
#include "core/number.h"
#include "http/message.h"
#include "service/activity_history.h"
#include "service/allocation_telemetry.h"
#include "service/coverage.h"
#include "store/store.h"

namespace cidrotor::http {

// GET /next-cid: {"success":true,"caller_id":..,"area_code":..,"carrier":..,"reserved_for":S,
// "destination":..,"agent":..,"campaign":..,"match":..,"reservation_id":"..","pool":..,
// "reserved_until":".."}; reserved_for is the reservation's length in whole seconds (the TTL).
std::string NextCidBody(const core::Allocation& allocation);

// POST /release: {"success":true,"released":B,"caller_id":"..."|null,"reservation_id":"..."|null}
// from the reservation that ended, else from the request.
std::string ReleaseBody(const core::ReleaseRequest& request, const core::ReleaseResult& result);

// GET /health: {"status":..,"timestamp":..,"database":..,"redis":{"status":..},"mode":..,
// "version":..}. `status` is "healthy", "degraded" or "unhealthy".
// "healthy", "unavailable" (cluster mode), or "not_configured" (embedded mode has no Redis).
std::string_view RedisStatus(const store::StoreHealth& health);

std::string HealthBody(std::string_view status, const store::StoreHealth& health,
                       core::TimePoint now, std::string_view version);

boost::json::object NumberJson(const core::NumberView& number);
boost::json::object ReservationJson(const store::ReservationRecord& record);
boost::json::object LogJson(const store::StoredLog& log);
// One area code of GET /api/coverage.
boost::json::object CoverageJson(const service::AreaCodeCoverage& coverage);
boost::json::object StatsJson(const store::StoreStats& stats);

// GET /api/stats's live-view members, added to `json`: "allocations_per_minute" ({"start": Unix
// seconds of the first minute, "step_seconds":60, "counts":[360 counts, oldest first]}),
// "campaigns_24h" and "agents_24h" ([{"name","allocations","last_allocation"}], busiest first),
// and "health" ({"mode","can_allocate","degraded","database","redis"}).
void AddLiveViewJson(const service::LiveActivity& activity, const store::StoreHealth& health,
                     boost::json::object& json);

std::string AreaCodeText(std::uint32_t area_code);  // 212 -> "212"

// A JSON response with `body` serialized.
Response JsonResponse(const boost::json::object& body, unsigned status = 200);

}  // namespace cidrotor::http
