#!/usr/bin/env bash
# Starts the system: database (embedded unless DATABASE_URL is set), migrations, demo data once, gunicorn behind nginx.
set -euo pipefail
cd "$(dirname "$0")/.."
# A plain assignment, not `export X=$(...)`, so a failed start stops the script here.
owner_url="${DATABASE_OWNER_URL:-}"
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/devdb.sh start)
  owner_url=$(scripts/devdb.sh owner-url)
fi
export DATABASE_URL
# Only the migrations see the owner's URL; what follows, gunicorn included, runs as the app's role alone.
unset DATABASE_OWNER_URL
DATABASE_OWNER_URL="$owner_url" flask db upgrade
flask forms publish
# A database that holds real areas gets no demo (flask demo load says why); the server starts all the same.
demo=$(flask demo load --if-empty) || demo="No demo data was loaded (see above); the server starts without it."
echo "$demo"
host="${SURVEY_HOST:-127.0.0.1}" port="${SURVEY_PORT:-8000}"
cat <<TXT

  Village field survey server
    health:        http://$host:$port/healthz
    API document:  http://$host:$port/api/v1/openapi.json
    API docs:      http://$host:$port/api/v1/docs
    sign in:       http://$host:$port/login
    field app:     http://$host:$port/app/   (enumerators, on their phones)
$(flask demo accounts)

TXT
# The app's workers listen on loopback only; phones and browsers reach them through the proxy (deploy/nginx.conf),
# which reads slow uploads whole before a worker sees them (reliability S12).
app_port="${SURVEY_APP_PORT:-$((port + 1))}"
data_dir="${SURVEY_DATA_DIR:-$PWD/.data}"
TRUSTED_PROXIES=1 gunicorn --bind "127.0.0.1:$app_port" --access-logfile - wsgi:app &
app_pid=$!
scripts/proxy.sh "$host:$port" "127.0.0.1:$app_port" "$data_dir/proxy" &
proxy_pid=$!
trap 'kill -TERM "$app_pid" "$proxy_pid" 2>/dev/null || true' INT TERM EXIT
if [[ "$demo" == "Loaded the Dali demo"* ]]; then
  # A demo loaded just now gets its submissions the way a phone sends them: through the API, by the simulator, once.
  SIMULATE_PASSWORD=$(python -c 'from server.demo.accounts import ACCOUNTS; print(next(a.password for a in ACCOUNTS if a.username == "demo_enumerator"))') \
    python -m tools.simulate --url "http://$host:$port" --wait 30 --username demo_enumerator --devices 3 --submissions 40 \
      --invalid-share 0.05 --seed 20261123 --quiet \
    || echo "Some demo submissions did not go through (exit $?); the server keeps running." >&2
fi
# Either one stopping stops the other: a proxy without the app (or the app unreachable) is no server.
wait -n "$app_pid" "$proxy_pid"
