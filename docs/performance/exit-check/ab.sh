#!/bin/bash
# ab.sh BASE: the exit check's correction (its lock in a statement of its own), before (BASE's runtime/ and
# services/) against after (HEAD), alternated A B A B by ../ab-sides.sh, each side on a fresh stack warmed
# with 4 000 at 200/s; per side 2 runs of 2 000 at 200/s and 2 of 3 000 flat out, without the floor.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = --side ]; then
  ./efrikort bench --rate 200 --submissions 4000 --runs 1 --no-floor 2>&1 | grep -E "^run" | sed 's/^/warm /'
  ./efrikort bench --rate 200 --submissions 2000 --runs 2 --no-floor 2>&1 | grep -E "^run|hops"
  ./efrikort bench --submissions 3000 --runs 2 --no-floor 2>&1 | grep -E "^run|hops"
  exit
fi
exec "$HERE/../ab-sides.sh" "$1" "$HERE/ab.sh" --side
