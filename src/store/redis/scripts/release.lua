-- Ends a live reservation early (idempotent). ARGV[11]: reservation id or '', ARGV[12]: caller-ID
-- or ''. With both, ends nothing when the id names another number's reservation.
-- Replies: {'OK', id, number, destination, campaign, agent, lead, match, reserved_at_ms,
-- reserved_until} | {'NO'} (already ended) | {'NOTFOUND'} (unknown number) | {'NOPOOL'} | {'GEN', g}.
local bad = check_gen(false)
if bad then return bad end
advance()

local id, d = ARGV[11], ARGV[12]
if id ~= '' then
  local owner = redis.call('HGET', rkey(id), 'cid')
  if not owner or (d ~= '' and d ~= owner) then return {'NO'} end
  d = owner
else
  if redis.call('EXISTS', nkey(d)) == 0 then return {'NOTFOUND'} end
  id = redis.call('HGET', nkey(d), 'rid')
  if num(id) == 0 then return {'NO'} end
end
if num(redis.call('HGET', nkey(d), 'ru')) <= NOW then  -- its TTL has passed: it ended then
  settle(d)
  return {'NO'}
end
local r = redis.call('HMGET', rkey(id), 'dst', 'cmp', 'agt', 'lead', 'm', 'at', 'ru')
end_reservation(d, id)
settle(d)
return {'OK', id, d, r[1], r[2], r[3], r[4], r[5], r[6], r[7]}
