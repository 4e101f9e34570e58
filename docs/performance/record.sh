#!/bin/bash
# record.sh: the README's table of record for issue 17 (Beside the raw Kafka floor), on a fresh stack:
# `./efrikort infra reset`, `./efrikort up`, the broker warmed with 8 000 at 200/s (not counted), then the
# curve, 200/s, flat out and POST /v1/fees at 100/s, each median of 3 runs with the floor before each run,
# a new pool of 200 000 patients per command. Writes the JSON and the curve into docs/performance/ and
# stops the stack. Takes about 20 minutes on the 2-core machine.
set -eu
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
. docs/performance/stack.sh
out=docs/performance
./efrikort infra reset > /dev/null
start_stack /tmp/record-up.log
echo "=== $(date -u +%FT%TZ) $(git rev-parse --short HEAD); load $(cut -d' ' -f1 /proc/loadavg)"
bench() { ./efrikort bench --patients 200000 "$@" 2>> /tmp/record-bench.err; } # progress lines go to stderr
bench --rate 200 --submissions 8000 --runs 1 --no-floor | grep -E "^run" | sed 's/^/warm /'
bench --curve 10,20,50,100,200 --submissions 200 --runs 3 --json $out/latency-vs-rate.json --png $out/latency-vs-rate.png
bench --rate 200 --submissions 2000 --runs 3 --json $out/rate-200.json
bench --submissions 3000 --runs 3 --json $out/flat-out.json
bench --http http://127.0.0.1:8081 --rate 100 --submissions 1000 --runs 3 --json $out/http-100.json
echo "=== done $(date -u +%FT%TZ); load $(cut -d' ' -f1 /proc/loadavg)"
stop_stack
