#!/bin/bash
# rates.sh RATE...: on a running stack, 3 runs of 300 at each offered rate in turn (after 100 not counted),
# with the floor: a trickle and a steady rate alternated in the same minutes (`rates.sh 10 50 10 50`).
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
. docs/performance/stack.sh
for rate in "$@"; do
  echo "=== $rate/s $(date +%T)"
  medians_at "$rate" 300 --warmup 100
done
