-- Ends a live reservation early (idempotent). ARGV[14]: reservation id or '', ARGV[15]: caller-ID
-- or ''. With both, ends nothing when the id names another number's reservation.
-- Replies: {'OK', id, number, destination, campaign, agent, lead, match, reserved_at_ms,
-- reserved_until} | {'NO'} (already ended) | {'NOTFOUND'} (unknown number) | {'NOPOOL'} | {'GEN', g}.
-- On the hot path with allocate.lua: each field is read once (parked numbers that are due come
-- back with the next allocation or tick, not here).
-- ARGV[16], only when an allocation the journal refused is undone (RedisStore::UndoAllocation,
-- with both id and number): the number's reservation before it (allocate.lua's `previous`),
-- which is its newest ('lr') again, unless another allocation came since. Even when the
-- reservation has ended meanwhile: the journal never had it, so nothing may link to it.
local bad = check_gen(false)
if bad then return bad end

local R_FIELDS = {'cid', 'dst', 'cmp', 'agt', 'lead', 'm', 'at', 'ru'}
local id, d = ARGV[14], ARGV[15]
if ARGV[16] and d ~= '' and redis.call('HGET', nkey(d), 'lr') == id then
  redis.call('HSET', nkey(d), 'lr', ARGV[16])
end
local r
if id ~= '' then
  r = redis.call('HMGET', rkey(id), unpack(R_FIELDS))
  if not r[1] or (d ~= '' and d ~= r[1]) then return {'NO'} end
  d = r[1]
end
local f = redis.call('HMGET', nkey(d), 'act', 'rid', 'ru', 'lu', 'hc', 'dc', 'hs', 'hu', 'ds', 'du',
                     'wf', 'rs', 'lm')
if not f[1] then return {'NOTFOUND'} end  -- every number has 'act'
if id == '' then
  id = f[2]
  if num(id) == 0 then return {'NO'} end
  r = redis.call('HMGET', rkey(id), unpack(R_FIELDS))
end
if num(f[3]) <= NOW then  -- its TTL has passed: it ended then
  settle(d)
  return {'NO'}
end
end_reservation(d, id)
redis.call('ZREM', PARKED, d)  -- a reserved number is parked and in no other order (place)
place(d, f[1], 0, 0, order_score(f[4], f[13]), f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12])
return {'OK', id, d, r[2], r[3], r[4], r[5], r[6], r[7], r[8]}
