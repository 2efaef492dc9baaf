-- Shared prelude of every cidrotor script (prepended at build time; docs/redis-keys.md).
-- Every script runs on ONE pool: KEYS[1] is the pool's generation key `cid:{pool}:gen`, and every
-- other key it touches carries the same `{pool}` tag, so the pool lives in one cluster slot.
-- ARGV[1..10] is the common header (store/redis/script_args.cc); script arguments start at 11.
-- Times are compact seconds (since 2020-01-01 UTC) except *_MS (Unix milliseconds). Lua has no
-- time zones: the hour/day windows of TIMEZONE come from core::Calendar in C++.
local P = ARGV[1]
local EPOCH = ARGV[2]
local NOW = tonumber(ARGV[3])
local NOW_MS = tonumber(ARGV[4])
local HS, NH = tonumber(ARGV[5]), tonumber(ARGV[6])  -- hour start, next hour
local DS, ND = tonumber(ARGV[7]), tonumber(ARGV[8])  -- day start, next day
local DEF_HC, DEF_DC = tonumber(ARGV[9]), tonumber(ARGV[10])
local DUE_BATCH = 256  -- parked numbers returned per call; Tick() drains the rest

local ALL = P .. 'all'          -- zset: available numbers of the pool, by last_used
local PARKED = P .. 'parked'    -- zset: numbers out of the order, by when to look again
local LIVE = P .. 'live'        -- zset: live reservation ids, by reserved_at (ms)
local NUMBERS = P .. 'numbers'  -- zset: every number of the pool, score 0 (lexical order)
local AREAS = P .. 'areas'      -- hash: t:<npa> numbers, i:<npa> inactive numbers

local function nkey(d) return P .. 'n:' .. d end
local function rkey(id) return P .. 'r:' .. id end
local function xkey(d) return P .. 'x:' .. string.sub(d, 1, 6) end
local function akey(d) return P .. 'a:' .. string.sub(d, 1, 3) end
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

-- Takes a number out of every order it may be in.
local function detach(d)
  redis.call('ZREM', xkey(d), d)
  redis.call('ZREM', akey(d), d)
  redis.call('ZREM', ALL, d)
  redis.call('ZREM', PARKED, d)
end

local function end_reservation(d, id)
  redis.call('DEL', rkey(id))
  redis.call('ZREM', LIVE, id)
  redis.call('HSET', nkey(d), 'rid', 0, 'ru', 0)
end

local function caps(f_hc, f_dc)
  local hc, dc = num(f_hc), num(f_dc)
  if hc == 0 then hc = DEF_HC end
  if dc == 0 then dc = DEF_DC end
  return hc, dc
end

-- Puts a number where its fields say (core::NumberIndex::Settle): parked until its reservation
-- ends (an expired one ends here), nowhere while inactive, parked until the next window while
-- at a cap, else in the three available orders scored by last_used (ties: lexical = numeric).
-- REQUIRES: the number is in no order (new, or detached).
local function place(d, act, rid, ru, lu, f_hc, f_dc, hs, hu, ds, du)
  if num(rid) ~= 0 then
    if num(ru) > NOW then
      redis.call('ZADD', PARKED, ru, d)
      return 'reserved'
    end
    end_reservation(d, rid)
  end
  if act ~= '1' then return 'inactive' end
  local hc, dc = caps(f_hc, f_dc)
  local back = 0
  if used_now(hs, hu, HS) >= hc then back = NH end
  if used_now(ds, du, DS) >= dc then back = math.max(back, ND) end
  if back > 0 then
    redis.call('ZADD', PARKED, back, d)
    return 'capped'
  end
  lu = num(lu)
  redis.call('ZADD', xkey(d), lu, d)
  redis.call('ZADD', akey(d), lu, d)
  redis.call('ZADD', ALL, lu, d)
  return 'available'
end

-- Re-reads a number and places it again (after any change to it).
local function settle(d)
  detach(d)
  local f = redis.call('HMGET', nkey(d), 'act', 'rid', 'ru', 'lu', 'hc', 'dc', 'hs', 'hu', 'ds', 'du')
  if not f[1] then return 'gone' end
  return place(d, f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10])
end

-- Settles the parked numbers that are due (at most DUE_BATCH); returns how many.
local function advance()
  local due = redis.call('ZRANGEBYSCORE', PARKED, '-inf', NOW, 'LIMIT', 0, DUE_BATCH)
  for _, d in ipairs(due) do settle(d) end
  return #due
end

-- A number's full state as a flat list (store/redis/number_codec.cc reads it).
local function view(d)
  local f = redis.call('HMGET', nkey(d), 'car', 'st', 'hc', 'dc', 'act', 'lu', 'hs', 'hu', 'ds',
                       'du', 'rid')
  if not f[5] then return false end
  local available = 0
  if redis.call('ZSCORE', ALL, d) then available = 1 end
  return {d, f[1] or '', f[2] or '', num(f[3]), num(f[4]), num(f[5]), num(f[6]), num(f[7]),
          num(f[8]), num(f[9]), num(f[10]), num(f[11]), available}
end
