#!/bin/bash
# rates.sh RATE...: on a running stack, 3 runs of 300 at each offered rate in turn (after 100 not counted),
# with the floor: a trickle and a steady rate alternated in the same minutes (`rates.sh 10 50 10 50`).
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
for rate in "$@"; do
  echo "=== $rate/s $(date +%T)"
  ./efrikort bench --patients 200000 --rate "$rate" --submissions 300 --runs 3 --warmup 100 2> /dev/null |
    grep -E "^median|^  (hops|cpu, cores|raw)"
done
