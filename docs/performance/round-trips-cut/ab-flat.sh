#!/bin/bash
# ab-flat.sh [BASE]: flat out with the CPU of each component, BASE (c4689b8) against HEAD, A B A B on fresh,
# empty stacks: did the statements merged into one cost throughput? (flat-side.sh is a side)
HERE=$(cd "$(dirname "$0")" && pwd)
export AB_RESET=1
exec "$HERE/../ab-sides.sh" "${1:-c4689b8}" bash "$HERE/flat-side.sh"
