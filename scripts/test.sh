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

# Supply chain and static analysis (P6 of reliability.md): README.md, "Dependencies".
# bandit: medium and high findings in our code (not the tests); each waiver is a `# nosec BXXX` on its line.
# Its warning "nosec encountered ..., but no failed test" (another call on a waived line) is dropped, nothing else.
bandit -q -ll -r server sync core survey_forms schemas tools bench wsgi.py 2>&1 | { grep -v 'but no failed test' || true; }

# pip-audit: known vulnerabilities of the pinned packages; pip-audit-waivers.txt holds the IDs let pass, with reasons.
python scripts/audit_locks.py

# detect-secrets: no secret in any file git has or would add, but those of .secrets.baseline (the development-only
# keys of server/config.py, the tests' passwords). The hook is given a copy: it rewrites the baseline it reads.
mapfile -t files < <(git ls-files --cached --others --exclude-standard | while IFS= read -r f; do [ -f "$f" ] && echo "$f"; done)
baseline=$(mktemp)
cp .secrets.baseline "$baseline"
secrets_status=0
secrets_report=$(detect-secrets-hook --baseline "$baseline" "${files[@]}") || secrets_status=$?
rm -f "$baseline"
case $secrets_status in
  0) ;;
  3) echo "detect-secrets: nothing new; .secrets.baseline lists secrets that are gone (README.md, Dependencies, remakes it)" ;;
  *) echo "$secrets_report"; exit 1 ;;
esac

exec pytest "$@"
