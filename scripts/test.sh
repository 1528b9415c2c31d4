#!/usr/bin/env bash
# Runs lint, the layering contract and the test suite against a real PostGIS.
set -euo pipefail
cd "$(dirname "$0")/.."
# The suite makes its own throwaway database on this server and drops it afterwards.
# A plain assignment, not `export X=$(...)`, so a failed start stops the script here.
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/devdb.sh start)
fi
export DATABASE_URL
ruff check .
lint-imports
exec pytest "$@"
