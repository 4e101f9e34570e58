#!/usr/bin/env bash
# What the Kafka client costs (spike.py beside it), on a running stack: the clients alternated, rounds of
# 20/s, 200/s and 1 000/s. confluent-kafka is not one of the project's packages: it is installed into
# var/cache/kafka-client-spike, which only this measurement puts on its path (`../outside-packages.sh`).
# From the repository's root: bash docs/performance/kafka-client/run.sh [ROUNDS] > out.txt
set -euo pipefail
rounds=${1:-2}
. docs/performance/outside-packages.sh
outside_packages kafka-client-spike "confluent-kafka==2.16.1"
echo "# $(date -u '+%d %B %H:%M UTC'), $(git rev-parse --short HEAD), rounds $rounds; cpu: $(nproc) cores"
for _ in $(seq 1 "$rounds"); do
  for spec in "20 400" "200 2000" "1000 10000"; do
    for client in aio ck-asyncio ck; do
      # shellcheck disable=SC2086
      .venv/bin/python docs/performance/kafka-client/spike.py "$client" $spec
    done
  done
done
