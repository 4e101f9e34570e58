#!/bin/bash
# ab.sh BASE: a lone submission without its savepoint on the poll's first hearing (HEAD) against BASE, A B
# A B on fresh stacks (ab-sides.sh), each side side.sh: 10/s and 20/s (every poll one submission), 200/s
# with the statements per submission, POST /v1/fees at 100/s.
HERE=$(cd "$(dirname "$0")" && pwd)
exec bash "$HERE/../ab-sides.sh" "$1" bash "$HERE/side.sh"
