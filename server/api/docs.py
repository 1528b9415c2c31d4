"""Serves the Swagger UI files from the swagger-ui-bundle package, so the docs work offline."""

from flask import Blueprint
from swagger_ui_bundle import swagger_ui_path

static_files = Blueprint(
    "swagger_ui_static", __name__, static_folder=swagger_ui_path, static_url_path="/api/v1/docs/static"
)
