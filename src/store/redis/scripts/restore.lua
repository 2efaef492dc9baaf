-- Rebuild: re-creates live reservations read back from the journal. 9 fields per reservation
-- from ARGV[11]: id, number, destination, campaign, agent, lead, match, reserved_at_ms,
-- reserved_until. A number that is gone or already reserved is skipped.
-- Reply: {'OK', restored, skipped} | {'NOPOOL'} | {'GEN', g}.
local bad = check_gen(false)
if bad then return bad end
local restored, skipped = 0, 0
for i = 11, #ARGV, 9 do
  local id, d = ARGV[i], ARGV[i + 1]
  local f = redis.call('HMGET', nkey(d), 'act', 'rid')  -- every number has 'act'; 'rid' may be absent
  if not f[1] or num(f[2]) ~= 0 then
    skipped = skipped + 1
  else
    redis.call('HSET', nkey(d), 'rid', id, 'ru', ARGV[i + 8])
    redis.call('HSET', rkey(id), 'cid', d, 'dst', ARGV[i + 2], 'cmp', ARGV[i + 3],
               'agt', ARGV[i + 4], 'lead', ARGV[i + 5], 'm', ARGV[i + 6], 'at', ARGV[i + 7],
               'ru', ARGV[i + 8])
    redis.call('ZADD', LIVE, ARGV[i + 7], id)
    settle(d)
    restored = restored + 1
  end
end
return {'OK', restored, skipped}
