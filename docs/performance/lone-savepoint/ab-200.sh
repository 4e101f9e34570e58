#!/bin/bash
# ab-200.sh BASE: 200/s alone, A B A B on fresh stacks (ab-sides.sh): a warm-up of 4 000, then 3 runs of 2 000
# with the floor (stack.sh's at_200). The second look at 200/s after ab.sh's after-sides came out higher.
HERE=$(cd "$(dirname "$0")" && pwd)
exec bash "$HERE/../ab-sides.sh" "$1" bash -c '. docs/performance/stack.sh; at_200 3'
