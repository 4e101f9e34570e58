#!/bin/bash
# ab-http.sh BASE [RUNS]: POST /v1/fees at 100/s, before (BASE's runtime/ and services/) against after (HEAD),
# alternated A B A B, each side on a fresh `efrikort up` warmed with 4 000 at 200/s and 300 POSTs,
# then RUNS (3) runs of 1 000 POSTs at 100/s with the CPU per component. Leaves the working tree as HEAD.
set -u
BASE=$1
RUNS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
CPU="$HERE/../notice-rounds/bench-with-cpu.sh"
cd "$(git -C "$HERE" rev-parse --show-toplevel)"
for label in A B A B; do
  for f in $(git diff --name-only "$BASE" HEAD -- runtime services); do
    if [ $label = A ]; then git show "$BASE:$f" > "$f"; else git checkout -q HEAD -- "$f"; fi
  done
  (EFRIKORT_TRUST_IDENTITY_HEADER=true nohup ./efrikort up > /tmp/ab-up.log 2>&1 &)
  for i in $(seq 1 120); do grep -q "is up" /tmp/ab-up.log && break; sleep 2; done
  echo "=== $label $(date +%T) $(git status --short runtime services | wc -l) files differ; load $(cut -d' ' -f1 /proc/loadavg)"
  ./efrikort bench --rate 200 --submissions 4000 --runs 1 --no-floor --warmup 0 2>&1 | grep -E "^run" | sed 's/^/warm /'
  ./efrikort bench --http http://127.0.0.1:8081 --rate 100 --submissions 300 --runs 1 --no-floor --warmup 0 2>&1 | grep -E "^run" | sed 's/^/warm /'
  for r in $(seq 1 "$RUNS"); do
    "$CPU" --http http://127.0.0.1:8081 --rate 100 --submissions 1000 --runs 1 --no-floor --warmup 0 | grep -v median
  done
  pkill -INT -f "efrikort up"
  for i in $(seq 1 60); do pgrep -f "efrikort up" > /dev/null || pgrep -f pginstall/bin/postgres > /dev/null || break; sleep 1; done
done
git checkout -q HEAD -- runtime services
echo DONE
