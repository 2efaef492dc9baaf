-- Live reservations of the pool, newest first. ARGV[14]: at most how many.
-- Reply: {'OK', id, number, destination, campaign, agent, lead, match, reserved_at_ms,
-- reserved_until, pool made in ('' = this one), ...} | {'NOPOOL'} | {'GEN', g}.
local bad = check_gen(false)
if bad then return bad end
advance()
local out = {'OK'}
for _, id in ipairs(redis.call('ZREVRANGE', LIVE, 0, tonumber(ARGV[14]) - 1)) do
  local r = redis.call('HMGET', rkey(id), 'cid', 'dst', 'cmp', 'agt', 'lead', 'm', 'at', 'ru', 'rp')
  table.insert(out, id)
  for j = 1, 9 do table.insert(out, r[j] or '') end
end
return out
