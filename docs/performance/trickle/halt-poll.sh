#!/bin/bash
# halt-poll.sh NS...: the guest kernel's halt polling (cpuidle-haltpoll's guest_halt_poll_ns: how long an idle
# vCPU polls for work before it halts and exits to the host) set to each NS in turn, root, on a running stack
# (`./efrikort up`), then 3 runs of 200 at 10/s with the floor. The machine's own setting is put back however
# the script ends. This machine boots with guest_halt_poll_ns=0: every idle vCPU halts at once.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
. docs/performance/stack.sh
P=/sys/module/haltpoll/parameters/guest_halt_poll_ns
BEFORE=$(cat $P)
trap 'echo "$BEFORE" > $P' EXIT
for ns in "$@"; do
  echo "$ns" > $P
  echo "=== guest_halt_poll_ns $ns $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  medians_at 10 200 --warmup 100
done
