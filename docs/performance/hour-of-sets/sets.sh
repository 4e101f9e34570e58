#!/bin/bash
# sets.sh SETS [RATE ...]: how often, over an hour, each offered rate (200/s unless given) meets 200/s's target
# (p50 <= 20, p99 <= 50 ms, medians of 3 runs of 10 s with the floor, as the table of record's row). A fresh
# `./efrikort up` warmed with 8 000 at 200/s, then SETS rounds one after another on that stack, each round a set
# at every rate in turn, each set a bench invocation with its own pool of patients; each set's JSON goes to
# var/hour-of-sets/ as set-ROUND-RATE.json (the first sets, kept in sets/, were named set-ROUND.json), and
# summary.py reads them. Stops the stack at the end.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
. docs/performance/stack.sh
rounds=$1
shift
rates=("${@:-200}")
out=var/hour-of-sets
rm -rf $out && mkdir -p $out
start_stack /tmp/sets-up.log || exit 1
echo "=== $(date -u +%FT%TZ) $(git rev-parse --short HEAD); load $(cut -d' ' -f1 /proc/loadavg)"
warm 8000
for i in $(seq 1 "$rounds"); do
  for rate in "${rates[@]}"; do
    echo "=== set $i at $rate/s $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
    medians_at "$rate" $((rate * 10)) --json "$out/set-$i-$rate.json"
  done
done
stop_stack
