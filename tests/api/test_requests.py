"""``/api/requests``: filters, pagination, scoping and bad parameters, on seeded records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from relayscope.record import LogRecord
from relayscope.testing.seeding import insert_records, make_record

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def make(org_id: str, minute: int, **fields) -> LogRecord:
    bodies = {"request_body": '{"q": 1}', "response_body": '{"a": 2}'}
    return make_record(org_id, BASE + timedelta(minutes=minute), **(bodies | fields))


@pytest.fixture
def seeded(gateway, org):
    o = org.org_id
    records = [
        make(o, 0, user_id="alice", properties={"feature": "search"}),
        make(o, 1, user_id="bob", session_id="s1", properties={"feature": "chat"}),
        make(o, 2, user_id="alice", session_id="s1", status=500, error="boom"),
        make(o, 3, provider="anthropic", request_model="claude-3-5-haiku-latest"),
        make(o, 4, request_name="nightly", properties={"feature": "chat", "tier": "gold"}),
        make(o, 5, status=429, prompt_id="greet", prompt_version=2),
    ]
    insert_records(gateway.database_url, records)
    return records


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["data"]]


def test_newest_first_without_bodies(gateway, org, seeded):
    with gateway.api(org) as api:
        body = api.get("/api/requests").json()
    assert [r["id"] for r in body["data"]] == [r.id for r in reversed(seeded)]
    assert body["next_cursor"] is None
    assert "request_body" not in body["data"][0]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("user_id=alice", [2, 0]),
        ("session_id=s1", [2, 1]),
        ("model=claude-3-5-haiku-latest", [3]),
        ("provider=anthropic", [3]),
        ("status=500", [2]),
        ("status=error", [5, 2]),
        ("property.feature=chat", [4, 1]),
        ("property.feature=chat&property.tier=gold", [4]),
        ("request_name=nightly", [4]),
        ("prompt_id=greet&prompt_version=2", [5]),
        ("from=2026-01-01T00:02:00Z&to=2026-01-01T00:04:00Z", [3, 2]),
        ("user_id=alice&status=success", [0]),
    ],
)
def test_filters(gateway, org, seeded, query, expected):
    with gateway.api(org) as api:
        assert ids(api.get(f"/api/requests?{query}")) == [seeded[i].id for i in expected]


def test_cursor_pagination_walks_every_record_once(gateway, org, seeded):
    seen, cursor = [], None
    with gateway.api(org) as api:
        for _ in range(10):
            params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
            body = api.get("/api/requests", params=params).json()
            seen += [r["id"] for r in body["data"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
    assert seen == [r.id for r in reversed(seeded)]


def test_single_record_has_bodies(gateway, org, seeded):
    with gateway.api(org) as api:
        data = api.get(f"/api/requests/{seeded[0].id}").json()["data"]
    assert data["request_body"] == {"q": 1}
    assert data["response_body"] == {"a": 2}
    assert data["properties"] == {"feature": "search"}


def test_unknown_id_is_404(gateway, org):
    with gateway.api(org) as api:
        response = api.get(f"/api/requests/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("status=teapot", "status"),
        ("status=1%C2%B23", "status"),  # "1²3": str.isdigit() but not int() (was a 500)
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("cursor=garbage!", "cursor"),
        ("colour=blue", "colour"),
        ("property.=x", "property."),
        ("prompt_version=x", "prompt_version"),
    ],
)
def test_bad_parameters_are_400_naming_them(gateway, org, query, param):
    with gateway.api(org) as api:
        response = api.get(f"/api/requests?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param
    assert f"'{param}'" in error["message"]


def test_api_needs_a_gateway_key(gateway):
    with gateway.http() as client:
        response = client.get("/api/requests")
    assert response.status_code == 401
    assert "Authorization" in response.json()["error"]["message"]
