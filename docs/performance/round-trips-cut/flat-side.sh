#!/bin/bash
# flat-side.sh: one side of ab-flat.sh, from the repository's root on a running stack: 4 000 at 200/s to warm,
# then 2 runs of 10 000 flat out, each with the CPU every component used (notice-rounds/bench-with-cpu.sh).
./efrikort bench --patients 200000 --rate 200 --submissions 4000 --runs 1 --no-floor 2> /dev/null | grep -E "^run" | sed "s/^/warm /"
for _ in 1 2; do bash docs/performance/notice-rounds/bench-with-cpu.sh --patients 200000 --submissions 10000 --runs 1 --no-floor; done
