#!/usr/bin/env bash
# A poll of protection's shape, statements awaited one by one or pipelined (spike.py beside it), on the local
# PostgreSQL of a running stack. psycopg is not one of the project's packages: it is installed into
# var/cache/pipelined-poll-spike, which only this measurement puts on its path (`../outside-packages.sh`).
# From the repository's root: bash docs/performance/pipelined-poll/run.sh [ROUNDS] [POLLS] > out.txt
set -euo pipefail
rounds=${1:-2}
polls=${2:-2000}
. docs/performance/outside-packages.sh
outside_packages pipelined-poll-spike "psycopg[binary]==3.3.9"
echo "# $(date -u '+%d %B %H:%M UTC'), $(git rev-parse --short HEAD), rounds $rounds, $polls polls a side; cpu: $(nproc) cores; load $(cut -d' ' -f1 /proc/loadavg)"
for _ in $(seq 1 "$rounds"); do
  for rivals in 0 2; do
    for mode in asyncpg psycopg pipelined; do
      .venv/bin/python docs/performance/pipelined-poll/spike.py "$mode" "$polls" "$rivals"
    done
  done
done
