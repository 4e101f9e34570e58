#!/bin/bash
# fresh.sh: run after sets.sh was stopped with its stack still up. One set on that long-lived stack, then the stack
# restarted with its data kept (warmed with 4 000, 2 sets), then reset to empty (warmed, 3 sets): whether a slower stretch
# of sets is the stack's growth or the machine's.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
. docs/performance/stack.sh
one() {
  echo "=== $1 $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  medians_at 200 2000
}
one "long-lived stack"
stop_stack || exit 1
start_stack /tmp/sets-up2.log || exit 1
warm
one "restarted, data kept"; one "restarted, data kept"
stop_stack || exit 1
./efrikort infra reset > /dev/null
start_stack /tmp/sets-up3.log || exit 1
warm
one "reset, empty"; one "reset, empty"
one "reset, empty"
stop_stack
echo DONE
