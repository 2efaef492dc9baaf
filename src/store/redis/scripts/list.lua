-- Numbers of the pool in caller-ID order that pass the active or resting filter (a listing
-- without either is found by rank, redis_store_numbers.cc PageByRank). ARGV[14]: area code or '',
-- ARGV[15]: active filter '1' | '0' | '', ARGV[16]: how many of the first matches to return
-- (offset + limit, less those an earlier call returned), ARGV[17]: the number to go on after
-- ('' = from the first), ARGV[18]: how many numbers this call looks at, ARGV[19]: resting filter
-- '1' (resting now: 'rs' after NOW) | '0' | ''.
-- Reply: {'OK', matches, cursor, number, ...}: the matches among the numbers looked at; cursor
-- '' = done, else the last number looked at (pass it as ARGV[17] for the rest). | {'NOPOOL'} |
-- {'GEN', g}.
-- The filters read each number's hash: a call looks at a bounded slice, so one listing of a
-- million numbers never holds Redis (and every instance's allocations) for seconds.
local bad = check_gen(false)
if bad then return bad end
local npa, active, want, resting = ARGV[14], ARGV[15], tonumber(ARGV[16]), ARGV[19] or ''

local lo, hi = '-', '+'
if npa ~= '' then lo, hi = '[' .. npa .. '0000000', '[' .. npa .. '9999999' end
local budget = tonumber(ARGV[18])
if ARGV[17] ~= '' then lo = '(' .. ARGV[17] end
local slice = redis.call('ZRANGEBYLEX', NUMBERS, lo, hi, 'LIMIT', 0, budget)
local out, total = {'OK', 0, ''}, 0
for _, d in ipairs(slice) do
  local f = redis.call('HMGET', nkey(d), 'act', 'rs')
  local rests = num(f[2]) > NOW
  if (active == '' or f[1] == active) and (resting == '' or rests == (resting == '1')) then
    total = total + 1
    if total <= want then table.insert(out, d) end
  end
end
out[2] = total
if #slice == budget then out[3] = slice[#slice] end
return out
