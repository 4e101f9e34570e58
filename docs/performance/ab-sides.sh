#!/bin/bash
# ab-sides.sh BASE COMMAND [ARGS...]: before against after, alternated A B A B. Side A runs BASE's version of
# every file of runtime/, services/ and contracts/ (the code the services run) that differs from HEAD, side B
# runs HEAD; each side on a fresh
# `efrikort up`, where COMMAND (the warm-up and the runs it measures) runs from the repository's root,
# then the stack stops. Leaves the working tree as HEAD. The A/B scripts beside it are its COMMANDs:
# notice-rounds/ab.sh (the Kafka path), outcome-look-ups/ab-http.sh (POST /v1/fees). With AB_RESET=1 each
# side starts on an empty database and Kafka (`efrikort infra reset`): needed when HEAD adds a migration,
# which side A's code would not know.
set -u
BASE=$1
shift
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
. docs/performance/stack.sh
trap 'git checkout -q HEAD -- runtime services contracts' EXIT # HEAD again, however it ends
for label in A B A B; do
  for f in $(git diff --name-only "$BASE" HEAD -- runtime services contracts); do
    if [ $label = B ]; then
      git checkout -q HEAD -- "$f"
    elif git cat-file -e "$BASE:$f" 2> /dev/null; then
      git show "$BASE:$f" > "$f"
    else
      rm "$f" # new since BASE
    fi
  done
  if [ "${AB_RESET:-0}" = 1 ]; then ./efrikort infra reset > /dev/null 2>&1 || exit 1; fi
  start_stack /tmp/ab-up.log || exit 1
  echo "=== $label $(date +%T) $(git status --short runtime services contracts | wc -l) files differ; load $(cut -d' ' -f1 /proc/loadavg)"
  "$@"
  stop_stack || exit 1
done
echo DONE
