#!/bin/bash
# ab.sh [BASE]: the answer's path with fewer round trips (the exit check in one call, registration's claim and
# first versions in one statement, protection's lock-and-read, versions-and-fees and changes in one each, a
# poll's inbox taken in by the outbox's statement) against BASE (c4689b8, before them), A B A B on fresh,
# empty stacks (`ab-sides.sh` with AB_RESET=1: migrations were added). Per side: 4 000 at 200/s to warm (not
# counted), the statements forgotten, 3 runs of 2 000 at 200/s with the floor before each, the statements per
# submission of those 6 000 (`efrikort statements`, BEGIN and COMMIT included, an executemany's rows one each),
# then 2 runs of 3 000 flat out and 2 of 1 000 `POST /v1/fees` at 100/s.
HERE=$(cd "$(dirname "$0")" && pwd)
export AB_RESET=1
exec "$HERE/../ab-sides.sh" "${1:-c4689b8}" bash "$HERE/side.sh"
