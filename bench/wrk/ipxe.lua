-- GET /ipxe?mac=<random known MAC>.   wrk … -s ipxe.lua URL -- macs.txt
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "report.lua")
local macs
init = function(args)
  macs = read_lines(args[1])
  seed()
end
request = function()
  return wrk.format("GET", "/ipxe?mac=" .. macs[math.random(#macs)])
end
