#!/usr/bin/env bash
# Contract checks against a live server: the OpenAPI document is valid (openapi-spec-validator),
# and schemathesis fuzzes every operation: no 5xx, every response matches its schema, status
# code and content type. The coverage phase is skipped: it ignores hooks and would open
# never-ending watch streams (watch is covered by Tests/api/test_watch.py). Power control is
# off: the examples' BMC addresses are not on loopback (power is covered by Tests/api/test_power.py).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${BOOTGATE_BIN:-$root/.build/debug/bootgate}
examples=${CONTRACT_EXAMPLES:-${ST_MAX_EXAMPLES:-40}}
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -c "
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
spec, _ = read_from_filename('$root/openapi/openapi.yaml'); validate(spec); print('openapi/openapi.yaml: valid OpenAPI', spec['openapi'])"
"$bin" serve --listen 127.0.0.1:$port --data "$data" --examples "$root/examples" --public-url http://127.0.0.1:$port \
    --power-control false >"$data/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
cd "$root/Tests/contract"
PYTHONPATH="$root/Tests/contract" SCHEMATHESIS_HOOKS=hooks st run "$root/openapi/openapi.yaml" --url http://127.0.0.1:$port \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --phases examples,fuzzing,stateful --max-examples "$examples" --request-timeout 10 --seed 1
# The server must have survived it all.
curl -sf http://127.0.0.1:$port/healthz
