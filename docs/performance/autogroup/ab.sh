#!/bin/bash
# ab.sh: the kernel's autogroup scheduling (sched_autogroup_enabled) on and off, alternated 1 0 1 0 on fresh
# stacks (root): each side warmed with 4 000 at 200/s, then 2 runs of 2 000 at 200/s. The machine's own
# setting is put back however the script ends.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
. docs/performance/stack.sh
SETTING=/proc/sys/kernel/sched_autogroup_enabled
BEFORE=$(cat $SETTING)
trap 'echo "$BEFORE" > $SETTING' EXIT
for a in 1 0 1 0; do
  echo $a > $SETTING
  start_stack /tmp/ag-up.log || exit 1
  echo "=== autogroup $a $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  at_200 2 --no-floor
  stop_stack || exit 1
done
echo DONE
