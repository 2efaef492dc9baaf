-- Adds or changes numbers (add-number, update, bulk import, rebuild). ARGV[11]: mode
--   'add'    an existing number is refused ('dup')
--   'update' an existing number gets the new spec (its usage and reservation stay)
--   'skip'   an existing number is left alone ('skip');  'fail': refused ('dup')
-- ARGV[12]: '1' creates the pool's generation key when missing (the caller checked
-- cid:generation). Then 12 fields per number from ARGV[13]: number, carrier, state, hourly cap,
-- daily cap, active '1'/'0', usage mode ('keep' | 'lu' = last_used only | 'all'), last_used,
-- hour_start, hourly_used, day_start, daily_used.
-- Reply: {'OK', status, last_used, hour_start, hourly_used, day_start, daily_used, ...} per
-- number, status 'new' | 'upd' | 'skip' | 'dup'; or {'NOPOOL'} | {'GEN', g}.
local bad = check_gen(ARGV[12] == '1')
if bad then return bad end
advance()

local mode = ARGV[11]
local out = {'OK'}

-- New numbers' sorted-set entries and area counters are written in a few batched calls at the
-- end (one ZADD per key, one HINCRBY per area code): a bulk import pays two calls per number.
local batch, batch_keys = {}, {}
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
local totals, inactive = {}, {}

-- core::NumberIndex::Settle for a new number (no reservation), into the batches.
local function place_new(d, act, lu, f_hc, f_dc, hs, hu, ds, du)
  if act ~= '1' then return end
  local hc, dc = caps(f_hc, f_dc)
  local back = 0
  if used_now(hs, hu, HS) >= hc then back = NH end
  if used_now(ds, du, DS) >= dc then back = math.max(back, ND) end
  if back > 0 then
    later(PARKED, back, d)
    return
  end
  lu = num(lu)
  later(xkey(d), lu, d)
  later(akey(d), lu, d)
  later(ALL, lu, d)
end

for i = 13, #ARGV, 12 do
  local d, usage = ARGV[i], ARGV[i + 6]
  local k = nkey(d)
  local old_act = redis.call('HGET', k, 'act')
  local status = 'new'
  if old_act then
    if mode == 'add' or mode == 'fail' then status = 'dup'
    elseif mode == 'skip' then status = 'skip'
    else status = 'upd' end
  end
  local act = ARGV[i + 5]
  local npa = string.sub(d, 1, 3)
  if status == 'new' then
    local lu, hs, hu, ds, du = 0, 0, 0, 0, 0
    if usage == 'lu' or usage == 'all' then lu = ARGV[i + 7] end
    if usage == 'all' then hs, hu, ds, du = ARGV[i + 8], ARGV[i + 9], ARGV[i + 10], ARGV[i + 11] end
    redis.call('HSET', k, 'car', ARGV[i + 1], 'st', ARGV[i + 2], 'hc', ARGV[i + 3],
               'dc', ARGV[i + 4], 'act', act, 'lu', lu, 'hs', hs, 'hu', hu, 'ds', ds, 'du', du,
               'rid', 0, 'ru', 0)
    later(NUMBERS, 0, d)
    totals[npa] = (totals[npa] or 0) + 1
    if act ~= '1' then inactive[npa] = (inactive[npa] or 0) + 1 end
    place_new(d, act, lu, ARGV[i + 3], ARGV[i + 4], hs, hu, ds, du)
    table.insert(out, status)
    table.insert(out, num(lu))
    table.insert(out, num(hs))
    table.insert(out, num(hu))
    table.insert(out, num(ds))
    table.insert(out, num(du))
  else
    if status == 'upd' then
      redis.call('HSET', k, 'car', ARGV[i + 1], 'st', ARGV[i + 2], 'hc', ARGV[i + 3],
                 'dc', ARGV[i + 4], 'act', act)
      if old_act ~= act then
        local delta = 1
        if act == '1' then delta = -1 end
        redis.call('HINCRBY', AREAS, 'i:' .. npa, delta)
      end
      if usage == 'lu' or usage == 'all' then redis.call('HSET', k, 'lu', ARGV[i + 7]) end
      if usage == 'all' then
        redis.call('HSET', k, 'hs', ARGV[i + 8], 'hu', ARGV[i + 9], 'ds', ARGV[i + 10],
                   'du', ARGV[i + 11])
      end
      settle(d)
    end
    local u = redis.call('HMGET', k, 'lu', 'hs', 'hu', 'ds', 'du')
    table.insert(out, status)
    for j = 1, 5 do table.insert(out, num(u[j])) end
  end
end

for _, key in ipairs(batch_keys) do
  local b = batch[key]
  for first = 1, #b, 4000 do  -- unpack stays far below Lua's C stack limit
    redis.call('ZADD', key, unpack(b, first, math.min(#b, first + 3999)))
  end
end
for npa, n in pairs(totals) do redis.call('HINCRBY', AREAS, 't:' .. npa, n) end
for npa, n in pairs(inactive) do redis.call('HINCRBY', AREAS, 'i:' .. npa, n) end
return out
