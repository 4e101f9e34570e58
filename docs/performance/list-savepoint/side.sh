#!/bin/bash
# side.sh: one side of ab.sh, from the repository's root on a running stack.
./efrikort bench --rate 200 --submissions 2000 --runs 1 --no-floor > /dev/null 2>&1
./efrikort statements --reset > /dev/null
./efrikort bench --rate 200 --submissions 2000 --runs 2 --no-floor --warmup 0 2>&1 | grep -E "^run|^median"
./efrikort statements --top 200 | awk '$1 == "efrikort_registration" { calls += $2; if ($6 == "SAVEPOINT") sp += $2 }
  END { printf "registration: %d statements for 4 000 submissions (%.2f each), %d of them SAVEPOINT\n", calls, calls / 4000, sp }'
./efrikort bench --submissions 5000 --runs 1 --no-floor 2>&1 | grep -E "^median"
