-- Adds numbers that are new to the pool: the bulk import's path for numbers that cid:pool_of
-- placed in no pool (upsert.lua reads each number first and answers its usage; this script does
-- neither). All or nothing: when any of them exists in the pool already (another writer added it
-- since), nothing is written and the reply is {'EXISTS'}; the caller then upserts them.
-- 7 fields per number from ARGV[11]: number, carrier, state, hourly cap, daily cap, active
-- '1'/'0', last_used. A new number starts with no usage and no reservation.
-- Reply: {'OK'} | {'EXISTS'} | {'NOPOOL'} | {'GEN', g}.
local bad = check_gen(false)
if bad then return bad end
advance()

local keys = {}
for i = 11, #ARGV, 7 do keys[#keys + 1] = nkey(ARGV[i]) end
for first = 1, #keys, 4000 do  -- unpack stays far below Lua's C stack limit
  if redis.call('EXISTS', unpack(keys, first, math.min(#keys, first + 3999))) > 0 then
    return {'EXISTS'}
  end
end

for n, k in ipairs(keys) do
  local i = 4 + 7 * n  -- this number's first field
  local d, act, lu = ARGV[i], ARGV[i + 5], ARGV[i + 6]
  -- The counters and reserved_until are left out (read as 0 everywhere, lib.lua num): a hash
  -- of 8 fields instead of 13 costs Redis markedly less to build, a million times over.
  redis.call('HSET', k, 'car', ARGV[i + 1], 'st', ARGV[i + 2], 'hc', ARGV[i + 3],
             'dc', ARGV[i + 4], 'act', act, 'lu', lu, 'rid', '0')
  add_new(d, act, lu, ARGV[i + 3], ARGV[i + 4], '0', '0', '0', '0')
end
flush_new()
return {'OK'}
