#!/bin/bash
# ab.sh SIZES...: flat out against the most messages a consumer handles in one transaction
# (EFRIKORT_CONSUMER_BATCH_SIZE), each size on a fresh stack warmed with 4 000 at 200/s, then 3 runs of 10 000
# flat out. Sizes in the order given, e.g. `ab.sh 500 1000 250 500 1000 250`.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
. docs/performance/stack.sh
for size in "$@"; do
  EFRIKORT_CONSUMER_BATCH_SIZE=$size start_stack /tmp/batch-size-up.log || exit 1
  echo "=== batch size $size $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  warm
  ./efrikort bench --patients 200000 --submissions 10000 --runs 3 --no-floor 2> /dev/null | grep -E "^run|^median|hops p50|cpu,"
  stop_stack || exit 1
done
echo DONE
