-- One allocation, atomically: due numbers back (more when its area code looks dry), agent limit,
-- tier ladder, LRU pick, reservation, counters. ARGV[14..]: geographic '1'/'0', destination,
-- reservation id, reserved_until (compact, whole second), agent, agent limit per minute (0 =
-- none), campaign, lead ('' = none), the any tier '1' (the pool's fallback) or '0' (fallback
-- none), the sticky window in seconds ('0': no sticky tier), the other area codes of the
-- destination's state (core/area_code_states.h), ascending and comma-separated ('' when none: one
-- argument, split only when a tier needs it), the caller's deadline in Redis's time (Unix ms;
-- '' = none): past it the call changes nothing and answers {'LATE'}.
-- Replies: {'OK', number, match, carrier, last_used, hour_start, day_start, hourly_used,
-- daily_used, previous, warm_from, rest_until, last_used_ms} | {'NONE'} | {'RATE', retry_after_s} | {'NOPOOL'} |
-- {'GEN', g} | {'BROKEN', d} | {'LATE'}. `previous` is the number's reservation before this one
-- (its 'lr' until now; '0': none known), which the journal links this one to: Redis sees every
-- instance's allocations of a number in their order, PostgreSQL's batches may commit in another.
-- `warm_from` and `rest_until` are its 'wf' and 'rs' ('0': none), unchanged, so the usage
-- journaled is the whole usage.
local bad = check_gen(false)
if bad then return bad end
-- A call that runs after its caller gave up (Redis stalled with it queued, and the caller
-- answered 503) must not hold a number nobody uses, nor count against the agent's limit.
if ARGV[25] and ARGV[25] ~= '' then
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[25]) then
    return {'LATE'}
  end
end
local more_due = advance() == tonumber(DUE_BATCH)

local geographic, dst, id = ARGV[14] == '1', ARGV[15], ARGV[16]
local until_s, agent, limit = ARGV[17], ARGV[18], tonumber(ARGV[19])
local limited = agent ~= 'auto' and limit > 0
local agent_key = P .. 'ag:' .. agent
if limited then
  redis.call('ZREMRANGEBYSCORE', agent_key, '-inf', NOW_MS - 60000)
  if redis.call('ZCARD', agent_key) >= limit then
    local oldest = redis.call('ZRANGE', agent_key, 0, 0, 'WITHSCORES')
    local wait = math.ceil((tonumber(oldest[2]) + 60000 - NOW_MS) / 1000)
    if wait < 1 then wait = 1 end
    return {'RATE', wait}
  end
end

-- Tiers (core::MatchTier): '0' sticky, '1' exchange, '2' area code, '3' state, '4' any.
-- Toll-free destinations skip the geographic ones.
local picked, match, xs, as
local any_tier, lead, sticky = ARGV[22] ~= '0', ARGV[21], ARGV[23]
local state_npas  -- the other area codes of the destination's state, split on first use
local function state()
  if not state_npas then
    state_npas = {}
    for npa in string.gmatch(ARGV[24], '%d+') do state_npas[#state_npas + 1] = npa end
  end
  return state_npas
end
-- Whether the ladder could give this call number `d`: always with the any tier, else only one
-- of the destination's area code or state (core::NumberIndex::StickyNumber).
local function reachable(d)
  if any_tier then return true end
  if not geographic then return false end
  local npa = string.sub(d, 1, 3)
  if npa == string.sub(dst, 1, 3) then return true end
  for _, other in ipairs(state()) do
    if other == npa then return true end
  end
  return false
end

local lead_key, held  -- cid:{P}:lead:LEAD = 'number last_used' while the lead's window lasts
if lead ~= '' and sticky ~= '0' then
  lead_key = P .. 'lead:' .. lead
  held = redis.call('GET', lead_key)
end

-- The ladder's pick: number, tier, and the first entries take_first needs (nil: none).
local function pick()
  if held then
    local d, at = string.match(held, '^(%d+) (%d+)$')
    -- The key's own expiry follows Redis's clock; the window is checked on the caller's.
    if d and tonumber(at) + tonumber(sticky) > NOW and redis.call('ZSCORE', xkey(d), d) and
        reachable(d) then
      return d, '0'
    end
  end
  local d, xs, as
  if geographic then
    xs = first_two(P .. 'x:' .. string.sub(dst, 1, 6))
    if xs[1] then return xs[1], '1', xs end
    d, xs, as = first_of_area(string.sub(dst, 1, 3))
    if d then return d, '2', xs, as end
    if ARGV[24] ~= '' then
      -- The state's area code whose first number is least recently used (ties: lower code).
      local npas = state()
      local scores = redis.call('ZMSCORE', ALL, unpack(npas))
      local best, best_score
      for i = 1, #scores do
        local score = scores[i] and tonumber(scores[i])
        if score and (not best or score < best_score) then best, best_score = npas[i], score end
      end
      if best then
        d, xs, as = first_of_area(best)
        if d then return d, '3', xs, as end
      end
    end
  end
  if any_tier then
    local npa = first(ALL)
    if npa then
      d, xs, as = first_of_area(npa)
      if d then return d, '4', xs, as end
    end
  end
  return nil
end

-- A wave of due numbers (many reservations ending together, an hour's roll-over of capped
-- numbers) is more than the first batch: Tick() drains it within a second or so, and meanwhile
-- a call whose destination's area code looks dry would get another area code's number, or 503
-- where the fallback is none, while one of its own is due (the embedded index settles every due
-- number first). So such a call settles more batches first, up to 16 (4,096 numbers, a few ms),
-- while its pick stays below the area-code tier; calls that find their area code pay nothing.
if more_due then
  for _ = 1, 16 do
    local d, m = pick()
    if d and m ~= '3' and m ~= '4' then break end
    if advance() < tonumber(DUE_BATCH) then break end
  end
end

-- A number in the available order is under its caps, unless the caps fell since it was placed
-- there: an instance restarted with a lower DEFAULT_* or a WARMUP_DAYS newly set (Redis keeps
-- its order across restarts; the embedded index is rebuilt at start-up). Such a number is parked
-- where its caps now say and the ladder asked again, a bounded number of times per call: each
-- pass leaves one number fewer in the wrong place. Likewise a resting one ('rs' ahead), which
-- only an instance of a release before rests (whose place() ignores 'rs') can have put there
-- while the two run side by side.
local f, hc, dc, hourly, daily
for _ = 1, 16 do
  picked, match, xs, as = pick()
  if not picked then return {'NONE'} end
  f = redis.call('HMGET', nkey(picked), 'act', 'rid', 'hc', 'dc', 'hs', 'hu', 'ds', 'du', 'car',
                 'lr', 'wf', 'rs')
  if f[1] ~= '1' or num(f[2]) ~= 0 then
    settle(picked)  -- a bug put it in the order; never hand it out (the caller logs kInternal)
    return {'BROKEN', picked}
  end
  hc, dc = caps(f[3], f[4], f[11], f[12])
  hourly, daily = used_now(f[5], f[6], HS), used_now(f[7], f[8], DS)
  if hourly < hc and daily < dc and num(f[12]) <= NOW then break end
  settle(picked)
  picked = nil
end
if not picked then return {'NONE'} end

-- An available number is in the available order and nowhere else (place): out of it, parked.
if match == '0' then
  remove_available(picked)  -- anywhere in its exchange's order, not necessarily first
else
  take_first(picked, xs, as)
end
local last_used = NOW_S  -- never 0: a number used at the epoch itself would read as never used
local last_used_ms = string.sub(NOW_MS_S, -3)  -- Unix and compact seconds share their milliseconds
if NOW < 1 then last_used, last_used_ms = '1', '000' end
redis.call('HSET', nkey(picked), 'lu', last_used, 'lm', last_used_ms, 'hs', HS_S, 'hu', hourly + 1,
           'ds', DS_S, 'du', daily + 1, 'rid', id, 'ru', until_s, 'lr', id)
redis.call('ZADD', PARKED, until_s, picked)
redis.call('HSET', rkey(id), 'cid', picked, 'dst', dst, 'cmp', ARGV[20], 'agt', agent,
           'lead', ARGV[21], 'm', match, 'at', NOW_MS_S, 'ru', until_s)
redis.call('ZADD', LIVE, NOW_MS_S, id)
if lead_key then redis.call('SET', lead_key, picked .. ' ' .. last_used, 'EX', sticky) end
if limited then
  redis.call('ZADD', agent_key, NOW_MS_S, id)
  redis.call('PEXPIRE', agent_key, '61000')
end
return {'OK', picked, match, f[9] or '', last_used, HS, DS, hourly + 1, daily + 1, f[10] or '0',
        f[11] or '0', f[12] or '0', last_used_ms}
