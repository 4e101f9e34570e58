#!/bin/bash
# ab.sh SIDE...: registration's poll of protection's outcomes as it is (A), or gathering (B: `gather.diff`, the
# broker holding its fetch up to `consumer_gather_ms` as it does the audit log's), each side on a fresh
# `./efrikort up` warmed with 4 000 at 200/s, then 3 runs of 2 000 at 200/s with the floor (`ab.sh A B A B`).
# The working tree's app.py is put back however the script ends.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
. docs/performance/stack.sh
APP=services/registration/registration/app.py
trap 'git checkout -q -- $APP' EXIT
for side in "$@"; do
  git checkout -q -- $APP
  if [ "$side" = B ]; then git apply docs/performance/outcome-gathering/gather.diff || exit 1; fi
  start_stack /tmp/gather-up.log || exit 1
  echo "=== $side $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  warm
  medians_at 200 2000
  stop_stack || exit 1
done
echo DONE
