#!/usr/bin/env bash
# `pnpm demo`: starts the throwaway PostgreSQL on 127.0.0.1 (installing it
# from Debian when missing) and replicates a sample shop database into a
# warehouse database, live. The server keeps running afterwards so the result
# can be inspected; `scripts/test-services.sh stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/.pnpm ] || pnpm install --frozen-lockfile
bash scripts/test-services.sh start
eval "$(bash scripts/test-services.sh env)"
exec node --conditions=zero-etl-source --import tsx examples/postgres-to-postgres/src/demo.ts
