"""The stack's CPU at rest, by part, over SECONDS (default 20): what a bench's cpu line includes at any rate.

.venv/bin/python docs/performance/trickle/at-rest.py 20
"""

import sys
import time

from efrikort.bench_cpu import snapshot, used_between

before = snapshot()
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0)
after = snapshot()
print(*used_between(before, after).lines(), sep="\n")
