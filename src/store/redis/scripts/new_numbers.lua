-- Shared by the scripts that add numbers (upsert.lua, insert.lua), after lib.lua: a new number's
-- sorted-set entries and area counters are batched and written in a few calls at the end of the
-- script (one ZADD per key, one HINCRBY per area code), so adding a number costs one HSET.
-- Values go to Redis as the strings the caller sent: a Lua number is formatted with printf on
-- its way to Redis (~7 % of Redis's CPU in a million-row import).
local batch, batch_keys = {}, {}
local totals, inactive, available = {}, {}, {}
local exchanges = {}  -- the exchanges given available numbers, each once, for lift

-- The pending ZADD arguments (score, member, ...) of `key`.
local function batch_of(key)
  local b = batch[key]
  if not b then
    b = {}
    batch[key] = b
    batch_keys[#batch_keys + 1] = key
  end
  return b
end

local function later(b, score, member)
  b[#b + 1] = score
  b[#b + 1] = member
end

-- The warm-up start ('wf') of a number being created: `wf` when the caller gave one ('0':
-- established), else today's local midnight for a number without a last use, else none ('0'):
-- core::ArrivingUsage's rule.
local function arriving_wf(lu, wf)
  if wf and wf ~= '' then return wf end
  if num(lu) ~= 0 then return '0' end
  return DS_S
end

-- The exchange of the previous number and its batch: numbers come sorted, so a run of them
-- shares these, looked up once (~5 % of a million-row import's Redis CPU otherwise).
local run_nxx, run_npa, run_x

-- Indexes a number whose hash was just created (lib.lua place for a number without a
-- reservation): counted in its area code, in the pool's list, and parked while at a cap, else
-- parked (and in REST) while resting, else in the available order by last_used. Fields are the
-- hash's values (strings; `rs` nil or '0': not resting).
local function add_new(d, act, lu, f_hc, f_dc, hs, hu, ds, du, wf, rs)
  local nxx = string.sub(d, 1, 6)
  if nxx ~= run_nxx then
    run_nxx, run_npa = nxx, string.sub(d, 1, 3)
    local key = P .. 'x:' .. nxx
    if not batch[key] then exchanges[#exchanges + 1] = nxx end
    run_x = batch_of(key)
  end
  local npa = run_npa
  later(batch_of(NUMBERS), '0', d)
  totals[npa] = (totals[npa] or 0) + 1
  if act ~= '1' then
    inactive[npa] = (inactive[npa] or 0) + 1
    return
  end
  local hc, dc = caps(f_hc, f_dc, wf, rs)
  local back = 0
  if used_now(hs, hu, HS) >= hc then back = NH end
  if used_now(ds, du, DS) >= dc then back = math.max(back, ND) end
  if back > 0 then
    later(batch_of(PARKED), back, d)
    return
  end
  if num(rs) > NOW then
    later(batch_of(PARKED), rs, d)
    later(batch_of(REST), rs, d)
    return
  end
  later(run_x, lu, d)
  available[npa] = (available[npa] or 0) + 1
end

-- Writes the batches. Call once, after the last add_new.
local function flush_new()
  for _, key in ipairs(batch_keys) do
    local b = batch[key]
    for first = 1, #b, 4000 do  -- unpack stays far below Lua's C stack limit
      redis.call('ZADD', key, unpack(b, first, math.min(#b, first + 3999)))
    end
  end
  -- The levels above the exchanges (lib.lua lift), each exchange and area code once.
  local areas = {}
  for _, nxx in ipairs(exchanges) do
    local npa = string.sub(nxx, 1, 3)
    rescore(P .. 'a:' .. npa, P .. 'x:' .. nxx, nxx)
    areas[npa] = true
  end
  for npa in pairs(areas) do rescore(ALL, P .. 'a:' .. npa, npa) end
  for npa, n in pairs(totals) do redis.call('HINCRBY', AREAS, 't:' .. npa, n) end
  for npa, n in pairs(inactive) do redis.call('HINCRBY', AREAS, 'i:' .. npa, n) end
  for npa, n in pairs(available) do redis.call('HINCRBY', AREAS, 'v:' .. npa, n) end
end
