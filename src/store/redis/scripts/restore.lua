-- Rebuild: re-creates live reservations read back from the journal. 10 fields per reservation
-- from ARGV[14]: id, number, destination, campaign, agent, lead, match, reserved_at_ms,
-- reserved_until, the pool it was made in ('' = this one). A number that is gone or already
-- reserved is skipped.
-- Reply: {'OK', restored, skipped} | {'NOPOOL'} | {'GEN', g}.
local bad = check_gen(false)
if bad then return bad end
local restored, skipped = 0, 0
for i = 14, #ARGV, 10 do
  local r = {ARGV[i], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7],
             ARGV[i + 8], ARGV[i + 9]}
  if hold(ARGV[i + 1], r) then
    restored = restored + 1
  else
    skipped = skipped + 1
  end
end
return {'OK', restored, skipped}
