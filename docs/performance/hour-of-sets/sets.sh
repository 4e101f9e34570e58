#!/bin/bash
# sets.sh SETS: how often, over an hour, 200/s meets its target (p50 <= 20, p99 <= 50 ms, medians of 3 runs of
# 2 000 with the floor, as the table of record's row). A fresh `./efrikort up` warmed with 8 000 at 200/s, then
# SETS sets one after another on that stack, each a bench invocation with its own pool of patients; each set's
# JSON goes to var/hour-of-sets/, and summary.py reads them. Stops the stack at the end.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
. docs/performance/stack.sh
out=var/hour-of-sets
rm -rf $out && mkdir -p $out
start_stack /tmp/sets-up.log || exit 1
echo "=== $(date -u +%FT%TZ) $(git rev-parse --short HEAD); load $(cut -d' ' -f1 /proc/loadavg)"
warm 8000
for i in $(seq 1 "$1"); do
  echo "=== set $i $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  medians_at 200 2000 --json $out/set-$i.json
done
stop_stack
