#!/bin/bash
# ab.sh N [RUNS]: what a round trip to PostgreSQL costs at 200/s, found by adding them. With
# extra-round-trips.diff applied (never committed: every consumer's poll runs EFRIKORT_EXTRA_ROUND_TRIPS
# `SELECT 1` through the driver after its handler, in its transaction), alternates 0 and N extra a poll on
# fresh stacks (0 N 0 N): each side warmed with 4 000 at 200/s, then RUNS (3) runs of 2 000 at 200/s.
# six.txt: N=6 with 3 runs and a run of 400 at 20/s a side; twenty.txt: N=20 with 2 runs.
set -u
N=$1
RUNS=${2:-3}
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
. docs/performance/stack.sh
for n in 0 "$N" 0 "$N"; do
  export EFRIKORT_EXTRA_ROUND_TRIPS=$n
  start_stack /tmp/extra-up.log || exit 1
  echo "=== extra $n $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  ./efrikort bench --patients 200000 --rate 200 --submissions 4000 --runs 1 --no-floor 2> /dev/null | grep -E "^run" | sed "s/^/warm /"
  ./efrikort bench --patients 200000 --rate 200 --submissions 2000 --runs "$RUNS" --no-floor 2> /dev/null | grep -E "^run|^median|hops p50"
  stop_stack || exit 1
done
echo DONE
