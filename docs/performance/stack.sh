# stack.sh, sourced by the measuring scripts beside it (from the repository's root): the local stack started
# and waited for, and stopped and waited for until every part of it has gone. A stack half stopped still
# holds the ports and the database the next start needs, so a stop that does not finish fails loudly.

start_stack() { # start_stack LOG
  (nohup ./efrikort up > "$1" 2>&1 &)
  for _ in $(seq 1 120); do
    grep -q "is up" "$1" && return 0
    sleep 2
  done
  echo "the stack did not come up in 240 s: see $1" >&2
  return 1
}

stop_stack() {
  pkill -INT -f "efrikort up"
  for _ in $(seq 1 120); do
    pgrep -f "efrikort up" > /dev/null || pgrep -f pginstall/bin/postgres > /dev/null || return 0
    sleep 1
  done
  echo "the stack has not stopped in 120 s" >&2
  return 1
}

warm() { # warm [COUNT]: COUNT (4 000) at 200/s, not counted: the broker's JIT, the services' pools and plans settled
  ./efrikort bench --patients 200000 --rate 200 --submissions "${1:-4000}" --runs 1 --no-floor 2> /dev/null |
    grep -E "^run" | sed "s/^/warm /"
}

medians_at() { # medians_at RATE SUBMISSIONS [BENCH ARGS...]: 3 runs with the floor; each run and the medians, with hops, CPU and floor
  local rate=$1 count=$2
  shift 2
  ./efrikort bench --patients 200000 --rate "$rate" --submissions "$count" --runs 3 "$@" 2> /dev/null |
    grep -E "^run|^median|^  (hops|cpu|raw)"
}

at_200() { # at_200 RUNS [BENCH ARGS...]: warm, then RUNS runs of 2 000 at 200/s
  local runs=$1
  shift
  warm
  ./efrikort bench --patients 200000 --rate 200 --submissions 2000 --runs "$runs" "$@" 2> /dev/null | grep -E "^run|^median|hops p50|floor, same"
}
