#!/usr/bin/env bash
# Runs lint, the layering contract and the test suite against a real PostGIS.
set -euo pipefail
cd "$(dirname "$0")/.."
# The suite makes its own throwaway databases on this server and drops them afterwards: as DATABASE_OWNER_URL's
# role, which migrates them, while the app runs as DATABASE_URL's. Without an owner URL one role does both.
# A plain assignment, not `export X=$(...)`, so a failed start stops the script here.
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/devdb.sh start)
  DATABASE_OWNER_URL=$(scripts/devdb.sh owner-url)
  export DATABASE_OWNER_URL
fi
export DATABASE_URL
ruff check .
lint-imports
exec pytest "$@"
