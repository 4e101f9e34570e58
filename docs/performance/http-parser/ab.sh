#!/usr/bin/env bash
# uvicorn's HTTP parser, h11 (pure Python) against httptools (C), alternated on fresh stacks: registration's
# CPU per request (docs/performance/http-cost/probe.py) for GET /health and for POST /v1/fees answered with
# the amount due, and the HTTP bench at 100/s. From the repository's root, on the commit that brings
# httptools: bash docs/performance/http-parser/ab.sh [PAIRS] > out.txt
# A side is runtime/runtime/tls.py with h11's protocol in place of httptools', put back after.
set -euo pipefail
pairs=${1:-2}
. docs/performance/stack.sh
tls=runtime/runtime/tls.py
side() {
  case $1 in
    h11) sed -i 's/^from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol$/from uvicorn.protocols.http.h11_impl import H11Protocol as HttpToolsProtocol/' $tls ;;
    httptools) git checkout -- $tls ;;
  esac
}
trap 'git checkout -- $tls' EXIT
for _ in $(seq 1 "$pairs"); do
  for parser in h11 httptools; do
    side $parser
    echo "=== $parser $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)"
    EFRIKORT_TRUST_IDENTITY_HEADER=true start_stack /tmp/http-parser-up.log
    ./efrikort bench --http http://127.0.0.1:8081 --rate 100 --submissions 1000 --runs 1 2> /dev/null | grep -E "^run" | sed "s/^/warm /"
    registration=$(pgrep -f "python -m registration")
    for _ in 1 2; do
      .venv/bin/python docs/performance/http-cost/probe.py "$registration" GET /health none 3000 200
      .venv/bin/python docs/performance/http-cost/probe.py "$registration" POST /v1/fees valid 1000 100
    done
    ./efrikort bench --http http://127.0.0.1:8081 --rate 100 --submissions 1000 --runs 3 2> /dev/null | grep -E "^run|^median|cores busy" | grep -v "^       cpu"
    stop_stack
  done
done
