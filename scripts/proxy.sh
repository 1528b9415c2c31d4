#!/usr/bin/env bash
# The reverse proxy (deploy/nginx.conf) in front of gunicorn, in the foreground: `make run` and the live tests use it.
#
#   scripts/proxy.sh <listen host:port> <gunicorn host:port> <state dir>
#
# The state dir holds the filled-in configuration, the pid file, the error log and (when not root) the
# temporary files of request bodies. As root, nginx's workers run as Debian's www-data and keep their
# temporary files under /var/lib/nginx, which the package made for them.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
listen=$1 upstream=$2 state=$3
mkdir -p "$state"
if [ "$(id -u)" -eq 0 ]; then
  user_line="user www-data;" temp=/var/lib/nginx/survey
else
  user_line="" temp="$state/tmp"
fi
mkdir -p "$temp"
sed -e "s|@USER_LINE@|$user_line|" -e "s|@STATE@|$state|g" -e "s|@TEMP@|$temp|g" \
    -e "s|@LISTEN@|$listen|" -e "s|@UPSTREAM@|$upstream|" "$here/deploy/nginx.conf" > "$state/nginx.conf"
# -e: the error log before the configuration is read (the default under /var/log needs root).
exec /usr/sbin/nginx -e "$state/error.log" -c "$state/nginx.conf" -g "daemon off;"
