-- Housekeeping: settles due parked numbers (expired reservations, window roll-over), at most
-- DUE_BATCH per call. Reply: {'OK', settled} | {'NOPOOL'} | {'GEN', g}.
local bad = check_gen(false)
if bad then return bad end
return {'OK', advance()}
