-- Numbers of the pool in caller-ID order. ARGV[14]: area code or '', ARGV[15]: active filter
-- '1' | '0' | '', ARGV[16]: how many of the first matches to return (offset + limit).
-- Reply: {'OK', total matches, number, ...} | {'NOPOOL'} | {'GEN', g}.
local bad = check_gen(false)
if bad then return bad end
local npa, active, want = ARGV[14], ARGV[15], tonumber(ARGV[16])
local lo, hi = '-', '+'
if npa ~= '' then lo, hi = '[' .. npa .. '0000000', '[' .. npa .. '9999999' end
if active == '' then
  local out = {'OK', redis.call('ZLEXCOUNT', NUMBERS, lo, hi)}
  for _, d in ipairs(redis.call('ZRANGEBYLEX', NUMBERS, lo, hi, 'LIMIT', 0, want)) do
    table.insert(out, d)
  end
  return out
end
local out, total = {'OK', 0}, 0
for _, d in ipairs(redis.call('ZRANGEBYLEX', NUMBERS, lo, hi)) do
  if redis.call('HGET', nkey(d), 'act') == active then
    total = total + 1
    if total <= want then table.insert(out, d) end
  end
end
out[2] = total
return out
