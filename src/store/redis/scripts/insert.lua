-- Adds numbers that are new to the pool: the bulk import's path for numbers that cid:pool_of
-- placed in no pool (upsert.lua reads each number first and answers its usage; this script does
-- neither). All or nothing: when any of them exists in the pool already (another writer added it
-- since), nothing is written and the reply is {'EXISTS'}; the caller then upserts them.
-- 9 fields per number from ARGV[14]: number, carrier, state, hourly cap, daily cap, active
-- '1'/'0', last_used, warm-up start ('' = new_numbers.lua arriving_wf decides: today without a
-- last_used; the store sends the value it journals, core::ArrivingUsage), rest end ('0' = none;
-- an export being restored). A new number starts with no usage and no reservation.
-- Reply: {'OK', version (lib.lua change_version)} | {'EXISTS'} | {'NOPOOL'} | {'GEN', g}.
local bad = check_gen(false)
if bad then return bad end
advance()

local keys = {}
for i = 14, #ARGV, 9 do keys[#keys + 1] = nkey(ARGV[i]) end
for first = 1, #keys, 4000 do  -- unpack stays far below Lua's C stack limit
  if redis.call('EXISTS', unpack(keys, first, math.min(#keys, first + 3999))) > 0 then
    return {'EXISTS'}
  end
end

-- A new number's hash holds 'act' (which marks that the number exists) and only the fields that
-- differ from their default: every reader takes an absent field as 0 or '' (lib.lua num, view).
-- Usually 3 fields instead of 9: a hash that costs Redis markedly less to build, a million times
-- over. `h` is reused: the HSET arguments of one number.
local h = {}
for n, k in ipairs(keys) do
  local i = 5 + 9 * n  -- this number's first field
  local d, car, st, hc, dc = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local act, lu, rs = ARGV[i + 5], ARGV[i + 6], ARGV[i + 8]
  local wf = arriving_wf(lu, ARGV[i + 7])
  h[1], h[2], h[3] = k, 'act', act
  local m = 3
  if car ~= '' then h[m + 1], h[m + 2], m = 'car', car, m + 2 end
  if st ~= '' then h[m + 1], h[m + 2], m = 'st', st, m + 2 end
  if hc ~= '0' then h[m + 1], h[m + 2], m = 'hc', hc, m + 2 end
  if dc ~= '0' then h[m + 1], h[m + 2], m = 'dc', dc, m + 2 end
  if lu ~= '0' then h[m + 1], h[m + 2], m = 'lu', lu, m + 2 end
  if wf ~= '0' then h[m + 1], h[m + 2], m = 'wf', wf, m + 2 end
  if rs ~= '0' then
    h[m + 1], h[m + 2], m = 'rs', rs, m + 2
  else
    rs = nil  -- never rested: caps() skips the probation
  end
  redis.call('HSET', unpack(h, 1, m))
  add_new(d, act, lu, hc, dc, '0', '0', '0', '0', wf, rs)
end
flush_new()
return {'OK', change_version()}
