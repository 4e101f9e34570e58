#!/bin/bash
# measure.sh: what a submission costs the machine against how many messages each poll and relay batch
# carries, on the running stack (`./efrikort up`), one offered rate after another. For each rate: the
# statements counted from zero (`efrikort statements --reset`), one run of the bench with no warm-up
# (so that every statement counted belongs to the run's submissions), then each service's polls and
# batches read off the statements by `summarize.py`.
#   bash docs/performance/per-poll-cost/measure.sh [RATES] > out.txt    (RATES: "20 50 100 200 flat")
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
here=docs/performance/per-poll-cost
out=$(mktemp -d)
echo "=== $(date -u +%FT%TZ) $(git rev-parse --short HEAD); load $(cut -d' ' -f1 /proc/loadavg)"
.venv/bin/python "$here/summarize.py" idle 20 "$out/idle.json"
for rate in ${1:-20 50 100 200 flat}; do
  if [ "$rate" = flat ]; then count=10000; pace=(); else count=$((rate * 20 < 1000 ? 1000 : rate * 20)); pace=(--rate "$rate"); fi
  ./efrikort statements --reset > /dev/null
  ./efrikort bench --patients 200000 --submissions "$count" "${pace[@]}" --warmup 0 --runs 1 --no-floor \
    --json "$out/bench-$rate.json" 2> /dev/null | grep -E "^run|^       hops"
  .venv/bin/python "$here/summarize.py" run "$rate" "$count" "$out/bench-$rate.json" "$out/idle.json"
done
rm -rf "$out"
