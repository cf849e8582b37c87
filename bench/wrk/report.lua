-- Shared by the other scripts: prints one machine-readable line after wrk's own report.
--   WRKJSON {"requests":…, "seconds":…, "rps":…, "p50_ms":…, …}
function read_lines(path)
  local out = {}
  local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  for line in f:lines() do
    if #line > 0 then out[#out + 1] = line end
  end
  f:close()
  return out
end

function seed()
  local addr = tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0
  math.randomseed(os.time() + addr % 1000003)
end

done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  local function ms(us) return string.format("%.3f", us / 1000) end
  io.write(string.format(
    'WRKJSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"bytes":%d,' ..
    '"p50_ms":%s,"p90_ms":%s,"p99_ms":%s,"p999_ms":%s,"max_ms":%s,"mean_ms":%s,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d,"non2xx":%d}\n',
    summary.requests, s, summary.requests / s, summary.bytes,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)),
    ms(latency:percentile(99.9)), ms(latency.max), ms(latency.mean),
    e.connect, e.read, e.write, e.timeout, e.status))
end
