#!/usr/bin/env bash
# Runs the differential fidelity fuzzer: pnpm fuzz --seeds N [--pair pg-pg|mysql-pg|pg-iceberg|dynamodb-pg|pg-opensearch|pg-kafka-pg|pg-redshift] [--seed S] [--gate name|-name] [--all-gates]
# See docs/fidelity.md. Needs the test servers (scripts/test-services.sh start).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-services.sh start >/dev/null
eval "$(bash scripts/test-services.sh env)"
exec node --conditions=zero-etl-source --import tsx fidelity/src/fuzz-main.ts "$@"
