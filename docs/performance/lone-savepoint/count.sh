#!/bin/bash
# count.sh: one side of `ab-sides.sh BASE bash docs/performance/lone-savepoint/count.sh`: the statements
# each service makes per submission at 10/s (every poll one submission), and how many are savepoints.
./efrikort bench --patients 200000 --rate 50 --submissions 500 --runs 1 --no-floor 2> /dev/null | grep -E "^run" | sed "s/^/warm /"
./efrikort statements --reset > /dev/null
./efrikort bench --patients 200000 --rate 10 --submissions 300 --warmup 0 --runs 1 --no-floor 2> /dev/null | grep -E "^run"
./efrikort statements --top 1000 | awk '$1 ~ /^efrikort_/ { calls[$1] += $2; if ($0 ~ /SAVEPOINT/) sp[$1] += $2 }
  END { line = "statements per submission at 10/s:"
        for (role in calls) line = line sprintf(" %s %.2f (savepoints %.2f)", substr(role, 10), calls[role] / 300, sp[role] / 300); print line }'
