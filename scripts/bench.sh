#!/usr/bin/env bash
# `pnpm bench [name...]`: starts the local servers when needed and runs the
# benchmarks in bench/ (all, or the ones named).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/.pnpm ] || pnpm install --frozen-lockfile
bash scripts/test-services.sh running || bash scripts/test-services.sh start
eval "$(bash scripts/test-services.sh env)"
exec node --conditions=zero-etl-source --import tsx bench/run.ts "$@"
