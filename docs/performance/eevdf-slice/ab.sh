#!/bin/bash
# ab.sh NS: the scheduler's slice of every thread of the running stack (services, Kafka, PostgreSQL) and of the
# bench, the kernel's own (1.4 ms here) against NS nanoseconds, alternated 0 NS 0 NS on one warmed stack; per
# side 3 runs of 2 000 at 200/s. New PostgreSQL backends and Kafka threads inherit the slice of their parent.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
here=docs/performance/eevdf-slice
pids() {
  { pgrep -f "python -m (registration|protection|access|notifications|desk)"; pgrep -f kafka.Kafka; pgrep -f "postgres"; } | sort -u
}
for side in 0 "$1" 0 "$1"; do
  python3 "$here/slice.py" "$side" $(pids) 2> /dev/null
  echo "=== slice $side $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  bash -c "python3 $here/slice.py $side \$\$ > /dev/null; exec ./efrikort bench --patients 200000 --rate 200 --submissions 2000 --runs 3 --no-floor" 2> /dev/null |
    grep -E "^run|^median|hops p50|cpu," | grep -v "^       cpu"
done
