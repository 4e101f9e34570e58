#!/bin/bash
# The A/B of 3 December 04:09 (output: ab.txt beside this): the bench before 4cb4db4 (its sender lingering 5 ms,
# checked out at /work/wtA from 53fd67b with var/ linked to the main checkout's) and main's, alternated on one warm stack
# started with docs/performance/stack.sh. Only the bench differs between the sides; the services are the same processes.
cd /work/main
bench() { PYTHONPATH=$1 .venv/bin/python -c "from efrikort.cli import main; main()" bench --patients 200000 "${@:2}" 2>/dev/null | grep -E "^run 1|floor [0-9]" | sed 's/raw Kafka.*//' | tr '\n' ' '; echo; }
echo "=== $(date -u +%T) warm"; bench /work/main/deploy/local --rate 200 --submissions 8000 --runs 1 --no-floor
for rate_runs in "200 2000" "20 200"; do
  set -- $rate_runs
  for i in 1 2 3; do
    echo -n "linger5 $1/s: "; bench /work/wtA/deploy/local --rate $1 --submissions $2 --runs 1 --warmup 100
    echo -n "linger0 $1/s: "; bench /work/main/deploy/local --rate $1 --submissions $2 --runs 1 --warmup 100
  done
done
echo "=== $(date -u +%T) done"
