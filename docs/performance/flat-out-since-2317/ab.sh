#!/bin/bash
# ab.sh BASE: flat out on BASE's services against HEAD's, A B A B on fresh, empty stacks (AB_RESET: the relay's
# hold came with a migration). Taken because the table of 4 December 13:00 carried 0.10 of its floor flat out,
# where 17:31 and 23:17 on 3 December (before the relay's hold, 2ec847d) carried 0.17.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
AB_RESET=1 bash docs/performance/ab-sides.sh "$1" bash docs/performance/flat-out-since-2317/side.sh
