#!/bin/bash
# ab.sh [BASE]: the outbox relay holding its batch by the outbox lock alone (read, sent, deleted by id and let
# go, no transaction: `runtime.migrations.create_outbox_hold_and_release`) against BASE (f09c488, BEGIN, take
# and COMMIT), A B A B on fresh, empty stacks (`ab-sides.sh` with AB_RESET=1: a migration was added). Each side
# as `round-trips-cut/side.sh`: 4 000 at 200/s to warm, 3 runs of 2 000 at 200/s with the floor, the statements
# per submission of those 6 000, 2 runs of 3 000 flat out, 2 of 1 000 `POST /v1/fees` at 100/s.
HERE=$(cd "$(dirname "$0")" && pwd)
export AB_RESET=1
exec "$HERE/../ab-sides.sh" "${1:-f09c488}" bash "$HERE/../round-trips-cut/side.sh"
