"""The explorer's total: the number of requests the filter matches, on SQLite,
Postgres and ClickHouse (chDB), never another org's. A row store reads a bounded
number of the newest records; past them the rollups answer exactly when the filter
allows, and otherwise the page shows an estimate, marked as such."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from relayscope.dashboard import explorer
from relayscope.record import LogRecord
from relayscope.store.base import RequestFilter
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.seeding import make_record

BASE = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)


def _records(org_id: str) -> list[LogRecord]:
    # 23 of alice over two hours (gpt-4o for every third), 4 of bob tagged feature=chat.
    alice = [
        make_record(
            org_id,
            BASE + timedelta(minutes=5 * i),
            user_id="alice",
            request_model="gpt-4o" if i % 3 == 0 else "gpt-4o-mini",
        )
        for i in range(23)
    ]
    bob = [
        make_record(
            org_id, BASE + timedelta(minutes=i), user_id="bob", properties={"feature": "chat"}
        )
        for i in range(4)
    ]
    return alice + bob


@pytest.fixture(scope="module")
def seeded(engine_gateway, engine) -> tuple[AsgiGateway, OrgKey, str]:
    org, other = engine_gateway.new_org(), engine_gateway.new_org()
    logs = engine_gateway.gateway.logs
    engine_gateway.run(logs.insert_requests(_records(org.org_id)))
    engine_gateway.run(logs.insert_requests(_records(other.org_id)))  # never counted
    return engine_gateway, org, engine


CASES = [
    (RequestFilter(), 27),
    (RequestFilter(user_id="alice"), 23),
    (RequestFilter(user_id="alice", model="gpt-4o"), 8),
    (RequestFilter(properties=(("feature", "chat"),)), 4),
    (RequestFilter(since=BASE + timedelta(minutes=30), until=BASE + timedelta(minutes=60)), 6),
    (RequestFilter(user_id="nobody"), 0),
]


@pytest.mark.parametrize(("filters", "expected"), CASES)
def test_count_matching_counts_the_orgs_matching_requests(seeded, filters, expected):
    gateway, org, _engine = seeded
    logs = gateway.gateway.logs
    counted = gateway.run(logs.count_matching(org.org_id, filters, scan=1000))
    assert counted.exact and counted.matched == expected


def test_a_row_store_reads_the_newest_records_only_and_a_column_store_all(seeded):
    gateway, org, engine = seeded
    logs = gateway.gateway.logs
    gpt4o = RequestFilter(model="gpt-4o")
    counted = gateway.run(logs.count_matching(org.org_id, gpt4o, scan=5))
    if engine != "clickhouse":
        # The 5 newest are alice's 18th to 22nd: gpt-4o on the 18th and the 21st.
        assert (counted.matched, counted.sampled, counted.exact) == (2, 5, False)
    else:
        assert (counted.matched, counted.exact) == (8, True)
    counted = gateway.run(logs.count_matching(org.org_id, gpt4o, scan=27))
    assert (counted.matched, counted.exact) == (8, True)


@contextmanager
def _signed_in(gateway: AsgiGateway, org: OrgKey) -> Iterator[httpx.Client]:
    """A dashboard client with a session cookie (sent by hand: the in-process URL is
    plain http, where a cookie jar holds back the Secure cookie)."""
    with gateway.http() as client:
        yield _sign_in(client, org)


def _sign_in(client: httpx.Client, org: OrgKey) -> httpx.Client:
    form = client.get("/dashboard/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    signed = client.post(
        "/dashboard/signin",
        data={"csrf_token": token.group(1), "key": org.key},
        headers={"Cookie": f"relayscope_signin_csrf={form.cookies['relayscope_signin_csrf']}"},
    )
    assert signed.status_code == 303, signed.text
    client.headers["Cookie"] = f"relayscope_session={signed.cookies['relayscope_session']}"
    return client


def _total(client: httpx.Client, **params: str) -> str:
    page = client.get("/dashboard/requests", params=params)
    assert page.status_code == 200, page.text
    found = re.search(r'<p id="total"[^>]*>([^<]+)</p>', page.text)
    assert found is not None, "the explorer shows a total"
    return found.group(1).strip()


def test_the_explorer_shows_the_total_under_its_filter(seeded):
    gateway, org, _engine = seeded
    with _signed_in(gateway, org) as client:
        assert _total(client) == "27 requests"
        assert _total(client, user_id="alice") == "23 requests"
        assert _total(client, user_id="alice", model="gpt-4o", limit="5") == "8 requests"
        assert _total(client, user_id="nobody") == "0 requests"
        # Its rows come from the log store, and so does the page each one links to.
        listing = client.get("/dashboard/requests", params={"user_id": "bob"}).text
        first = re.search(r'data-id="([^"]+)"', listing)
        assert first is not None
        detail = client.get(f"/dashboard/requests/{first.group(1)}")
        assert detail.status_code == 200
        assert "bob" in detail.text


def test_past_the_scan_rollups_answer_or_the_page_shows_an_estimate(seeded, monkeypatch):
    gateway, org, engine = seeded
    monkeypatch.setattr(explorer, "COUNT_SCAN", 5)
    with _signed_in(gateway, org) as client:
        # One user, or no filter, with a time range cutting hours: the rollups' whole
        # hours plus the log's partial ones, exact.
        assert _total(client, user_id="alice") == "23 requests"
        assert _total(client, **{"from": "2026-04-01T09:40:00Z", "to": "2026-04-01T11:10:00Z"}) == (
            "18 requests"
        )
        # A model alone is read from the per-model rollups.
        assert _total(client, model="gpt-4o") == "8 requests"
        # A model with a user is not (users are left out of them): 2 of the 5 newest,
        # of 27 requests in all.
        expected = "About 11 requests (estimate)" if engine != "clickhouse" else "8 requests"
        assert _total(client, user_id="alice", model="gpt-4o") == expected
