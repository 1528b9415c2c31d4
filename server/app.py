"""The application factory: it loads config, binds extensions and registers blueprints, nothing more."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from core.pii import Protector
from server import cli, config, middleware
from server.api import docs, register_api
from server.bodies import GzipRequests, StrictJSONProvider
from server.extensions import api, csrf, db, migrate
from server.fieldapp import blueprint as field_app
from server.services.exports import jobs
from server.web import blueprint as web_blueprint
from server.web import vendor
from sync.blobs import FileBlobStore
from sync.flags import Limits

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(config.load(overrides=overrides))
    app.json = StrictJSONProvider(app)
    app.wsgi_app = GzipRequests(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])
    attachment_dir = app.config["ATTACHMENT_DIR"] or str(Path(app.instance_path) / "attachments")
    app.extensions["blob_store"] = FileBlobStore(Path(attachment_dir))
    export_dir = Path(app.config["EXPORT_DIR"] or Path(app.instance_path) / "exports")
    app.extensions["export_worker"] = jobs.Worker(app, export_dir)
    app.extensions["pii"] = Protector.from_base64(app.config["PII_KEY"], app.config["PII_OLD_KEYS"])
    app.extensions["check_limits"] = Limits(app.config["GPS_VILLAGE_DISTANCE_M"], app.config["GPS_MOVED_DISTANCE_M"],
                                            app.config["GPS_MAX_ACCURACY_M"])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    csrf.init_app(app)
    api.init_app(app, spec_kwargs={"security": [{"bearerAuth": []}]})
    middleware.init_app(app)
    register_api(api)
    app.register_blueprint(docs.static_files)
    app.register_blueprint(web_blueprint)
    app.register_blueprint(vendor.blueprint)
    app.register_blueprint(field_app)
    cli.register(app)
    return app
