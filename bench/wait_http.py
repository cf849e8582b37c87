#!/usr/bin/env python3
"""Polls URL (loopback) every 5 ms until it answers 200; prints the wall-clock time
(time.time(), seconds) of that answer. Exits 1 after TIMEOUT seconds.

    wait_http.py URL [TIMEOUT]
"""
import http.client
import sys
import time
import urllib.parse

url = urllib.parse.urlparse(sys.argv[1])
assert url.hostname in ("127.0.0.1", "localhost"), "loopback only"
deadline = time.monotonic() + float(sys.argv[2] if len(sys.argv) > 2 else 60)
while time.monotonic() < deadline:
    try:
        c = http.client.HTTPConnection(url.hostname, url.port, timeout=2)
        c.request("GET", url.path or "/")
        if c.getresponse().status == 200:
            print(f"{time.time():.6f}")
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.005)
sys.exit(1)
