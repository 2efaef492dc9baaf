-- Reads numbers' state. ARGV[14..]: numbers. Reply: {'OK', view or false, ...} (lib.lua view)
-- | {'NOPOOL'} | {'GEN', g}.
local bad = check_gen(false)
if bad then return bad end
advance()
local out = {'OK'}
for i = 14, #ARGV do table.insert(out, view(ARGV[i])) end
return out
