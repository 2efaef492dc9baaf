-- Removes a number; its live reservation ends with it (here: a move carries it on, upsert.lua
-- mode 'move' in the new pool). ARGV[14]: the number.
-- Reply: {'OK', view (16 fields, lib.lua view: a move carries its usage, 'wf' and 'rs' on)...,
-- its newest reservation id ('lr', '0' when none: a move carries it too), ended reservation id or
-- 0, then when not 0 the reservation's dst, cmp, agt, lead, m, at, ru, rp ('' when made in
-- this pool), and last the delete's
-- version (lib.lua change_version)} | {'NOTFOUND'} | {'NOPOOL'} | {'GEN', g}.
local bad = check_gen(false)
if bad then return bad end
advance()
local d = ARGV[14]
local before = view(d)
if not before then return {'NOTFOUND'} end
local f = redis.call('HMGET', nkey(d), 'rid', 'ru', 'act', 'lr', 'rs')
local ended, held = 0, {}
if num(f[1]) ~= 0 then
  if num(f[2]) > NOW then
    ended = num(f[1])
    held = redis.call('HMGET', rkey(f[1]), 'dst', 'cmp', 'agt', 'lead', 'm', 'at', 'ru', 'rp')
  end
  end_reservation(d, f[1])
end
detach(d, f[5])
local npa = string.sub(d, 1, 3)
redis.call('HINCRBY', AREAS, 't:' .. npa, -1)
if f[3] ~= '1' then redis.call('HINCRBY', AREAS, 'i:' .. npa, -1) end
redis.call('ZREM', NUMBERS, d)
redis.call('DEL', nkey(d))
local out = {'OK'}
for _, v in ipairs(before) do table.insert(out, v) end
table.insert(out, f[4] or '0')
table.insert(out, ended)
for i = 1, #held do table.insert(out, held[i] or '') end
table.insert(out, change_version())
return out
