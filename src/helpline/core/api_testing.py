"""Test helpers for the REST API: every call is checked against the OpenAPI document.

    from helpline.core.api_testing import api_call

    def test_agent_lists_users(client, desk):
        response = api_call(client, "get", "/api/v1/users", user=desk.agent1, expect=200)
        assert ...response.json()...

`api_call` sends the request (JSON body, query parameters, a session via `user=` or a
personal token via `token=`), finds the documented operation for the path and method,
and asserts the response body validates against the schema documented for its status
code (errors: the operation's `default` response, the one error shape). An undocumented
success status, or a body that does not match, fails the test. The whole document is
validated with openapi-spec-validator once per test process.
"""

from __future__ import annotations

import functools
import json as jsonlib
import re
from typing import Any

from django.test import Client
from jsonschema import Draft202012Validator, FormatChecker

API_PREFIX = "/api/v1"


@functools.cache
def openapi_spec() -> dict[str, Any]:
    """The API's OpenAPI document, validated (computed once per test process)."""
    from openapi_spec_validator import validate

    response = Client().get(f"{API_PREFIX}/openapi.json")
    assert response.status_code == 200, response.content
    spec: dict[str, Any] = response.json()
    validate(spec)
    return spec


def _path_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(f"^{regex}$")


def find_operation(method: str, path: str) -> dict[str, Any] | None:
    """The documented operation for `method` and a concrete `path` (literal paths first)."""
    paths = openapi_spec()["paths"]
    candidates = sorted(paths, key=lambda template: template.count("{"))
    for template in candidates:
        if _path_regex(template).match(path):
            operation: dict[str, Any] | None = paths[template].get(method.lower())
            if operation is not None:
                return operation
    return None


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    root = {**schema, "components": openapi_spec().get("components", {})}
    return Draft202012Validator(root, format_checker=FormatChecker())


def _error_schema() -> dict[str, Any]:
    return {"$ref": "#/components/schemas/ErrorOut"}


def assert_matches_schema(method: str, path: str, response: Any) -> None:
    """Assert `response` to `method path` is what the OpenAPI document promises."""
    status = response.status_code
    path = path.split("?", 1)[0]
    operation = find_operation(method, path)
    if operation is None:
        assert status in (404, 405), f"{method.upper()} {path} is not documented ({status})"
        schema: dict[str, Any] | None = _error_schema()
    else:
        responses = operation["responses"]
        documented = responses.get(str(status))
        if documented is None:
            assert status >= 400, f"{method.upper()} {path}: status {status} is not documented"
            documented = responses["default"]
        content = documented.get("content") or {}
        schema = content.get("application/json", {}).get("schema")
    if schema is None:
        assert not response.content, f"{method.upper()} {path}: undocumented body"
        return
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = jsonlib.loads(response.content)
    errors = sorted(_validator(schema).iter_errors(body), key=lambda error: list(error.path))
    assert not errors, f"{method.upper()} {path} ({status}) does not match its schema:\n" + (
        "\n".join(f"  at {list(error.path)}: {error.message}" for error in errors)
    )


def api_call(
    client: Client,
    method: str,
    path: str,
    *,
    user: Any = None,
    token: str | None = None,
    json: Any = None,
    query: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    expect: int | None = None,
) -> Any:
    """Call the API and check the response against the OpenAPI document.

    `user` signs the client in (a session); `token` sends `Authorization: Bearer <token>`;
    `json` is sent as the JSON body; `query` as query parameters; `expect` asserts the
    status code. Returns the Django test response (use `.json()`).
    """
    if user is not None:
        client.force_login(user)
    extra = dict(headers or {})
    if token is not None:
        extra["Authorization"] = f"Bearer {token}"
    if not path.startswith(API_PREFIX):
        path = f"{API_PREFIX}{path}"
    verb = method.lower()
    if json is not None:
        if query:
            path = f"{path}?{_urlencode(query)}"
        response = client.generic(
            verb.upper(),
            path,
            data=jsonlib.dumps(json),
            content_type="application/json",
            headers=extra,
        )
    elif verb == "get":
        response = client.get(path, data=query or {}, headers=extra)
    else:
        if query:
            path = f"{path}?{_urlencode(query)}"
        response = client.generic(verb.upper(), path, headers=extra)
    if expect is not None:
        assert response.status_code == expect, (
            f"{verb.upper()} {path}: expected {expect}, got {response.status_code}: "
            f"{response.content[:500]!r}"
        )
    assert_matches_schema(verb, path, response)
    return response


def _urlencode(query: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode(query, doseq=True)
