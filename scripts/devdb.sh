#!/usr/bin/env bash
# The embedded default database: a private PostgreSQL + PostGIS cluster for this checkout.
#
#   scripts/devdb.sh packages [extra Debian packages]  install what is missing (root) or say how
#   scripts/devdb.sh start                              create the cluster once, start it, print DATABASE_URL
#   scripts/devdb.sh owner-url                          print DATABASE_OWNER_URL (after start)
#   scripts/devdb.sh restart [fast|immediate]           restart it (immediate: as after a crash)
#   scripts/devdb.sh stop                               stop it
#
# PostgreSQL refuses to run as root, so when called by root the cluster belongs to the
# unprivileged `postgres` user that Debian's package creates. It listens on 127.0.0.1 only.
# Two roles: `survey` owns the database and runs the migrations; the app connects as `survey_app`,
# which owns nothing, so it cannot drop the triggers or rewrite the audit log (migrations grant it the rest).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
data_root="${SURVEY_DATA_DIR:-$here/.data}"
port="${SURVEY_PG_PORT:-54329}"
pg_bin="/usr/lib/postgresql/15/bin"
db_user="survey"
app_user="survey_app"
db_name="survey"

say() { printf '%s\n' "$*" >&2; }

missing_packages() {
  local wanted=("$@") missing=()
  # With DATABASE_URL set, PostGIS runs elsewhere: only the client tools are needed here.
  if [ -z "${DATABASE_URL:-}" ]; then
    [ -x "$pg_bin/pg_ctl" ] || missing+=(postgresql-15)
    [ -f /usr/share/postgresql/15/extension/postgis.control ] || missing+=(postgresql-15-postgis-3)
  fi
  python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
  for pkg in "${wanted[@]}"; do
    case "$pkg" in
      chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
      npm) command -v npm >/dev/null 2>&1 || missing+=(npm) ;;
      *) dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg") ;;
    esac
  done
  printf '%s\n' "${missing[@]}"
}

cmd_packages() {
  mapfile -t missing < <(missing_packages "$@" | sed '/^$/d')
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    say "Missing Debian packages: ${missing[*]}"
    say "Install them as root, then run this command again:"
    say "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  say "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Debian starts a package's service on install (nginx on port 80, a PostgreSQL cluster on 5432); we run our own,
  # so services stay stopped while installing unless the machine already has a policy of its own.
  local policy=/usr/sbin/policy-rc.d own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -n "$own_policy" ] && rm -f "$policy"
  return 0
}

# Runs a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The cluster lives under .data/ unless root's checkout is not reachable by `postgres`
# (a checkout under /root, say); then it lives in postgres's home, keyed by this checkout.
cluster_dir() {
  local local_dir="$data_root/postgres"
  if [ "$(id -u)" -ne 0 ]; then echo "$local_dir"; return; fi
  mkdir -p "$data_root" && chmod 755 "$data_root"
  if runuser -u postgres -- test -x "$data_root" 2>/dev/null; then
    echo "$local_dir"
  else
    echo "/var/lib/postgresql/survey-$(printf '%s' "$here" | sha256sum | cut -c1-12)"
  fi
}

password_file() { echo "$data_root/db-password"; }
app_password_file() { echo "$data_root/db-app-password"; }

# A generated password, kept in the data folder, readable by us alone.
ensure_password() {
  [ -s "$1" ] || (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(24))' > "$1")
}

# The app's login role, made on every start so an existing cluster gets it too; its password follows the file.
# No privileges here: `flask db upgrade` grants them on every table it migrates.
ensure_app_role() {
  local pw
  pw=$(cat "$(app_password_file)")
  psql -h 127.0.0.1 -p "$port" -U "$db_user" -d postgres -qX -v ON_ERROR_STOP=1 -v role="$app_user" -v pw="$pw" >/dev/null <<'SQL'
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') AS missing \gset
\if :missing
CREATE ROLE :"role" LOGIN;
\endif
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'pw';
SQL
}

cmd_start() {
  local dir pwfile
  dir=$(cluster_dir)
  pwfile=$(password_file)
  mkdir -p "$data_root"
  ensure_password "$pwfile"
  ensure_password "$(app_password_file)"
  if [ ! -f "$dir/PG_VERSION" ]; then
    say "Creating the PostgreSQL cluster in $dir"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    chmod 700 "$dir"
    local tmp_pw
    tmp_pw=$(as_owner mktemp)
    cat "$pwfile" | as_owner tee "$tmp_pw" >/dev/null
    as_owner "$pg_bin/initdb" -D "$dir" -U "$db_user" --pwfile="$tmp_pw" \
      --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    as_owner rm -f "$tmp_pw"
  fi
  if ! as_owner "$pg_bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    say "Starting PostgreSQL on 127.0.0.1:$port"
    # Durability settings stay at their defaults (fsync, synchronous_commit, full_page_writes on). A transaction
    # left open and idle by anyone (a psql session, a script) holds back every device's pull feed, so the cluster
    # ends it after 5 minutes; the app's own sessions have shorter limits (server/config.py).
    as_owner "$pg_bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" start \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' -c max_connections=200 -c idle_in_transaction_session_timeout=5min" >/dev/null
  fi
  local pw
  pw=$(cat "$pwfile")
  export PGPASSWORD="$pw"
  if ! psql -h 127.0.0.1 -p "$port" -U "$db_user" -d postgres -tAc "select 1 from pg_database where datname='$db_name'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$port" -U "$db_user" -d postgres -qc "create database $db_name" >/dev/null
  fi
  ensure_app_role
  echo "postgresql+psycopg://$app_user:$(cat "$(app_password_file)")@127.0.0.1:$port/$db_name"
}

cmd_owner_url() {
  local pwfile
  pwfile=$(password_file)
  [ -s "$pwfile" ] || { say "No embedded cluster yet: run $0 start first."; exit 1; }
  echo "postgresql+psycopg://$db_user:$(cat "$pwfile")@127.0.0.1:$port/$db_name"
}

# A restart in the given shutdown mode (fast, or immediate: a crash, as reliability S8 asks); back when it accepts.
cmd_restart() {
  as_owner "$pg_bin/pg_ctl" -D "$(cluster_dir)" -m "${1:-fast}" -w -t 60 restart >/dev/null
}

cmd_stop() {
  local dir
  dir=$(cluster_dir)
  [ -f "$dir/PG_VERSION" ] && as_owner "$pg_bin/pg_ctl" -D "$dir" -m fast stop || true
}

case "${1:-}" in
  packages) shift; cmd_packages "$@" ;;
  start) cmd_start ;;
  owner-url) cmd_owner_url ;;
  restart) shift; cmd_restart "$@" ;;
  stop) cmd_stop ;;
  *) say "usage: $0 packages [pkg...] | start | owner-url | restart [fast|immediate] | stop"; exit 2 ;;
esac
