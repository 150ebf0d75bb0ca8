from __future__ import annotations

import pytest
from django.test import Client

from helpline.core.api_testing import assert_matches_schema, find_operation, openapi_spec


def test_the_whole_openapi_document_validates():
    # openapi_spec() runs openapi-spec-validator on the served document
    spec = openapi_spec()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/tokens" in spec["paths"]
    assert set(spec["components"]["securitySchemes"]) >= {"TokenAuth", "SessionAuth"}


def test_every_operation_documents_the_error_shape():
    spec = openapi_spec()
    for operations in spec["paths"].values():
        for operation in operations.values():
            default = operation["responses"]["default"]
            assert default["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorOut"
            }


def test_docs_page_is_served_without_a_cdn():
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html


def test_schema_checker_catches_undocumented_bodies(client, desk):
    # Given a real response of one operation, checked as if it came from another
    client.force_login(desk.agent1)
    response = client.get("/api/v1/tokens")
    assert response.status_code == 200
    assert find_operation("get", "/api/v1/tokens") is not None
    assert_matches_schema("get", "/api/v1/tokens", response)
    response.content = b'{"items": [{"id": "one"}], "next_cursor": null}'
    with pytest.raises(AssertionError, match="does not match"):
        assert_matches_schema("get", "/api/v1/tokens", response)
    response.status_code = 201
    with pytest.raises(AssertionError, match="not documented"):
        assert_matches_schema("get", "/api/v1/tokens", response)
