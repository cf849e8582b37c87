-- GET /api/v1/bootconfig for a random host, named by X-Forwarded-For (the server trusts
-- 127.0.0.1 as a proxy).   wrk … -s bootconfig.lua URL -- ips.txt
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "report.lua")
local ips
local headers = {}
init = function(args)
  ips = read_lines(args[1])
  seed()
end
request = function()
  headers["X-Forwarded-For"] = ips[math.random(#ips)]
  headers["Accept"] = "application/vnd.coreos.ignition+json;version=3.4.0, */*;q=0.1"
  return wrk.format("GET", "/api/v1/bootconfig", headers)
end
