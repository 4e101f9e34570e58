#!/bin/bash
# ab.sh [BASE]: the services' code of the table of record before this one (4cb4db4, 3 December 03:53) against
# HEAD, A B A B on fresh, empty stacks (`ab-sides.sh` with AB_RESET=1: migrations changed in between). Per side:
# 4 000 at 200/s to warm (not counted), then 3 runs of 2 000 at 200/s with the floor before each.
HERE=$(cd "$(dirname "$0")" && pwd)
export AB_RESET=1
exec "$HERE/../ab-sides.sh" "${1:-4cb4db4}" bash -c '. docs/performance/stack.sh && at_200 3'
