"""GET /features/…: OGC API – Features (Part 1 Core, GeoJSON, OpenAPI 3.0) over the export layers, so QGIS and GDAL open
households, villages and indicators as live layers, read in the caller's scope and masked as every export is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, request, url_for
from flask_smorest import Blueprint

from schemas.features import (
    CollectionIdSchema,
    CollectionListSchema,
    CollectionSchema,
    ConformanceSchema,
    FeatureCollectionSchema,
    FeatureIdSchema,
    FeatureSchema,
    ItemsArgsSchema,
    LandingPageSchema,
    ReviewArgsSchema,
)
from server.api.guard import current_principal, requires
from server.extensions import db
from server.models import Action
from server.services.exports import features
from server.services.exports.datasets import ReviewFilter

blp = Blueprint("features", __name__, url_prefix="/api/v1",
                description="OGC API – Features: households, villages and indicator layers for QGIS and GDAL")
GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{name}" for name in ("core", "geojson", "oas30")]


def _link(href: str, rel: str, media_type: str, title: str | None = None) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, **({"title": title} if title else {})}


def _language() -> str:
    return request.accept_languages.best_match(["zh", "en"]) or "zh"


def _geojson(schema: Any, body: Any) -> Response:
    # GeoJSON's own media type, which QGIS and GDAL ask for; flask-smorest would answer application/json.
    return Response(current_app.json.dumps(schema.dump(body)), mimetype=GEOJSON)


def _collection(found: features.Collection) -> dict[str, Any]:
    """A collection titled in the caller's language (Accept-Language; Chinese unless English is preferred), described
    in the other."""
    layer, language = found.layer, _language()
    links = [_link(url_for("features.describe_collection", collection_id=layer.name, _external=True), "self", JSON),
             _link(url_for("features.items", collection_id=layer.name, _external=True), "items", GEOJSON,
                   layer.title[language])]
    body = {"id": layer.name, "title": layer.title[language], "description": layer.title["en" if language == "zh" else "zh"],
            "item_type": "feature", "crs": [CRS84], "links": links}
    if found.extent is not None:
        body["extent"] = {"spatial": {"bbox": [found.extent], "crs": CRS84}}
    return body


def _page_links(collection_id: str, cursor: str | None, following: str | None) -> list[dict[str, str]]:
    """self, collection and (unless this is the last page) next: the same filters, with the page's own cursor."""
    kept = {name: request.args[name] for name in ("limit", "bbox", "area_code", "review") if name in request.args}

    def page(at: str | None) -> str:
        return url_for("features.items", collection_id=collection_id, _external=True, **kept,
                       **({"cursor": at} if at else {}))

    links = [_link(page(cursor), "self", GEOJSON),
             _link(url_for("features.describe_collection", collection_id=collection_id, _external=True), "collection", JSON)]
    return links if following is None else [*links, _link(page(following), "next", GEOJSON)]


@blp.route("/features")
@requires(Action.export_data)
@blp.response(200, LandingPageSchema)
def landing_page():
    """The landing page: links to the API document, the conformance classes and the collections (QGIS and GDAL open
    this URL, with the token as an `Authorization: Bearer` header)."""
    return {"title": "村情调查 OGC API – Features", "description": "Households, villages and indicators of your areas.",
            "links": [_link(url_for("features.landing_page", _external=True), "self", JSON),
                      _link(url_for("api-docs.openapi_json", _external=True), "service-desc", OPENAPI),
                      _link(url_for("api-docs.openapi_swagger_ui", _external=True), "service-doc", "text/html"),
                      _link(url_for("features.conformance", _external=True), "conformance", JSON),
                      _link(url_for("features.list_collections", _external=True), "data", JSON)]}


@blp.route("/features/conformance")
@requires(Action.export_data)
@blp.response(200, ConformanceSchema)
def conformance():
    """The conformance classes: Part 1 Core, GeoJSON and OpenAPI 3.0."""
    return {"conforms_to": CONFORMANCE}


@blp.route("/features/collections")
@requires(Action.export_data)
@blp.response(200, CollectionListSchema)
def list_collections():
    """The layers you may open, titled by Accept-Language (zh, en), with the extent of your areas."""
    found = features.collections(db.session, current_principal())
    return {"links": [_link(url_for("features.list_collections", _external=True), "self", JSON)],
            "collections": [_collection(c) for c in found]}


@blp.route("/features/collections/<collection_id>")
@requires(Action.export_data)
@blp.arguments(CollectionIdSchema, location="path", as_kwargs=True)
@blp.response(200, CollectionSchema)
@blp.alt_response(404, description="No collection of that id")
def describe_collection(collection_id: str):
    """One layer: its title, extent and items link."""
    return _collection(features.collection(db.session, current_principal(), collection_id))


@blp.route("/features/collections/<collection_id>/items")
@requires(Action.export_data)
@blp.arguments(CollectionIdSchema, location="path", as_kwargs=True)
@blp.arguments(ItemsArgsSchema, location="query")
@blp.response(200, FeatureCollectionSchema, content_type=GEOJSON)
@blp.alt_response(404, description="No collection of that id, or the area is not in your areas")
def items(args, collection_id: str):
    """A page of the layer's features in your areas (and the bbox), by key; `next` links to the following page."""
    found = features.page(db.session, current_principal(), collection_id, area_code=args["area_code"],
                          review=ReviewFilter(args["review"]), bbox=args["bbox"], cursor=args["cursor"],
                          limit=args["limit"])
    body = {"features": found.features, "links": _page_links(collection_id, args["cursor"], found.cursor),
            "number_returned": len(found.features), "time_stamp": datetime.now(UTC)}
    if found.number_matched is not None:
        body["number_matched"] = found.number_matched
    return _geojson(FeatureCollectionSchema(), body)


@blp.route("/features/collections/<collection_id>/items/<feature_id>")
@requires(Action.export_data)
@blp.arguments(FeatureIdSchema, location="path", as_kwargs=True)
@blp.arguments(ReviewArgsSchema, location="query")
@blp.response(200, FeatureSchema, content_type=GEOJSON)
@blp.alt_response(404, description="No such feature in your areas")
def feature(args, collection_id: str, feature_id: str):
    """One feature of the layer by its id."""
    return _geojson(FeatureSchema(), features.feature(db.session, current_principal(), collection_id, feature_id,
                                                      ReviewFilter(args["review"])))
