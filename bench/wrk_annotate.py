#!/usr/bin/env python3
"""Adds the server's CPU use and memory to one wrk result and prints its summary line.

    wrk_annotate.py RESULT.json NAME CPU_TICKS CLK_TCK RSS_KIB
"""
import json
import sys

path, name, ticks, hz, rss = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
r = json.load(open(path))
r["server_cpu_s"] = round(ticks / hz, 2)
r["server_cpu_us_per_req"] = round(ticks / hz / max(1, r["requests"]) * 1e6, 1)
r["server_cores_busy"] = round(ticks / hz / r["seconds"], 2)
r["server_rss_kib_after"] = rss
json.dump(r, open(path, "w"))
err = r["non2xx"] + r["err_connect"] + r["err_read"] + r["err_timeout"]
print(f"   {name:<20} {r['rps']:>9.0f} req/s  p50 {r['p50_ms']:>8.2f} ms  p99 {r['p99_ms']:>8.2f} ms  "
      f"server {r['server_cpu_us_per_req']:>7.0f} us CPU/req, {r['server_cores_busy']:.2f} cores, RSS {rss // 1024} MiB"
      + (f"  ERRORS {err}" if err else ""), flush=True)
