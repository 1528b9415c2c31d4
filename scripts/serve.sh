#!/usr/bin/env bash
# Starts the system: database (embedded unless DATABASE_URL is set), migrations, demo data once, gunicorn.
set -euo pipefail
cd "$(dirname "$0")/.."
# A plain assignment, not `export X=$(...)`, so a failed start stops the script here.
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/devdb.sh start)
fi
export DATABASE_URL
flask db upgrade
flask forms publish
flask demo load --if-empty
host="${SURVEY_HOST:-127.0.0.1}" port="${SURVEY_PORT:-8000}"
cat <<TXT

  Village field survey server
    health:        http://$host:$port/healthz
    API document:  http://$host:$port/api/v1/openapi.json
    API docs:      http://$host:$port/api/v1/docs
    sign in:       http://$host:$port/login
$(flask demo accounts)

TXT
exec gunicorn --workers "${WEB_CONCURRENCY:-2}" --bind "$host:$port" --access-logfile - wsgi:app
