-- Counts of the pool (GET /api/stats). Reply: {'OK', numbers, available, reserved, parked,
-- parked for a rest, resting, npa, total, inactive, available, npa, ...} | {'NOPOOL'} |
-- {'GEN', g}. Parked numbers are reserved ones (until their reservation ends), capped ones (until
-- the next window) and resting ones (until their rest ends: also in REST, lib.lua place).
-- Resting counts the rests still ahead (a due one not settled yet is neither capped nor resting).
local bad = check_gen(false)
if bad then return bad end
advance()
local out = {'OK', redis.call('ZCARD', NUMBERS), 0, redis.call('ZCARD', LIVE),
             redis.call('ZCARD', PARKED), redis.call('ZCARD', REST),
             redis.call('ZCOUNT', REST, '(' .. NOW_S, '+inf')}
local counts = {}  -- AREAS as a table: 't:212' -> '40', ...
local flat = redis.call('HGETALL', AREAS)
for i = 1, #flat, 2 do counts[flat[i]] = flat[i + 1] end
for field, total in pairs(counts) do
  if string.sub(field, 1, 2) == 't:' and tonumber(total) > 0 then
    local npa = string.sub(field, 3)
    local available = num(counts['v:' .. npa])
    out[3] = out[3] + available
    table.insert(out, npa)
    table.insert(out, tonumber(total))
    table.insert(out, num(counts['i:' .. npa]))
    table.insert(out, available)
  end
end
return out
