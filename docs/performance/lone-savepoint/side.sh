#!/bin/bash
# side.sh: one side of ab.sh, from the repository's root on a running stack: the low rates, where every
# poll holds one submission, then 200/s with its statements counted.
bench() { ./efrikort bench --patients 200000 "$@" 2> /dev/null; }
bench --rate 200 --submissions 4000 --runs 1 --no-floor | grep -E "^run" | sed "s/^/warm /"
for rate in 10 20; do
  bench --rate $rate --submissions 300 --runs 3 --no-floor | grep -E "^median|^  hops" | sed "s/^/$rate\/s /"
done
./efrikort statements --reset > /dev/null
bench --rate 200 --submissions 2000 --runs 3 | grep -E "^run|^median|hops p50|floor, same"
./efrikort statements --top 1000 | awk '$1 ~ /^efrikort_/ { calls[$1] += $2; all += $2 }
  END { line = sprintf("statements per submission at 200/s: all %.2f;", all / 6000)
        for (role in calls) line = line sprintf(" %s %.2f", substr(role, 10), calls[role] / 6000); print line }'
bench --http http://127.0.0.1:8081 --rate 100 --submissions 1000 --runs 2 | grep -E "^run|^median"
