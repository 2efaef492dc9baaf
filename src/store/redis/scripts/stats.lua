-- Counts of the pool (GET /api/stats). Reply: {'OK', numbers, available, reserved, parked,
-- npa, total, inactive, available, npa, ...} | {'NOPOOL'} | {'GEN', g}. Parked numbers are
-- reserved ones (until their reservation ends) and capped ones (until the next window).
local bad = check_gen(false)
if bad then return bad end
advance()
local out = {'OK', redis.call('ZCARD', NUMBERS), 0, redis.call('ZCARD', LIVE),
             redis.call('ZCARD', PARKED)}

-- Available numbers of an area code: those of its exchanges that have any (lib.lua lift).
local function available_in(npa)
  local n = 0
  for _, nxx in ipairs(redis.call('ZRANGE', P .. 'a:' .. npa, 0, -1)) do
    n = n + redis.call('ZCARD', P .. 'x:' .. nxx)
  end
  return n
end

local areas = redis.call('HGETALL', AREAS)
for i = 1, #areas, 2 do
  local field = areas[i]
  if string.sub(field, 1, 2) == 't:' then
    local npa = string.sub(field, 3)
    local total = tonumber(areas[i + 1])
    if total > 0 then
      local available = available_in(npa)
      out[3] = out[3] + available
      table.insert(out, npa)
      table.insert(out, total)
      table.insert(out, num(redis.call('HGET', AREAS, 'i:' .. npa)))
      table.insert(out, available)
    end
  end
end
return out
