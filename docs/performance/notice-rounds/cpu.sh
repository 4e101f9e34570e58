#!/bin/bash
# usage: cpu.sh snapshot -> prints "name ticks" per component: the bench's own account of the parts
# (efrikort/bench_cpu.py), which every bench run now also prints as cores busy while it ran.
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
exec "$root/.venv/bin/python" -m efrikort.bench_cpu
