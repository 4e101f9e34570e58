#!/bin/bash
# ab.sh COUNTS...: flat out and 200/s against how many members of its consumer group each consumer on the
# answer's path runs in one process (EFRIKORT_CONSUMER_MEMBERS, an experiment), each count on a fresh stack
# warmed with 4 000 at 200/s, then 3 runs of 10 000 flat out and 2 of 2 000 at 200/s, e.g. `ab.sh 1 2 1 2`.
# EFRIKORT_CONSUMER_MEMBERS is not in the services: apply members.diff first (`git apply`), and take it out after.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
. docs/performance/stack.sh
for members in "$@"; do
  EFRIKORT_CONSUMER_MEMBERS=$members start_stack /tmp/members-up.log || exit 1
  echo "=== members $members $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  warm
  ./efrikort bench --patients 200000 --submissions 10000 --runs 3 --no-floor 2> /dev/null | grep -E "^run|^median|hops p50|cpu,"
  ./efrikort bench --patients 200000 --rate 200 --submissions 2000 --runs 2 --no-floor 2> /dev/null | grep -E "^run|^median|cpu,"
  stop_stack || exit 1
done
echo DONE
