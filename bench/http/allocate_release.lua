-- One call's life: GET /next-cid, then POST /release of the reservation it got. Each wrk thread
-- keeps the reservations it was given and releases them with its next requests, so every
-- connection alternates allocate and release and the pool never runs dry.
-- Requests are concatenated by hand rather than through wrk.format (a table and a format per
-- header): wrk shares the server's two cores, so what the client spends per request is taken
-- from the server being measured.
dofile(os.getenv("CIDROTOR_BENCH_DIR") .. "/report.lua")

local pending = {}
local pending_count = 0
local area_codes = {"212", "310", "415", "312", "305", "713", "404", "617", "206", "702"}
local n = 0
local host_line

function init(args)
  host_line = "\r\nHost: " .. wrk.headers["Host"] .. "\r\n"
end

function request()
  if pending_count > 0 then
    local id = pending[pending_count]
    pending[pending_count] = nil
    pending_count = pending_count - 1
    local body = "reservation_id=" .. id .. "&outcome=answered"
    return "POST /release HTTP/1.1" .. host_line ..
           "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " .. #body ..
           "\r\n\r\n" .. body
  end
  n = n + 1
  local to = area_codes[(n % 10) + 1] .. "555" .. string.format("%04d", n % 10000)
  return "GET /next-cid?to=" .. to .. "&campaign=bench&agent=auto HTTP/1.1" .. host_line .. "\r\n"
end

function response(status, headers, body)
  count_status(status)
  -- Only /next-cid answers carry "match"; a /release answer names its reservation too, and
  -- must not queue it again.
  if string.find(body, '"match":', 1, true) then
    local id = string.match(body, '"reservation_id":"(%d+)"')
    if id then
      pending_count = pending_count + 1
      pending[pending_count] = id
    end
  end
end
