-- Shared prelude of every cidrotor script (prepended at build time; docs/redis-keys.md).
-- Every script runs on ONE pool: KEYS[1] is the pool's generation key `cid:{pool}:gen`, and every
-- other key it touches carries the same `{pool}` tag, so the pool lives in one cluster slot.
-- ARGV[1..13] is the common header (store/redis/script_args.cc); script arguments start at 14.
-- Times are compact seconds (since 2020-01-01 UTC) except *_MS (Unix milliseconds). Lua has no
-- time zones: the hour/day windows of TIMEZONE come from core::Calendar in C++.
local P = ARGV[1]
local EPOCH = ARGV[2]
local NOW = tonumber(ARGV[3])
local NOW_MS = tonumber(ARGV[4])
local HS, NH = tonumber(ARGV[5]), tonumber(ARGV[6])  -- hour start, next hour
local DS, ND = tonumber(ARGV[7]), tonumber(ARGV[8])  -- day start, next day
local DEF_HC, DEF_DC = tonumber(ARGV[9]), tonumber(ARGV[10])
local WARM = tonumber(ARGV[11])  -- WARMUP_DAYS: days a new number's daily cap ramps up; 0 = off
-- PROBATION_HOURS (in seconds; 0 = off) and PROBATION_DAILY_LIMIT: core/probation.h.
local PROBATION, PROBATION_DC = tonumber(ARGV[12]), tonumber(ARGV[13])
-- What goes back to Redis goes as strings: a Lua number handed to redis.call is formatted with
-- printf("%.17g") on its way, which was a tenth of Redis's CPU in allocate+release. So the
-- header's times also stay as the strings they came as, and constants are string literals.
local NOW_S, NOW_MS_S, HS_S, NH_S, DS_S, ND_S = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local DUE_BATCH = '256'  -- parked numbers returned per call; Tick() drains the rest

local ALL = P .. 'all'          -- zset: area codes with an available number (see lift)
local PARKED = P .. 'parked'    -- zset: numbers out of the order, by when to look again
local REST = P .. 'rest'        -- zset: the parked numbers that wait for their rest to end, by 'rs'
local LIVE = P .. 'live'        -- zset: live reservation ids, by reserved_at (ms)
local NUMBERS = P .. 'numbers'  -- zset: every number of the pool, score 0 (lexical order)
local AREAS = P .. 'areas'      -- hash per area code: t:<npa> numbers, i:<npa> inactive, v:<npa> available

local function nkey(d) return P .. 'n:' .. d end
local function rkey(id) return P .. 'r:' .. id end
local function xkey(d) return P .. 'x:' .. string.sub(d, 1, 6) end
local function num(v) return tonumber(v) or 0 end

-- Usage counted in the current window: a counter of an older window reads as 0.
local function used_now(start, used, window)
  if num(start) == window then return num(used) end
  return 0
end

-- nil when this pool belongs to the generation the caller knows; else the reply to return:
-- {'NOPOOL'} (no generation key: pool never created, or Redis lost its data) or {'GEN', g}.
-- With `create`, a missing key is set (the caller has checked cid:generation first).
local function check_gen(create)
  local g = redis.call('GET', KEYS[1])
  if g == EPOCH then return nil end
  if not g and create then
    redis.call('SET', KEYS[1], EPOCH)
    return nil
  end
  if not g then return {'NOPOOL'} end
  return {'GEN', g}
end

-- The available order has three levels of sorted sets, all scored by last use (order_score):
--   x:NPANXX  the exchange's available numbers;
--   a:NPA     the area code's exchanges that have one, each scored as its first number;
--   all       the pool's area codes that have one, each scored as its first exchange.
-- Ties sort by member, and a member is the prefix of every number below it, so following the
-- first entries down leads to the least recently used number, ties by number (as the embedded
-- index), for the exchange, area-code and any tiers alike. A number is one sorted-set entry, not
-- one per tier: a million-number import writes a million entries fewer, twice.

-- The version of an admin change made now (store/journal.h NumberUpserted and NumberDeleted):
-- Redis's clock in microseconds, as text. Redis runs one script at a time, so changes of a number
-- get versions in the order they ran here, through whichever instance; PostgreSQL applies a
-- change only over an older one (postgres/batch_writer.cc), whatever order the instances'
-- backlogs reach it in.
local function change_version()
  local t = redis.call('TIME')
  return t[1] .. string.format('%06d', tonumber(t[2]))
end

-- The first member of a sorted set, or nil.
local function first(key) return redis.call('ZRANGE', key, '0', '0')[1] end

-- The first two entries of a sorted set: {member, score, member, score}, shorter when it is.
local function first_two(key) return redis.call('ZRANGE', key, '0', '1', 'WITHSCORES') end

-- The least recently used available number of area code `npa` (nil: none), with the first two
-- entries of its exchange's and of the area code's sets, for take_first.
local function first_of_area(npa)
  local as = first_two(P .. 'a:' .. npa)
  if not as[1] then return nil end
  local xs = first_two(P .. 'x:' .. as[1])
  return xs[1], xs, as
end

-- Re-scores `member` in `upper` as the first entry of `lower` (out of it when `lower` is empty).
local function rescore(upper, lower, member)
  local head = redis.call('ZRANGE', lower, '0', '0', 'WITHSCORES')
  if head[1] then
    redis.call('ZADD', upper, head[2], member)
  else
    redis.call('ZREM', upper, member)
  end
end

-- Carries a change of exchange `nxx`'s first number up to its area code and the pool.
local function lift(nxx)
  local npa = string.sub(nxx, 1, 3)
  rescore(P .. 'a:' .. npa, P .. 'x:' .. nxx, nxx)
  rescore(ALL, P .. 'a:' .. npa, npa)
end

-- A number's score in the available order, as a string: its last use 'lu' (compact seconds) and,
-- when it was used at a millisecond past the second, that millisecond ('lm', three digits) as a
-- decimal fraction, so numbers used within one second rotate in the order they were used
-- (core::NumberUsage::last_used_ms). A double tells them all apart: 32 bits of seconds and 10 of
-- milliseconds are far within its 53.
local function order_score(lu, lm)
  if not lm or lm == '000' then return lu or '0' end
  return lu .. '.' .. lm
end

-- A last use as the store sends it (store/redis/number_codec.cc): compact seconds, and the
-- millisecond when there is one ('S.mmm'). Returns 'lu' and 'lm' (nil: none).
local function split_last_used(arg)
  if not string.find(arg, '.', 1, true) then return arg, nil end
  local lu, lm = string.match(arg, '^(%d+)%.(%d%d%d)$')
  if lu then return lu, lm end
  return string.match(arg, '^(%d*)') or '0', nil  -- not ours: the whole seconds, if any
end

-- Puts an available number into the order, `lu` its order_score. An entry that joins a
-- set can only lower its first score, so the levels above take the lower of their score and the
-- number's ('LT': no read).
local function add_available(d, lu)
  local npa = string.sub(d, 1, 3)
  redis.call('ZADD', xkey(d), lu, d)
  redis.call('ZADD', P .. 'a:' .. npa, 'LT', lu, string.sub(d, 1, 6))
  redis.call('ZADD', ALL, 'LT', lu, npa)
  redis.call('HINCRBY', AREAS, 'v:' .. npa, '1')
end

-- Takes a number out of the available order (nothing when it is not in it).
local function remove_available(d)
  if redis.call('ZREM', xkey(d), d) == 1 then
    lift(string.sub(d, 1, 6))
    redis.call('HINCRBY', AREAS, 'v:' .. string.sub(d, 1, 3), '-1')
  end
end

-- remove_available for the allocation's pick `d`, the first of its exchange, in fewer calls:
-- `xs` are the first two entries of the exchange's set, `as` those of the area code's (nil: read
-- here), both read before. The exchange's score can only grow (its next number, or it leaves),
-- so the area code's first entry changes only when it was this exchange, to the lower of the
-- exchange's new entry and the area code's second: known without reading the sets again.
local function take_first(d, xs, as)
  local nxx, npa = string.sub(d, 1, 6), string.sub(d, 1, 3)
  local a = P .. 'a:' .. npa
  as = as or first_two(a)
  redis.call('ZREM', P .. 'x:' .. nxx, d)
  redis.call('HINCRBY', AREAS, 'v:' .. npa, '-1')
  local score, score_s  -- the exchange's new score in the area code's set; nil: it left
  if xs[3] then
    score, score_s = tonumber(xs[4]), xs[4]
    if xs[4] ~= xs[2] then redis.call('ZADD', a, xs[4], nxx) end  -- a tie keeps the score
  else
    redis.call('ZREM', a, nxx)
  end
  if as[1] ~= nxx then return end
  if as[3] then
    local second = tonumber(as[4])
    if not score or second < score or (second == score and as[3] < nxx) then
      score, score_s = second, as[4]
    end
  end
  if not score then
    redis.call('ZREM', ALL, npa)
  elseif score ~= tonumber(as[2]) then
    redis.call('ZADD', ALL, score_s, npa)
  end
end

-- Takes a number out of every order it may be in. `rs` is its 'rs' field: a number is in REST
-- only while its hash has one (place adds it there only then; whoever changes or removes the
-- field takes it out of REST first), so a number without one (nil) costs no ZREM of REST.
local function detach(d, rs)
  remove_available(d)
  redis.call('ZREM', PARKED, d)
  if rs then redis.call('ZREM', REST, d) end
end

local function end_reservation(d, id)
  redis.call('DEL', rkey(id))
  redis.call('ZREM', LIVE, id)
  redis.call('HSET', nkey(d), 'rid', '0', 'ru', '0')
end

-- A number's hourly and daily caps today from its fields 'hc', 'dc' (0/absent: the defaults) and
-- 'wf' (its warm-up start, a local midnight; 0/absent: established). While it warms up, the
-- daily cap is core/warm_up.h's share, computed as there (core::WarmupDay, WarmDailyCap): the
-- distance in days rounded to the nearest (a DST day is 23 or 25 hours), day k = distance + 1,
-- cap ceil(dc * k / (WARM + 1)), at least 1. Integers throughout: every value is far below 2^53,
-- so Lua's float division is exact enough for math.floor. After a rest ('rs', 0/absent: never
-- rested) the daily cap is at most the probation's budget on the day the rest ends and every day
-- that starts before the probation ends (core/probation.h OnProbation).
local function caps(f_hc, f_dc, f_wf, f_rs)
  local hc, dc = num(f_hc), num(f_dc)
  if hc == 0 then hc = DEF_HC end
  if dc == 0 then dc = DEF_DC end
  if WARM > 0 then
    local wf = num(f_wf)
    if wf > 0 then
      local days = 0  -- a start after today (a clock set back) is the first day
      if DS > wf then days = math.floor((DS - wf + 43200) / 86400) end
      if days < WARM then
        dc = math.floor((dc * (days + 1) + WARM) / (WARM + 1))
        if dc < 1 then dc = 1 end
      end
    end
  end
  if f_rs and PROBATION > 0 and dc > PROBATION_DC then  -- most numbers never rested: no 'rs'
    local rs = num(f_rs)
    if rs > 0 and rs < ND and rs + PROBATION > DS then dc = PROBATION_DC end
  end
  return hc, dc
end

-- Puts a number where its fields say (core::NumberIndex::Settle): parked until its reservation
-- ends (an expired one ends here), nowhere while inactive, parked until the next window while
-- at a cap, parked until its rest ends ('rs', an admin's rest; also in REST, which the stats
-- count) while resting, else in the available order by `order` (lu and lm: order_score; ties:
-- lexical = numeric).
-- A capped number that also rests waits for the window first, then for the rest: it counts as
-- capped while it is, as in the embedded index's stats. A rest that has ended leaves 'rs' as it
-- is (the store reports it, as the embedded index does).
-- REQUIRES: the number is in no order (new, or detached).
local function place(d, act, rid, ru, order, f_hc, f_dc, hs, hu, ds, du, wf, rs)
  if num(rid) ~= 0 then
    if num(ru) > NOW then
      redis.call('ZADD', PARKED, ru, d)
      return 'reserved'
    end
    end_reservation(d, rid)
  end
  if act ~= '1' then return 'inactive' end
  local hc, dc = caps(f_hc, f_dc, wf, rs)
  local back  -- when to look again, as a string: the next hour or day, the later one if both
  if used_now(hs, hu, HS) >= hc then back = NH_S end
  if used_now(ds, du, DS) >= dc and (not back or ND > NH) then back = ND_S end
  if back then
    redis.call('ZADD', PARKED, back, d)
    return 'capped'
  end
  if num(rs) > NOW then
    redis.call('ZADD', PARKED, rs, d)
    redis.call('ZADD', REST, rs, d)
    return 'resting'
  end
  add_available(d, order)
  return 'available'
end

-- Re-reads a number and places it again (after any change to it).
local function settle(d)
  local f = redis.call('HMGET', nkey(d), 'act', 'rid', 'ru', 'lu', 'hc', 'dc', 'hs', 'hu', 'ds',
                       'du', 'wf', 'rs', 'lm')
  detach(d, f[12])
  if not f[1] then return 'gone' end
  return place(d, f[1], f[2], f[3], order_score(f[4], f[13]), f[5], f[6], f[7], f[8], f[9], f[10],
               f[11], f[12])
end

-- Makes number `d` held by a live reservation read back from elsewhere (the journal at a
-- rebuild, the old pool at a move): `r` = {id, destination, campaign, agent, lead, match,
-- reserved_at_ms, reserved_until, [pool it was made in, when not this one]}. False (nothing done)
-- when the number is gone or reserved.
local function hold(d, r)
  local f = redis.call('HMGET', nkey(d), 'act', 'rid')  -- every number has 'act'; 'rid' may be absent
  if not f[1] or num(f[2]) ~= 0 then return false end
  redis.call('HSET', nkey(d), 'rid', r[1], 'ru', r[8])
  redis.call('HSET', rkey(r[1]), 'cid', d, 'dst', r[2], 'cmp', r[3], 'agt', r[4], 'lead', r[5],
             'm', r[6], 'at', r[7], 'ru', r[8])
  -- The pool the reservation was made in, when not this one (its number moved since): the live
  -- listing names it, as the history and the embedded store do.
  if r[9] and r[9] ~= '' then redis.call('HSET', rkey(r[1]), 'rp', r[9]) end
  redis.call('ZADD', LIVE, r[7], r[1])
  settle(d)
  return true
end

-- Settles the parked numbers that are due (at most DUE_BATCH); returns how many.
local function advance()
  local due = redis.call('ZRANGEBYSCORE', PARKED, '-inf', NOW_S, 'LIMIT', '0', DUE_BATCH)
  for _, d in ipairs(due) do settle(d) end
  return #due
end

-- A number's full state as a flat list (store/redis/number_codec.cc reads it): number, carrier,
-- state, hc, dc, act, lu, hs, hu, ds, du, rid, available 1/0, wf, rs, lm. The warm-up's day and
-- today's cap are computed from wf in C++ (core/warm_up.h), not here, and whether it rests from
-- rs.
local function view(d)
  local f = redis.call('HMGET', nkey(d), 'car', 'st', 'hc', 'dc', 'act', 'lu', 'hs', 'hu', 'ds',
                       'du', 'rid', 'wf', 'rs', 'lm')
  if not f[5] then return false end
  local available = 0
  if redis.call('ZSCORE', xkey(d), d) then available = 1 end
  return {d, f[1] or '', f[2] or '', num(f[3]), num(f[4]), num(f[5]), num(f[6]), num(f[7]),
          num(f[8]), num(f[9]), num(f[10]), num(f[11]), available, num(f[12]), num(f[13]),
          num(f[14])}
end
