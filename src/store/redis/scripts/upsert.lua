-- Adds or changes numbers (add-number, update, bulk import, rebuild). ARGV[14]: mode
--   'add'    an existing number is refused ('dup')
--   'update' an existing number gets the new spec (its usage and reservation stay)
--   'known'  as 'update' for a number the pool holds; one it does not hold (moved to another
--            pool or deleted since the caller looked it up) is left alone: 'gone', never created
--   'skip'   an existing number is left alone ('skip');  'fail': refused ('dup')
--   'move'   as 'update', for one number coming from another pool with its live reservation:
--            the 14 fields are followed by the reservation's 9 (lib.lua hold), and the number
--            is held in this same script, never available in its new pool meanwhile
-- ARGV[15]: '1' creates the pool's generation key when missing (the caller checked
-- cid:generation). Then 14 fields per number from ARGV[16]: number, carrier, state, hourly cap,
-- daily cap, active '1'/'0', usage mode ('keep' | 'lu' = last_used only | 'all'), last_used
-- (lib.lua split_last_used: with its millisecond when it has one), hour_start, hourly_used, day_start, daily_used, warm-up start, rest end. The warm-up start
-- ('wf') is '' when the caller leaves it to this script: a new number warms up from today unless
-- it has a last_used (new_numbers.lua arriving_wf), an existing one keeps its own (a PATCH).
-- Otherwise it is set as given, '0' = established: the rebuild, a move and an undo pass the
-- number's own. The rest end ('rs', resting until then) is '' to keep an existing number's (an
-- import, a PATCH of other fields; a new number: none), else set as given, '0' = none (ends a
-- rest now): a PATCH of the rest, the rebuild, a move and an undo.
-- Reply: {'OK', status, last_used, hour_start, hourly_used, day_start, daily_used, warm_from,
-- rest_until, last_used_ms, ...} (9 per number), status 'new' | 'upd' | 'skip' | 'dup' | 'gone', then the
-- change's version (lib.lua change_version); or {'NOPOOL'} | {'GEN', g}.
local bad = check_gen(ARGV[15] == '1')
if bad then return bad end
advance()

-- Sets field `f` of hash `k` to `v`, or removes it for '0': hashes hold only non-default fields.
local function put_field(k, f, v)
  if num(v) ~= 0 then
    redis.call('HSET', k, f, v)
  else
    redis.call('HDEL', k, f)
  end
end

local mode = ARGV[14]
local out = {'OK'}
local last = #ARGV
if mode == 'move' then last = 16 end  -- one number, then its reservation

for i = 16, last, 14 do
  local d, usage, wf, rs = ARGV[i], ARGV[i + 6], ARGV[i + 12], ARGV[i + 13]
  local k = nkey(d)
  local old_act = redis.call('HGET', k, 'act')
  local status = 'new'
  if old_act then
    if mode == 'add' or mode == 'fail' then status = 'dup'
    elseif mode == 'skip' then status = 'skip'
    else status = 'upd' end
  elseif mode == 'known' then
    status = 'gone'
  end
  local act = ARGV[i + 5]
  local npa = string.sub(d, 1, 3)
  if status == 'gone' then
    table.insert(out, status)
    for _ = 1, 8 do table.insert(out, 0) end
  elseif status == 'new' then
    local lu, lm, hs, hu, ds, du = '0', nil, '0', '0', '0', '0'
    if usage == 'lu' or usage == 'all' then lu, lm = split_last_used(ARGV[i + 7]) end
    if usage == 'all' then hs, hu, ds, du = ARGV[i + 8], ARGV[i + 9], ARGV[i + 10], ARGV[i + 11] end
    wf = arriving_wf(lu, wf)
    if num(rs) == 0 then rs = '0' end
    local h = {k, 'car', ARGV[i + 1], 'st', ARGV[i + 2], 'hc', ARGV[i + 3], 'dc', ARGV[i + 4],
               'act', act, 'lu', lu, 'hs', hs, 'hu', hu, 'ds', ds, 'du', du, 'rid', '0', 'ru', '0'}
    if wf ~= '0' then  -- absent means 0 (the hash holds it only when it is not)
      local n = #h
      h[n + 1], h[n + 2] = 'wf', wf
    end
    if rs ~= '0' then  -- likewise
      local n = #h
      h[n + 1], h[n + 2] = 'rs', rs
    end
    if lm then  -- likewise
      local n = #h
      h[n + 1], h[n + 2] = 'lm', lm
    end
    redis.call('HSET', unpack(h))
    add_new(d, act, order_score(lu, lm), ARGV[i + 3], ARGV[i + 4], hs, hu, ds, du, wf, rs)
    table.insert(out, status)
    table.insert(out, num(lu))
    table.insert(out, num(hs))
    table.insert(out, num(hu))
    table.insert(out, num(ds))
    table.insert(out, num(du))
    table.insert(out, num(wf))
    table.insert(out, num(rs))
    table.insert(out, num(lm))
  else
    if status == 'upd' then
      redis.call('HSET', k, 'car', ARGV[i + 1], 'st', ARGV[i + 2], 'hc', ARGV[i + 3],
                 'dc', ARGV[i + 4], 'act', act)
      if old_act ~= act then
        local delta = 1
        if act == '1' then delta = -1 end
        redis.call('HINCRBY', AREAS, 'i:' .. npa, delta)
      end
      if usage == 'lu' or usage == 'all' then
        local lu, lm = split_last_used(ARGV[i + 7])
        redis.call('HSET', k, 'lu', lu)
        if lm then redis.call('HSET', k, 'lm', lm) else redis.call('HDEL', k, 'lm') end
      end
      if usage == 'all' then
        redis.call('HSET', k, 'hs', ARGV[i + 8], 'hu', ARGV[i + 9], 'ds', ARGV[i + 10],
                   'du', ARGV[i + 11])
      end
      if wf ~= '' then put_field(k, 'wf', wf) end
      if rs ~= '' then
        redis.call('ZREM', REST, d)  -- placed by the old value (lib.lua detach)
        put_field(k, 'rs', rs)
      end
      settle(d)
    end
    local u = redis.call('HMGET', k, 'lu', 'hs', 'hu', 'ds', 'du', 'wf', 'rs', 'lm')
    table.insert(out, status)
    for j = 1, 8 do table.insert(out, num(u[j])) end
  end
end

flush_new()
if mode == 'move' then  -- after flush_new: settle finds the number in the order it was put in
  hold(ARGV[16], {ARGV[30], ARGV[31], ARGV[32], ARGV[33], ARGV[34], ARGV[35], ARGV[36], ARGV[37],
                  ARGV[38]})
end
table.insert(out, change_version())
return out
