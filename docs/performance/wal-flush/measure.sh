#!/bin/bash
# measure.sh: how long a WAL flush takes on this machine, and how many a submission waits for at 200/s.
# pg_test_fsync on the filesystem of the local stack's data (var/), then on a fresh stack with
# track_wal_io_timing on: 4 000 at 200/s to warm, the I/O statistics reset, 2 000 at 200/s, and the WAL's
# flushes and the time spent in them per submission (PostgreSQL 18 counts them in pg_stat_io, object 'wal').
# Stops the stack.
set -eu
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
. docs/performance/stack.sh
# The local server's own programs (`efrikort.infra.postgres.client_tool`), on the stack's port.
tool() { .venv/bin/python -c "from efrikort.infra.postgres import client_tool; print(client_tool('$1'))"; }
"$(tool pg_test_fsync)" -s 2 -f var/pg_test_fsync.tmp | grep -E "fdatasync|open_datasync|fsync  |ops/sec" | head -8
rm -f var/pg_test_fsync.tmp
./efrikort infra reset > /dev/null
start_stack /tmp/wal-up.log
PSQL=$(tool psql)
sql() { "$PSQL" -qAt "postgresql://postgres@127.0.0.1:${EFRIKORT_POSTGRES_PORT:-55432}/efrikort" -c "$1"; }
sql "ALTER SYSTEM SET track_wal_io_timing = on" && sql "SELECT pg_reload_conf()" > /dev/null
./efrikort bench --patients 200000 --rate 200 --submissions 4000 --runs 1 --no-floor 2> /dev/null | grep -E "^run" | sed "s/^/warm /"
sql "SELECT pg_stat_reset_shared('io')" > /dev/null
./efrikort bench --patients 200000 --rate 200 --submissions 2000 --runs 1 --no-floor 2> /dev/null | grep -E "^run"
sql "SELECT format('WAL flushes %s (%s per submission), %s ms in them (%s ms a flush); WAL writes %s', f,
  round(f / 2000.0, 2), round(t::numeric, 0), round((t / greatest(f, 1))::numeric, 3), w)
  FROM (SELECT sum(fsyncs) AS f, sum(fsync_time) AS t, sum(writes) AS w FROM pg_stat_io WHERE object = 'wal') AS wal"
sql "ALTER SYSTEM RESET track_wal_io_timing" && sql "SELECT pg_reload_conf()" > /dev/null
stop_stack
