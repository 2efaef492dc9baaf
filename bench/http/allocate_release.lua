-- One call's life: GET /next-cid, then POST /release of the reservation it got. Each wrk thread
-- keeps the reservations it was given and releases them with its next requests, so every
-- connection alternates allocate and release and the pool never runs dry.
dofile(os.getenv("CIDROTOR_BENCH_DIR") .. "/report.lua")

local pending = {}
local area_codes = {"212", "310", "415", "312", "305", "713", "404", "617", "206", "702"}
local n = 0

function request()
  local id = table.remove(pending)
  if id then
    return wrk.format("POST", "/release", {["Content-Type"] = "application/x-www-form-urlencoded"},
                      "reservation_id=" .. id .. "&outcome=answered")
  end
  n = n + 1
  local to = area_codes[(n % #area_codes) + 1] .. "555" .. string.format("%04d", n % 10000)
  return wrk.format("GET", "/next-cid?to=" .. to .. "&campaign=bench&agent=auto")
end

function response(status, headers, body)
  count_status(status)
  -- Only /next-cid answers carry "match"; a /release answer names its reservation too, and
  -- must not queue it again.
  if string.find(body, '"match":', 1, true) then
    local id = string.match(body, '"reservation_id":"(%d+)"')
    if id then table.insert(pending, id) end
  end
end
