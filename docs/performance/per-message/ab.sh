#!/bin/bash
# ab.sh BASE: what each submission costs flat out, where the cost per message decides (before: BASE's
# runtime/, services/ and contracts/, after: HEAD), alternated A B A B by ../ab-sides.sh, each side on a fresh
# `efrikort up` warmed with 8 000 at 200/s. Per side: 2 runs of 20 000 flat out (about 15 s of steady
# load each, long enough that the figure is not the first second's queue), then 2 runs of 2 000 at 200/s
# with the floor, each with the CPU every component used; new patients from a pool of 200 000, as
# record.sh draws them.
#   ab.sh 22c48e1    less Python per message (ab.txt, HEAD at c40dc0f)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = --side ]; then # one side's measurement, the stack up
  ./efrikort bench --rate 200 --submissions 8000 --runs 1 --no-floor 2>&1 | grep -E "^run" | sed 's/^/warm /'
  for r in 1 2; do
    "$HERE/../notice-rounds/bench-with-cpu.sh" --submissions 20000 --runs 1 --no-floor --patients 200000 | grep -v median
  done
  for r in 1 2; do
    "$HERE/../notice-rounds/bench-with-cpu.sh" --rate 200 --submissions 2000 --runs 1 --patients 200000 | grep -v median
  done
  exit
fi
exec "$HERE/../ab-sides.sh" "$1" "$HERE/ab.sh" --side
