#!/bin/bash
# ab.sh VARIABLE N [RUNS]: what more work costs at 200/s, found by adding it. With one of the patches beside
# this script applied by hand (never part of the code; `git checkout runtime/runtime/consumers.py` after):
#   extra-round-trips.diff  EFRIKORT_EXTRA_ROUND_TRIPS=N: every consumer's poll runs N `SELECT 1` more
#                           through the driver, in its transaction, after its handler;
#   extra-python.diff       EFRIKORT_EXTRA_US_PER_MESSAGE=N: every consumer's poll spins N µs of Python
#                           more for each message it handled, in its transaction.
# Alternates VARIABLE=0 and VARIABLE=N on fresh stacks (0 N 0 N): each side warmed with 4 000 at 200/s,
# then RUNS (3) runs of 2 000 at 200/s. six.txt: round trips, N=6 with 3 runs and a run of 400 at 20/s a
# side; twenty.txt and ten.txt: round trips, N=20 and N=10 with 2 runs; python-200us.txt: 200 µs a message, 2 runs.
set -u
VARIABLE=$1
N=$2
RUNS=${3:-3}
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
. docs/performance/stack.sh
for n in 0 "$N" 0 "$N"; do
  export "$VARIABLE=$n"
  start_stack /tmp/extra-up.log || exit 1
  echo "=== $VARIABLE=$n $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  at_200 "$RUNS" --no-floor
  stop_stack || exit 1
done
echo DONE
