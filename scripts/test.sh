#!/usr/bin/env bash
# Runs lint, the layering contract and the test suite against a real PostGIS.
set -euo pipefail
cd "$(dirname "$0")/.."
# The suite makes its own throwaway database on this server and drops it afterwards.
export DATABASE_URL="${DATABASE_URL:-$(scripts/devdb.sh start)}"
ruff check .
lint-imports
exec pytest "$@"
