"""NUL characters are refused at the API's door with a 400 naming where they were,
on every store (Postgres text cannot hold them: they used to be 500s there)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("GET", "/api/requests?model=a%00b", None, "model"),
        ("GET", "/api/analytics/summary?user_id=%00", None, "user_id"),
        ("GET", "/api/requests/a%00b", None, "path"),
        ("DELETE", "/api/redaction-rules/x%00", None, "path"),
        ("POST", "/api/redaction-rules", b'{"kind": "pattern", "value": "a\\u0000"}', "body"),
        ("POST", "/api/alerts/channels", b'{"name": "a\x00", "type": "slack"}', "body"),
    ],
)
def test_nul_characters_are_a_400_naming_where(gateway, org, method, path, body, param):
    with gateway.api(org) as api:
        response = api.request(method, path, content=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and "NUL" in error["message"]


def test_bodies_without_nul_reach_the_route_intact(gateway, org):
    with gateway.api(org) as api:
        # An escaped backslash before "u0000" is text, not a NUL character.
        created = api.post("/api/redaction-rules", json={"kind": "pattern", "value": "x\\u0000"})
        assert created.status_code == 201, created.text
        assert created.json()["data"]["value"] == "x\\u0000"
        rules = api.get("/api/redaction-rules").json()["data"]
    assert [rule["value"] for rule in rules] == ["x\\u0000"]
