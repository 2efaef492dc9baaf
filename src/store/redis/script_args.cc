#include "store/redis/script_args.h"

#include <utility>

namespace cidrotor::store::redis {

std::string PoolPrefix(std::string_view pool) {
  std::string prefix = "cid:{";
  prefix += pool;
  prefix += "}:";
  return prefix;
}

ScriptCall PoolCall(Script script, std::string_view pool, const ScriptContext& context,
                    std::vector<std::string> args) {
  const std::string prefix = PoolPrefix(pool);
  ScriptCall call;
  call.script = script;
  call.keys.push_back(prefix + "gen");
  call.args.reserve(13 + args.size());
  call.args.push_back(prefix);
  call.args.push_back(context.epoch);
  call.args.push_back(std::to_string(core::ToCompact(context.now)));
  call.args.push_back(std::to_string(context.now.time_since_epoch().count()));
  call.args.push_back(std::to_string(core::ToCompact(context.windows.hour_start)));
  call.args.push_back(std::to_string(core::ToCompact(context.windows.next_hour)));
  call.args.push_back(std::to_string(core::ToCompact(context.windows.day_start)));
  call.args.push_back(std::to_string(core::ToCompact(context.windows.next_day)));
  call.args.push_back(std::to_string(context.default_hourly_cap));
  call.args.push_back(std::to_string(context.default_daily_cap));
  call.args.push_back(std::to_string(context.warmup_days));
  call.args.push_back(std::to_string(context.probation.count()));
  call.args.push_back(std::to_string(context.probation_daily_cap));
  for (std::string& arg : args) call.args.push_back(std::move(arg));
  return call;
}

core::CompactTime CeilCompact(core::TimePoint t) {
  const core::CompactTime floor = core::ToCompact(t);
  return core::FromCompact(floor) < t ? floor + 1 : floor;
}

}  // namespace cidrotor::store::redis
