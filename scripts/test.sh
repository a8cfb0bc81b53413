#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs and starts PostgreSQL
# 15 and MariaDB on 127.0.0.1 (Debian packages, temporary directories),
# typechecks, runs every test, and stops the servers it started.
set -euo pipefail
cd "$(dirname "$0")/.."

started=0
if ! bash scripts/test-services.sh running; then
  bash scripts/test-services.sh start
  started=1
fi
cleanup() { if [ "$started" = 1 ]; then bash scripts/test-services.sh stop; fi; }
trap cleanup EXIT
eval "$(bash scripts/test-services.sh env)"

[ -d node_modules/.pnpm ] || pnpm install --frozen-lockfile
echo "typecheck"
pnpm -s typecheck
pnpm -s exec vitest run "$@"
