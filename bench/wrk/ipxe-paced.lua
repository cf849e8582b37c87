-- ipxe.lua at a set pace: each connection waits WRK_PACE_MS (default 10) after every answer,
-- so 256 connections offer at most 256 × 1000 / WRK_PACE_MS requests/s. The latency wrk
-- reports is then the server's at that load, not the queue a saturating client builds.
--   WRK_PACE_MS=10 wrk … -s ipxe-paced.lua URL -- macs.txt
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "ipxe.lua")
local pace = tonumber(os.getenv("WRK_PACE_MS") or "10")
delay = function()
  return pace
end
