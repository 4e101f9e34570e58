#!/bin/bash
# ab.sh BASE: the bench of BASE (before 4cb4db4 its sender lingered 5 ms) and HEAD's, alternated on one warm
# stack; only the bench differs between the sides, the services are the same processes. Run from a checkout
# with no stack running: it starts one (docs/performance/stack.sh), checks BASE out beside the repository as
# a worktree sharing this checkout's var/ (the stack's credentials and CA), and removes both when it ends.
# The A/B of 3 December 04:09 (output: ab.txt beside this) was `ab.sh 53fd67b`.
set -eu
base=${1:?usage: ab.sh BASE}
root="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
cd "$root"
. docs/performance/stack.sh
before="$(mktemp -d)/before"
git worktree add -q --detach "$before" "$base"
ln -s "$root/var" "$before/var"
trap 'stop_stack || true; git worktree remove --force "$before"; rmdir "$(dirname "$before")"' EXIT
start_stack /tmp/bench-sender-up.log
bench() { # bench PACKAGE_DIR ARGS...: one run of that bench, its line and its floor's
  PYTHONPATH=$1 .venv/bin/python -c "from efrikort.cli import main; main()" bench --patients 200000 "${@:2}" 2> /dev/null \
    | grep -E "^run 1|floor [0-9]" | sed 's/raw Kafka.*//' | tr '\n' ' '
  echo
}
echo "=== $(date -u +%T) warm"
bench "$root/deploy/local" --rate 200 --submissions 8000 --runs 1 --no-floor
for rate_runs in "200 2000" "20 200"; do
  set -- $rate_runs
  for _ in 1 2 3; do
    echo -n "before $1/s: "; bench "$before/deploy/local" --rate "$1" --submissions "$2" --runs 1 --warmup 100
    echo -n "after $1/s: "; bench "$root/deploy/local" --rate "$1" --submissions "$2" --runs 1 --warmup 100
  done
done
echo "=== $(date -u +%T) done"
