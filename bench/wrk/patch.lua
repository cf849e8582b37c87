-- Validated merge PATCHes, each to a different host than the previous one, each a real change
-- (a label holding a counter), so every request is one durable commit.
--   wrk -tT … -s patch.lua URL -- hosts.txt
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "report.lua")
local counter = 1
-- Distinct per run, so a reused store (BENCH_DATA) never already holds a value and every PATCH
-- stays a real change.
local run = os.time()
local threads = {}
setup = function(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end
local hosts, step, next_host
init = function(args)
  hosts = read_lines(args[1])
  -- Threads take interleaved hosts; the thread count comes from the command line (WRK_THREADS).
  step = tonumber(os.getenv("WRK_THREADS") or "1")
  next_host = (tid or 0) + 1
end
local headers = { ["Content-Type"] = "application/merge-patch+json" }
request = function()
  local name = hosts[next_host]
  next_host = next_host + step
  if next_host > #hosts then next_host = (tid or 0) + 1 end
  counter = counter + 1
  local body = string.format('{"metadata":{"labels":{"bench-seq":"r%d-t%d-%d"}}}', run, tid or 0, counter)
  return wrk.format("PATCH", "/api/v1/namespaces/default/baremetalhosts/" .. name, headers, body)
end
