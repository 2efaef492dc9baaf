-- Counts of the pool (GET /api/stats). Reply: {'OK', numbers, available, reserved, parked,
-- npa, total, inactive, available, npa, ...} | {'NOPOOL'} | {'GEN', g}. Parked numbers are
-- reserved ones (until their reservation ends) and capped ones (until the next window).
local bad = check_gen(false)
if bad then return bad end
advance()
local out = {'OK', redis.call('ZCARD', NUMBERS), 0, redis.call('ZCARD', LIVE),
             redis.call('ZCARD', PARKED)}
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
