-- Counts of the pool (GET /api/stats). Reply: {'OK', numbers, available, reserved, parked,
-- npa, total, inactive, available, npa, ...} | {'NOPOOL'} | {'GEN', g}. Parked numbers are
-- reserved ones (until their reservation ends) and capped ones (until the next window).
local bad = check_gen(false)
if bad then return bad end
advance()
local out = {'OK', redis.call('ZCARD', NUMBERS), redis.call('ZCARD', ALL),
             redis.call('ZCARD', LIVE), redis.call('ZCARD', PARKED)}
local areas = redis.call('HGETALL', AREAS)
for i = 1, #areas, 2 do
  local field = areas[i]
  if string.sub(field, 1, 2) == 't:' then
    local npa = string.sub(field, 3)
    local total = tonumber(areas[i + 1])
    if total > 0 then
      table.insert(out, npa)
      table.insert(out, total)
      table.insert(out, num(redis.call('HGET', AREAS, 'i:' .. npa)))
      table.insert(out, redis.call('ZCARD', P .. 'a:' .. npa))
    end
  end
end
return out
