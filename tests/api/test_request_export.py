"""``GET /api/requests/export``: the listing's filter, whole, as CSV or JSON Lines,
read a page at a time (in-process gateway, seeded records)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from relayscope.api.request_export import COLUMNS, PAGE_SIZE
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.seeding import insert_records, make_record

BASE = datetime(2026, 3, 1, tzinfo=UTC)
MANY = PAGE_SIZE * 2 + 37


@pytest.fixture
def gateway(tmp_path, store_url) -> Iterator[AsgiGateway]:
    with AsgiGateway(tmp_path, {"RELAYSCOPE_DATABASE_URL": store_url}) as gw:
        yield gw


@pytest.fixture
def seeded(gateway) -> tuple[OrgKey, list[str]]:
    """MANY records of alice (every 7th with an error) and a few of bob; another org's
    alice too. Returns alice's ids, newest first."""
    org, other = gateway.new_org(), gateway.new_org()
    mine = [
        make_record(
            org.org_id,
            BASE + timedelta(seconds=i),
            user_id="alice",
            properties={"feature": f"f{i % 3}", "note": 'quote " and, comma'},
            status=500 if i % 7 == 0 else 200,
            cost_usd=0.001 * i,
        )
        for i in range(MANY)
    ]
    bobs = [make_record(org.org_id, BASE, user_id="bob") for _ in range(3)]
    theirs = [make_record(other.org_id, BASE, user_id="alice") for _ in range(5)]
    insert_records(gateway.database_url, mine + bobs + theirs)
    return org, [r.id for r in sorted(mine, key=lambda r: r.created_at, reverse=True)]


def test_csv_holds_every_matching_request_across_pages(gateway, seeded):
    org, alice = seeded
    with gateway.api(org) as api:
        response = api.get("/api/requests/export", params={"format": "csv", "user_id": "alice"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == COLUMNS
    assert [row["id"] for row in rows] == alice  # all MANY, newest first, no other org
    newest = rows[0]
    assert json.loads(newest["properties"])["note"] == 'quote " and, comma'
    assert float(newest["cost_usd"]) == pytest.approx(0.001 * (MANY - 1))


def test_jsonl_applies_the_same_filters_as_the_listing(gateway, seeded):
    org, _alice = seeded
    query = {"user_id": "alice", "status": "error", "property.feature": "f1"}
    with gateway.api(org) as api:
        exported = api.get("/api/requests/export", params={**query, "format": "jsonl"})
        listed, more = [], {}
        while True:
            page = api.get("/api/requests", params={**query, "limit": 100, **more})
            listed += page.json()["data"]
            if page.json()["next_cursor"] is None:
                break
            more = {"cursor": page.json()["next_cursor"]}
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert lines == listed
    assert lines and all(r["status"] == 500 and r["properties"]["feature"] == "f1" for r in lines)


def test_an_empty_result_is_a_header_only_csv(gateway, seeded):
    org, _alice = seeded
    with gateway.api(org) as api:
        response = api.get("/api/requests/export", params={"user_id": "nobody"})
    assert response.text.splitlines() == [",".join(COLUMNS)]


@pytest.mark.parametrize(
    ("params", "param"),
    [({"format": "xlsx"}, "format"), ({"limit": "5"}, "limit"), ({"colour": "red"}, "colour")],
)
def test_bad_parameters_are_400_naming_them(gateway, seeded, params, param):
    org, _alice = seeded
    with gateway.api(org) as api:
        response = api.get("/api/requests/export", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_the_export_needs_a_key(gateway, seeded):
    with gateway.http() as client:
        assert client.get("/api/requests/export").status_code == 401
