#!/usr/bin/env bash
# Runs an example's program (path relative to the example's directory) on
# the local servers: starts them when they are not running yet (Debian
# packages, temporary directories; idempotent), then runs the program with
# the servers' URLs in the environment. The servers keep running afterwards
# for inspection; `scripts/test-services.sh stop` stops them.
set -euo pipefail
example_dir=$(pwd)
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
[ -d node_modules/.pnpm ] || pnpm install --frozen-lockfile
bash scripts/test-services.sh start >&2
eval "$(bash scripts/test-services.sh env)"
exec node --conditions=zero-etl-source --import tsx "$example_dir/$1"
