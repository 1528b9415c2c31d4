"""The OpenAPI document is generated from the schemas and served with browsable docs."""


def test_openapi_document_lists_the_operations_and_the_error_shape(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {"/healthz", "/api/v1/auth/device-tokens", "/api/v1/auth/device-tokens/{token_id}", "/api/v1/me",
            "/api/v1/areas", "/api/v1/areas/{code}", "/api/v1/forms",
            "/api/v1/forms/{form_id}/versions/{version}"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["$ref"].endswith("ErrorBody")
    login = spec["paths"]["/api/v1/auth/device-tokens"]["post"]
    assert login["security"] == [] and {"201", "401", "422", "429"} <= set(login["responses"])
    assert "password" in spec["components"]["schemas"]["DeviceTokenRequest"]["properties"]
    listing = spec["paths"]["/api/v1/forms"]["get"]
    # Secured by the document-wide bearerAuth requirement (only public operations override it).
    assert {"200", "304"} <= set(listing["responses"]) and "security" not in listing
    assert spec["security"] == [{"bearerAuth": []}]


def test_docs_page_and_its_files_are_served_locally(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and b"swagger" in page.data.lower()
    assert b"/api/v1/docs/static/swagger-ui-bundle.js" in page.data
    assert client.get("/api/v1/docs/static/swagger-ui-bundle.js").status_code == 200
