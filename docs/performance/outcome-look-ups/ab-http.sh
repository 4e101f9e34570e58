#!/bin/bash
# ab-http.sh BASE [RUNS]: POST /v1/fees at 100/s, before (BASE's runtime/ and services/) against after (HEAD),
# alternated A B A B by ../ab-sides.sh, each side on a fresh `efrikort up` warmed with 4 000 at 200/s and
# 300 POSTs, then RUNS (3) runs of 1 000 POSTs at 100/s with the CPU per component.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = --side ]; then # one side's measurement, the stack up
  ./efrikort bench --rate 200 --submissions 4000 --runs 1 --no-floor --warmup 0 2>&1 | grep -E "^run" | sed 's/^/warm /'
  ./efrikort bench --http http://127.0.0.1:8081 --rate 100 --submissions 300 --runs 1 --no-floor --warmup 0 2>&1 | grep -E "^run" | sed 's/^/warm /'
  for r in $(seq 1 "$2"); do
    "$HERE/../notice-rounds/bench-with-cpu.sh" --http http://127.0.0.1:8081 --rate 100 --submissions 1000 --runs 1 --no-floor --warmup 0 | grep -v median
  done
  exit
fi
exec "$HERE/../ab-sides.sh" "$1" "$HERE/ab-http.sh" --side "${2:-3}"
