"""The OpenAPI document is generated from the schemas and served with browsable docs."""


def test_openapi_document_lists_the_operations_and_the_error_shape(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {"/healthz", "/api/v1/auth/device-tokens", "/api/v1/auth/device-tokens/{token_id}", "/api/v1/me",
            "/api/v1/areas", "/api/v1/areas/{code}"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["$ref"].endswith("ErrorBody")
    login = spec["paths"]["/api/v1/auth/device-tokens"]["post"]
    assert login["security"] == [] and {"201", "401", "422", "429"} <= set(login["responses"])
    assert "password" in spec["components"]["schemas"]["DeviceTokenRequest"]["properties"]


def test_docs_page_and_its_files_are_served_locally(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and b"swagger" in page.data.lower()
    assert b"/api/v1/docs/static/swagger-ui-bundle.js" in page.data
    assert client.get("/api/v1/docs/static/swagger-ui-bundle.js").status_code == 200
