"""``/api/requests`` pages both ways: ``cursor`` reads the page older than a page,
``after`` the page newer than it; walking back reproduces every page exactly, ties on
the timestamp included, on SQLite, Postgres and ClickHouse (chDB). The same holds
for every sort (time, latency, cost, tokens, either way), missing values included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from relayscope.record import LogRecord
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.seeding import make_record

BASE = datetime(2026, 4, 1, tzinfo=UTC)


def _records(org_id: str) -> list[LogRecord]:
    # 23 of alice, every third one sharing its timestamp with the one before; 4 of bob.
    # Latency, cost and tokens repeat too, and some costs and token counts are missing.
    alice = [
        make_record(
            org_id,
            BASE + timedelta(seconds=i - i // 3),
            user_id="alice",
            latency_ms=float(100 + (i * 37) % 9 * 10),
            cost_usd=None if i % 5 == 0 else round(0.0001 * ((i * 7) % 6), 6),
            total_tokens=None if i % 4 == 1 else (i * 11) % 8,
        )
        for i in range(23)
    ]
    bob = [make_record(org_id, BASE + timedelta(seconds=i), user_id="bob") for i in range(4)]
    return alice + bob


@pytest.fixture(scope="module")
def seeded(engine_gateway) -> tuple[AsgiGateway, OrgKey, list[LogRecord]]:
    org = engine_gateway.new_org()
    records = _records(org.org_id)
    engine_gateway.run(engine_gateway.gateway.logs.insert_requests(records))
    return engine_gateway, org, records


def _newest_first(records: list[LogRecord], user: str) -> list[str]:
    mine = [r for r in records if r.user_id == user]
    return [r.id for r in sorted(mine, key=lambda r: (r.created_at, r.id), reverse=True)]


def _get(api: httpx.Client, **params: str) -> dict:
    response = api.get("/api/requests", params=params)
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


@pytest.mark.parametrize("size", ["5", "1", "23", "40"])
def test_older_then_newer_pages_walk_back_the_same_way(seeded, size):
    gateway, org, records = seeded
    with gateway.api(org) as api:
        pages = [_get(api, user_id="alice", limit=size)]
        assert pages[0]["prev_cursor"] is None, "the newest page has nothing newer"
        while pages[-1]["next_cursor"]:
            pages.append(_get(api, user_id="alice", limit=size, cursor=pages[-1]["next_cursor"]))
            assert pages[-1]["prev_cursor"] is not None
        ids = [r["id"] for p in pages for r in p["data"]]
        assert ids == _newest_first(records, "alice")  # every record once, in order
        back = [pages[-1]]
        while back[-1]["prev_cursor"]:
            back.append(_get(api, user_id="alice", limit=size, after=back[-1]["prev_cursor"]))
        assert [[r["id"] for r in p["data"]] for p in reversed(back)] == [
            [r["id"] for r in p["data"]] for p in pages
        ]


def test_cursor_and_after_together_or_made_up_are_400(seeded):
    gateway, org, _records = seeded
    with gateway.api(org) as api:
        cursor = _get(api, limit="2")["next_cursor"]
        both = api.get("/api/requests", params={"cursor": cursor, "after": cursor})
        assert both.status_code == 400 and both.json()["error"]["param"] == "after"
        made_up = api.get("/api/requests", params={"after": "not-a-cursor"})
        assert made_up.status_code == 400 and made_up.json()["error"]["param"] == "after"


SORTS = {
    "time": "created_at",
    "latency": "latency_ms",
    "cost": "cost_usd",
    "tokens": "total_tokens",
}


def _expected(records: list[LogRecord], by: str, ascending: bool) -> list[str]:
    mine = [r for r in records if r.user_id == "alice"]

    def key(r: LogRecord) -> tuple[object, str]:
        value = getattr(r, SORTS[by])
        return (-1.0 if value is None else value, r.id)

    return [r.id for r in sorted(mine, key=key, reverse=not ascending)]


@pytest.mark.parametrize("by", list(SORTS))
@pytest.mark.parametrize("order", ["desc", "asc"])
def test_every_sort_pages_both_ways(seeded, by, order):
    gateway, org, records = seeded
    query = {"user_id": "alice", "limit": "4", "sort": by, "order": order}
    with gateway.api(org) as api:
        pages = [_get(api, **query)]
        while pages[-1]["next_cursor"]:
            pages.append(_get(api, **query, cursor=pages[-1]["next_cursor"]))
        assert [r["id"] for p in pages for r in p["data"]] == _expected(records, by, order == "asc")
        back = [pages[-1]]
        while back[-1]["prev_cursor"]:
            back.append(_get(api, **query, after=back[-1]["prev_cursor"]))
        assert [p["data"] for p in reversed(back)] == [p["data"] for p in pages]


def test_a_cursor_of_another_sort_or_a_bad_sort_is_400(seeded):
    gateway, org, _records = seeded
    with gateway.api(org) as api:
        by_cost = _get(api, sort="cost", limit="2")["next_cursor"]
        mixed = api.get("/api/requests", params={"sort": "latency", "cursor": by_cost})
        assert mixed.status_code == 400 and mixed.json()["error"]["param"] == "cursor"
        for params, param in (({"sort": "colour"}, "sort"), ({"order": "up"}, "order")):
            response = api.get("/api/requests", params=params)
            assert response.status_code == 400 and response.json()["error"]["param"] == param
