"""Configuration: the one place that reads the environment, with safe development defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from server import jsonb

DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 (refused in production)
# Development and tests only, refused in production: base64 of 32 bytes ("dev-only pii key, not a secret!").
DEV_PII_KEY = "ZGV2LW9ubHkgcGlpIGtleSwgbm90IGEgc2VjcmV0ISE="

# Names of the environment variables and their defaults; README.md lists them for operators.
DEFAULTS: dict[str, Any] = {
    "SURVEY_ENV": "development",
    "DATABASE_URL": "",  # make run / make test set it; there is no safe guess
    "SECRET_KEY": DEV_SECRET_KEY,
    "SESSION_COOKIE_SECURE": None,  # derived: on in production
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    "LOGIN_WINDOW_SECONDS": 15 * 60,
    "LOGIN_MAX_FAILURES_PER_ACCOUNT": 10,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 50,
    "TOKEN_TOUCH_SECONDS": 60,
    "DB_POOL_SIZE": 5,
    "TRUSTED_PROXIES": 0,  # reverse proxies in front of the app whose X-Forwarded-For is believed
    "ATTACHMENT_DIR": "",  # where attachment files are kept; empty: the app's instance folder
    "GPS_VILLAGE_DISTANCE_M": 2000,  # a visit this far outside its village's boundary is flagged
    "GPS_MOVED_DISTANCE_M": 200,  # a household this far from its known position is flagged
    "GPS_MAX_ACCURACY_M": 50,  # a fix less precise than this is flagged
    "PII_KEY": DEV_PII_KEY,  # base64 of 32 random bytes: encrypts ID-card numbers; keep it outside the database
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
    "DB_POOL_SIZE",
    "TRUSTED_PROXIES",
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
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    values.update(
        SQLALCHEMY_DATABASE_URI=url,
        # hide_parameters keeps submitted values (names, ID numbers) out of logged SQL errors.
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": values["DB_POOL_SIZE"], "pool_pre_ping": True, "hide_parameters": True,
                                   "json_serializer": jsonb.dumps},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
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
