"""Configuration: safe defaults, and refusals with a clear reason."""

import pytest

from server import config

DB = {"DATABASE_URL": "postgresql://u:p@127.0.0.1:5432/db"}


def test_defaults_work_for_development_and_normalise_the_driver():
    values = config.load(DB)
    assert values["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@127.0.0.1:5432/db"
    assert values["SESSION_COOKIE_SECURE"] is False and values["LOGIN_MAX_FAILURES_PER_ACCOUNT"] == 10


def test_production_refuses_the_development_secret_and_secures_cookies():
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.load(DB | {"SURVEY_ENV": "production"})
    with pytest.raises(config.ConfigError, match="PII_KEY"):
        config.load(DB | {"SURVEY_ENV": "production", "SECRET_KEY": "a-long-private-value"})
    values = config.load(DB | {"SURVEY_ENV": "production", "SECRET_KEY": "a-long-private-value",
                               "PII_KEY": "cHJpdmF0ZSBrZXkgb2YgdGhpcyBpbnN0YWxsYXRpb24="})
    assert values["SESSION_COOKIE_SECURE"] is True


def test_missing_database_url_and_bad_numbers_are_named():
    with pytest.raises(config.ConfigError, match="DATABASE_URL is not set"):
        config.load({})
    with pytest.raises(config.ConfigError, match="LOGIN_WINDOW_SECONDS must be a whole number"):
        config.load(DB | {"LOGIN_WINDOW_SECONDS": "fifteen minutes"})


def test_the_owner_url_is_for_the_migrations_of_the_same_database():
    assert config.load(DB)["MIGRATIONS_DATABASE_URI"] == ""  # one role: migrations use the app's connection
    values = config.load(DB | {"DATABASE_OWNER_URL": "postgresql://owner:q@127.0.0.1:5432/db"})
    assert values["MIGRATIONS_DATABASE_URI"] == "postgresql+psycopg://owner:q@127.0.0.1:5432/db"
    with pytest.raises(config.ConfigError, match="DATABASE_OWNER_URL must name the same database as DATABASE_URL"):
        config.load(DB | {"DATABASE_OWNER_URL": "postgresql://owner:q@127.0.0.1:5432/other"})
