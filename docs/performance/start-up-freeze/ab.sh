#!/bin/bash
# ab.sh BASE: the Kafka path and the desk's pages, before (BASE's runtime/ and services/) against after (HEAD),
# alternated A B A B by ../ab-sides.sh, each side on a fresh `efrikort up` warmed with 8 000 at 200/s.
# Per side: 3 runs of 2 000 at 200/s with the floor and the CPU per component, then `bench-desk --rounds 100`.
#   ab.sh 7f4bec1    start-up objects frozen, the desk's dependencies async (ab.txt)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = --side ]; then # one side's measurement, the stack up
  ./efrikort bench --rate 200 --submissions 8000 --runs 1 --no-floor 2>&1 | grep -E "^run" | sed 's/^/warm /'
  for r in 1 2 3; do
    "$HERE/../notice-rounds/bench-with-cpu.sh" --rate 200 --submissions 2000 --runs 1 | grep -v median
  done
  ./efrikort bench-desk --rounds 100 2>&1 | tail -6
  exit
fi
exec "$HERE/../ab-sides.sh" "$1" "$HERE/ab.sh" --side
