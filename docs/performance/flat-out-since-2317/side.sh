#!/bin/bash
# side.sh: one side of ab.sh: the broker warmed with 4 000 at 200/s (not counted), then flat out, 3 runs of
# 5 000 with the floor before each (a longer run than the table's 3 000, whose 1.3 to 2.9 s were mostly its
# start and end).
./efrikort bench --patients 200000 --rate 200 --submissions 4000 --runs 1 --no-floor 2> /dev/null | grep -E "^run" | sed "s/^/warm /"
./efrikort bench --patients 200000 --submissions 5000 --runs 3 2> /dev/null | grep -E "^run|^median|floor, same|hops"
