#!/bin/bash
# ab.sh BASE: registration's list of submissions without a savepoint (HEAD) against with one (BASE), A B A B
# on fresh stacks (`ab-sides.sh`). Per side: 2 000 at 200/s to warm, the statement counts reset, 2 runs of
# 2 000 at 200/s, registration's round trips per submission (`efrikort statements`), 1 run of 5 000 flat out.
HERE=$(cd "$(dirname "$0")" && pwd)
exec "$HERE/../ab-sides.sh" "$1" bash "$HERE/side.sh"
