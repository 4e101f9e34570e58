#!/bin/bash
# one-core.sh MODE...: every process of a running stack (the services, the desk, Kafka, PostgreSQL) and the
# bench on cpu 0 alone ("one") or on both cores ("both"), then 3 runs of 200 at 10/s with the floor. Every
# process goes back to both cores at the end.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
. docs/performance/stack.sh
# The services by their command lines as `efrikort up` starts them (`python -m <service>`), so that no other
# process whose command line names a service is pinned with them; PostgreSQL's backends and helpers already
# running by their titles (`postgres: ...`): a pinned server pins only the processes it starts afterwards.
stack() { pgrep -f -- "pginstall/bin/postgres|^postgres: |kafka\.Kafka|-m (registration|protection|access|notifications|desk)$|efrikort up"; }
pin() { for p in $(stack); do taskset -a -p -c "$1" "$p" > /dev/null 2>&1; done; }
trap 'pin 0,1' EXIT
for mode in "$@"; do
  if [ "$mode" = one ]; then cpus=0; else cpus=0,1; fi
  pin $cpus
  echo "=== $mode $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  taskset -p -c $cpus $$ > /dev/null # this shell too, so that the bench it starts runs where the stack does
  medians_at 10 200 --warmup 100
done
