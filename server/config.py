"""Configuration: the one place that reads the environment, with safe development defaults."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import make_url

from server import jsonb

DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 (refused in production)
# Development and tests only, refused in production: base64 of 32 bytes ("dev-only pii key, not a secret!").
DEV_PII_KEY = "ZGV2LW9ubHkgcGlpIGtleSwgbm90IGEgc2VjcmV0ISE="
# Development and tests only, refused in production: base64 of 32 bytes ("dev-only backup key, not secret!").
DEV_BACKUP_KEY = "ZGV2LW9ubHkgYmFja3VwIGtleSwgbm90IHNlY3JldCE="

# Names of the environment variables and their defaults; README.md lists them for operators.
DEFAULTS: dict[str, Any] = {
    "SURVEY_ENV": "development",
    "DATABASE_URL": "",  # make run / make test set it; there is no safe guess
    # The role that owns the tables and runs `flask db upgrade`; empty: DATABASE_URL's role does both, and can
    # then rewrite the audit log. Read by the migrations only; the running server needs no owner's password.
    "DATABASE_OWNER_URL": "",
    "SECRET_KEY": DEV_SECRET_KEY,
    "SESSION_COOKIE_SECURE": None,  # derived: on in production
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    "LOGIN_WINDOW_SECONDS": 15 * 60,
    "LOGIN_MAX_FAILURES_PER_ACCOUNT": 10,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 50,
    "TOKEN_TOUCH_SECONDS": 60,  # how often a device token's or web session's last_seen_at is written
    "DEVICE_TOKEN_IDLE_DAYS": 30,  # a device token unused this long answers 401 token_expired; the device signs in again
    "SESSION_IDLE_SECONDS": 60 * 60,  # a browser session unused this long has ended
    "SESSION_MAX_SECONDS": 12 * 60 * 60,  # a browser session ends this long after sign-in, used or not
    "DB_POOL_SIZE": 5,
    "QUARANTINE_PER_DEVICE_DAY": 500,  # invalid submissions a device may leave on the server a day; more stay on it
    # Before a case's risk is eliminated (domain.md 3.13): how long its public notice (公示) runs, and how many months
    # the household's income per head must have stayed above the monitoring line in its accepted visits.
    "ELIMINATION_NOTICE_DAYS": 7,
    "ELIMINATION_MONTHS_ABOVE_LINE": 6,
    # Limits on the app's own database sessions, so that nothing it does can hold others up for long: a statement
    # (the longest, a rebuild batch, takes a few seconds), a wait for a row lock (a push then answers 503 with
    # Retry-After and the device retries), and a transaction left open and idle (it would hold back the pull feed).
    "DB_STATEMENT_TIMEOUT_MS": 60_000,
    "DB_LOCK_TIMEOUT_MS": 10_000,
    "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": 30_000,
    "TRUSTED_PROXIES": 0,  # reverse proxies in front of the app whose X-Forwarded-For is believed
    # Behind a trusted proxy: a request that waited longer than this for a worker is answered 503 + Retry-After.
    "QUEUE_TIMEOUT_MS": 5_000,
    "ATTACHMENT_DIR": "",  # where attachment files are kept; empty: the app's instance folder
    # Where export files are made and kept until downloaded; empty: the app's instance folder. Every app process of
    # one server must see the same folder (a job made by one process is downloaded through any).
    "EXPORT_DIR": "",
    "EXPORT_KEEP_HOURS": 24,  # how long a finished export's file stays to be downloaded (and resumed)
    # Rows above which GET /exports/{dataset} answers export_too_large and the reader asks a job instead.
    "EXPORT_DIRECT_MAX_ROWS": 50_000,
    "GPS_VILLAGE_DISTANCE_M": 2000,  # a visit this far outside its village's boundary is flagged
    "GPS_MOVED_DISTANCE_M": 200,  # a household this far from its known position is flagged
    "GPS_MAX_ACCURACY_M": 50,  # a fix less precise than this is flagged
    "PII_KEY": DEV_PII_KEY,  # base64 of 32 random bytes: seals ID-card and phone numbers; keep it outside the database
    # Keys still read during a rotation (comma-separated base64): `flask pii rotate` re-seals under PII_KEY, then
    # they are removed. Key ids are derived from the keys (core/pii.py), never configured.
    "PII_OLD_KEYS": "",
    # base64 of 32 random bytes: encrypts `flask backup` archives. Its own key, not PII_KEY: a backup travels off the
    # machine, and the web workers never need it, so it is checked where backups are made (backup_key), not at start.
    "BACKUP_KEY": DEV_BACKUP_KEY,
    # The review map's background: an XYZ tile address such as https://tiles.example.cn/{z}/{x}/{y}.png, whose host
    # the pages' CSP then allows; empty, the map draws our own area boundaries on a plain background.
    "MAP_TILE_URL": "",
    "MAP_TILE_ATTRIBUTION": "",
    # The field app's release name, which names its worker's cache: empty, a digest of the app's files, so each
    # release installs itself on the phones (server/fieldapp). Set it to roll phones to a given release by hand.
    "FIELD_APP_BUILD": "",
    # Where `npm ci` installed the front-end libraries of package-lock.json that server/web/vendor.py serves.
    "FRONTEND_PACKAGES_DIR": os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node_modules"),
}

_INTEGERS = {
    "GPS_VILLAGE_DISTANCE_M",
    "GPS_MOVED_DISTANCE_M",
    "GPS_MAX_ACCURACY_M",
    "MAX_CONTENT_LENGTH",
    "LOGIN_WINDOW_SECONDS",
    "LOGIN_MAX_FAILURES_PER_ACCOUNT",
    "LOGIN_MAX_FAILURES_PER_ADDRESS",
    "TOKEN_TOUCH_SECONDS",
    "DEVICE_TOKEN_IDLE_DAYS",
    "SESSION_IDLE_SECONDS",
    "SESSION_MAX_SECONDS",
    "DB_POOL_SIZE",
    "QUARANTINE_PER_DEVICE_DAY",
    "ELIMINATION_NOTICE_DAYS",
    "ELIMINATION_MONTHS_ABOVE_LINE",
    "DB_STATEMENT_TIMEOUT_MS",
    "DB_LOCK_TIMEOUT_MS",
    "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
    "TRUSTED_PROXIES",
    "QUEUE_TIMEOUT_MS",
    "EXPORT_KEEP_HOURS",
    "EXPORT_DIRECT_MAX_ROWS",
}


class ConfigError(RuntimeError):
    """The configuration cannot be used (for example a development secret in production)."""


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values = dict(DEFAULTS)
    for name in DEFAULTS:
        if name in environ and environ[name] != "":
            values[name] = _integer(name, environ[name]) if name in _INTEGERS else environ[name]
    return values


def _integer(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError as error:
        raise ConfigError(f"{name} must be a whole number, not {text!r}") from error


def _with_driver(url: str) -> str:
    # A plain postgresql:// URL is accepted, and reaches SQLAlchemy with the driver we install.
    return "postgresql+psycopg://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url


def backup_key(values: Mapping[str, Any]) -> bytes:
    """The 32 bytes of BACKUP_KEY, for `flask backup` and `flask restore` only.

    Raises:
        ConfigError: the development key in production, or a value that is not 32 bytes of base64.
    """
    if values["SURVEY_ENV"] == "production" and values["BACKUP_KEY"] == DEV_BACKUP_KEY:
        raise ConfigError("生产环境不能使用开发用的 BACKUP_KEY · BACKUP_KEY must be set to 32 private random bytes, "
                          "base64 (openssl rand -base64 32), when SURVEY_ENV=production; keep a copy away from the backups")
    try:
        key = base64.b64decode(values["BACKUP_KEY"], validate=True)
    except (binascii.Error, ValueError) as error:
        raise ConfigError("BACKUP_KEY 不是 base64 · BACKUP_KEY is not base64 (openssl rand -base64 32)") from error
    if len(key) != 32:
        raise ConfigError(f"BACKUP_KEY 应为 32 字节 · BACKUP_KEY must be 32 bytes, base64; it is {len(key)}")
    return key


def _session_limits(values: Mapping[str, Any]) -> str:
    """libpq `options` that set the timeouts on every connection the app opens (0 turns one off), and turn off
    PostgreSQL's JIT: PostGIS costs its functions so high that a map tile's plan crosses jit_above_cost, and compiling
    it took longer than running it (bench/review_bench.py: a county's tile 187 ms with JIT, 64 ms without)."""
    return " ".join(f"-c {name}={values[key]}" for name, key in (
        ("statement_timeout", "DB_STATEMENT_TIMEOUT_MS"), ("lock_timeout", "DB_LOCK_TIMEOUT_MS"),
        ("idle_in_transaction_session_timeout", "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"))) + " -c jit=off"


def load(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config from the environment, then apply overrides (tests pass a mapping).

    Raises:
        ConfigError: production is asked for with the development secret.
    """
    values = _from_environment(os.environ if environ is None else environ)
    values.update(overrides or {})
    production = values["SURVEY_ENV"] == "production"
    if production and values["SECRET_KEY"] == DEV_SECRET_KEY:
        raise ConfigError("SECRET_KEY must be set to a private random value when SURVEY_ENV=production")
    if production and values["PII_KEY"] == DEV_PII_KEY:
        raise ConfigError("PII_KEY must be set to 32 private random bytes, base64 (openssl rand -base64 32), "
                          "when SURVEY_ENV=production")
    if values["SESSION_COOKIE_SECURE"] is None:
        values["SESSION_COOKIE_SECURE"] = production
    elif isinstance(values["SESSION_COOKIE_SECURE"], str):
        values["SESSION_COOKIE_SECURE"] = values["SESSION_COOKIE_SECURE"].lower() in {"1", "true", "yes"}
    url = values["DATABASE_URL"]
    if not url:
        raise ConfigError(
            "DATABASE_URL is not set. `make run` and `make test` set it for the embedded database; "
            "in a shell: export DATABASE_URL=$(scripts/devdb.sh start)"
        )
    url, owner_url = _with_driver(url), _with_driver(values["DATABASE_OWNER_URL"])
    if owner_url and make_url(owner_url).database != make_url(url).database:
        raise ConfigError("DATABASE_OWNER_URL must name the same database as DATABASE_URL: "
                          "the owner migrates the database that the app uses")
    values.update(
        SQLALCHEMY_DATABASE_URI=url,
        MIGRATIONS_DATABASE_URI=owner_url,  # empty: the migrations run on the app's own connection
        # hide_parameters keeps submitted values (names, ID numbers) out of logged SQL errors.
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": values["DB_POOL_SIZE"], "pool_pre_ping": True, "hide_parameters": True,
                                   "json_serializer": jsonb.dumps, "connect_args": {"options": _session_limits(values)}},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The cookie dies with the session's absolute limit, and its expiry is not pushed on by each request;
        # the server-side row (server/services/web_sessions.py) is what really decides.
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=values["SESSION_MAX_SECONDS"]),
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=None,
        API_TITLE="Village field survey API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/static/",
    )
    return values
