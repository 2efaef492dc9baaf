-- Shared by the scripts that add numbers (upsert.lua, insert.lua), after lib.lua: a new number's
-- sorted-set entries and area counters are batched and written in a few calls at the end of the
-- script (one ZADD per key, one HINCRBY per area code), so adding a number costs one HSET.
-- Values go to Redis as the strings the caller sent: a Lua number is formatted with printf on
-- its way to Redis, which cost more than the ZADDs themselves in a million-row import.
local batch, batch_keys = {}, {}
local totals, inactive = {}, {}

local function later(key, score, member)
  local b = batch[key]
  if not b then
    b = {}
    batch[key] = b
    table.insert(batch_keys, key)
  end
  b[#b + 1] = score
  b[#b + 1] = member
end

-- Indexes a number whose hash was just created (lib.lua place for a number without a
-- reservation): counted in its area code, in the pool's list, and parked while at a cap, else
-- in the three available orders by last_used. Fields are the hash's values (strings).
local function add_new(d, act, lu, f_hc, f_dc, hs, hu, ds, du)
  local npa = string.sub(d, 1, 3)
  later(NUMBERS, '0', d)
  totals[npa] = (totals[npa] or 0) + 1
  if act ~= '1' then
    inactive[npa] = (inactive[npa] or 0) + 1
    return
  end
  local hc, dc = caps(f_hc, f_dc)
  local back = 0
  if used_now(hs, hu, HS) >= hc then back = NH end
  if used_now(ds, du, DS) >= dc then back = math.max(back, ND) end
  if back > 0 then
    later(PARKED, back, d)
    return
  end
  later(xkey(d), lu, d)
  later(akey(d), lu, d)
  later(ALL, lu, d)
end

-- Writes the batches. Call once, after the last add_new.
local function flush_new()
  for _, key in ipairs(batch_keys) do
    local b = batch[key]
    for first = 1, #b, 4000 do  -- unpack stays far below Lua's C stack limit
      redis.call('ZADD', key, unpack(b, first, math.min(#b, first + 3999)))
    end
  end
  for npa, n in pairs(totals) do redis.call('HINCRBY', AREAS, 't:' .. npa, n) end
  for npa, n in pairs(inactive) do redis.call('HINCRBY', AREAS, 'i:' .. npa, n) end
end
