#!/usr/bin/env bash
# Fetches Debezium's Oracle connector and the few jars its LogMiner DML parser
# needs (by Maven, artifact by artifact: the connector's full transitive
# resolution reaches repositories that are not on Maven Central), compiles
# OracleDmlHarness.java against them, and prints the classpath to run it with.
# Everything lands in the cache dir; a second run only prints the classpath.
#
#   test-support/oracle-debezium/build.sh   ->  stdout: <classpath>
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${ZETL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zero-etl}/oracle-debezium
ARTIFACTS=(
  io.debezium:debezium-connector-oracle:3.6.1.Final
  io.debezium:debezium-connector-common:3.6.1.Final
  io.debezium:debezium-api:3.6.1.Final
  io.debezium:debezium-util:3.6.1.Final
  io.debezium:debezium-config:3.6.1.Final
  org.apache.kafka:connect-api:4.3.0
  org.apache.kafka:kafka-clients:4.3.0
  org.slf4j:slf4j-api:2.0.17
)

# a JRE alone cannot compile the harness
if ! command -v javac >/dev/null 2>&1; then
  echo "installing openjdk-17-jdk-headless from Debian (javac)" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo=sudo; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless >/dev/null
fi

mkdir -p "$CACHE/lib"
exec 9>"$CACHE/.lock"
flock 9

classpath=""
for artifact in "${ARTIFACTS[@]}"; do
  IFS=: read -r _ name version <<<"$artifact"
  jar="$CACHE/lib/$name-$version.jar"
  if [ ! -f "$jar" ]; then
    mvn -q -B -Dstyle.color=never dependency:copy -Dartifact="$artifact" -Dtransitive=false -DoutputDirectory="$CACHE/lib" >&2
  fi
  classpath="$classpath:$jar"
done
classpath=${classpath#:}

stamp=$( (cat "$HERE/OracleDmlHarness.java"; printf '%s\n' "${ARTIFACTS[@]}") | sha256sum | cut -c1-16)
classes="$CACHE/classes-$stamp"
if [ ! -f "$classes/OracleDmlHarness.class" ]; then
  rm -rf "$classes.tmp"
  mkdir -p "$classes.tmp"
  javac -nowarn -XDignore.symbol.file -d "$classes.tmp" -cp "$classpath" "$HERE/OracleDmlHarness.java" 2>&1 | grep -v -e "warning" -e "^\s" -e "^[0-9]* warning" >&2 || true
  [ -f "$classes.tmp/OracleDmlHarness.class" ] || { echo "javac failed for $HERE/OracleDmlHarness.java" >&2; exit 1; }
  rm -rf "$classes"
  mv "$classes.tmp" "$classes"
fi
echo "$classes:$classpath"
