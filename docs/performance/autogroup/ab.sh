#!/bin/bash
# ab.sh: the kernel's autogroup scheduling (sched_autogroup_enabled) on and off, alternated 1 0 1 0 on fresh
# stacks (root; left on at the end): each side warmed with 4 000 at 200/s, then 2 runs of 2 000 at 200/s.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"; . docs/performance/stack.sh
for a in 1 0 1 0; do
  echo $a > /proc/sys/kernel/sched_autogroup_enabled
  start_stack /tmp/ag-up.log || exit 1
  echo "=== autogroup $a $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  ./efrikort bench --patients 200000 --rate 200 --submissions 4000 --runs 1 --no-floor 2>/dev/null | grep -E "^run" | sed "s/^/warm /"
  ./efrikort bench --patients 200000 --rate 200 --submissions 2000 --runs 2 --no-floor 2>/dev/null | grep -E "^run|^median|hops p50"
  stop_stack || exit 1
done
echo 1 > /proc/sys/kernel/sched_autogroup_enabled
echo DONE
