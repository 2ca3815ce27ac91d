#!/usr/bin/env bash
# A PostgreSQL primary and its streaming replica for tests/storage/test_replica.py, made as in
# ../shared/README.md ("A PostgreSQL streaming replica for tests"): initdb a primary,
# pg_basebackup -R a replica from it, start both. Idempotent: a pair already up is left alone,
# a stopped one is started, a broken one is made again. Prints the two URLs as `export` lines
# (stdout); everything else goes to stderr.
set -euo pipefail

BIN="${NEWSBOT_PG_BIN:-/usr/lib/postgresql/$(ls /etc/postgresql | head -n 1)/bin}"
DIR="${NEWSBOT_REPLICA_DIR:-/tmp/newsbot-replica}"
PRIMARY_PORT="${NEWSBOT_REPLICA_PRIMARY_PORT:-5442}"
REPLICA_PORT="${NEWSBOT_REPLICA_PORT:-5443}"

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}
ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$1"; }
query() { as_postgres "$BIN/psql" -h 127.0.0.1 -p "$1" -U postgres -d postgres -tAc "$2"; }
start() {  # data dir, port
  ready "$2" && return 0
  as_postgres "$BIN/pg_ctl" -D "$1" -l "$1.log" -w -t 60 \
    -o "-p $2 -k $DIR -c listen_addresses=127.0.0.1" start >&2
}

mkdir -p "$DIR"
chown postgres: "$DIR" 2>/dev/null || true

if [ ! -f "$DIR/primary/PG_VERSION" ]; then
  echo "replica.sh: making the primary in $DIR/primary" >&2
  rm -rf "$DIR/primary" "$DIR/replica"
  as_postgres "$BIN/initdb" -D "$DIR/primary" -A trust -U postgres >&2
fi
start "$DIR/primary" "$PRIMARY_PORT"

if [ -f "$DIR/replica/PG_VERSION" ] && ! start "$DIR/replica" "$REPLICA_PORT"; then
  echo "replica.sh: the replica does not start; making it again" >&2
  as_postgres "$BIN/pg_ctl" -D "$DIR/replica" -m immediate stop >&2 || true
  rm -rf "$DIR/replica"
fi
if [ ! -f "$DIR/replica/PG_VERSION" ]; then
  echo "replica.sh: making the replica in $DIR/replica" >&2
  as_postgres "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
    -D "$DIR/replica" -R -X stream >&2
  start "$DIR/replica" "$REPLICA_PORT"
fi

if [ "$(query "$REPLICA_PORT" 'SELECT pg_is_in_recovery()')" != t ]; then
  echo "replica.sh: the server on port $REPLICA_PORT is not a replica" >&2
  exit 1
fi
for _ in $(seq 1 20); do
  [ "$(query "$PRIMARY_PORT" 'SELECT count(*) FROM pg_stat_replication')" != 0 ] && break
  sleep 0.5
done
if [ "$(query "$PRIMARY_PORT" 'SELECT count(*) FROM pg_stat_replication')" = 0 ]; then
  echo "replica.sh: the replica does not stream from the primary" >&2
  exit 1
fi

echo "export NEWSBOT_TEST_REPLICA_PRIMARY_URL=postgresql+asyncpg://postgres@127.0.0.1:$PRIMARY_PORT/postgres"
echo "export NEWSBOT_TEST_REPLICA_URL=postgresql+asyncpg://postgres@127.0.0.1:$REPLICA_PORT/postgres"
