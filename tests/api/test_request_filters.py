"""Any-case text filters on ``/api/requests`` (``<field>.is``, ``<field>.contains``,
``property_is.<name>``, ``property_contains.<name>``) on SQLite, Postgres and
ClickHouse (chDB): letter case does not matter, ``%`` and ``_`` are plain characters,
the exact parameters keep their meaning, and another org's requests never match.
The analytics API honours the same filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from relayscope.record import LogRecord
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.seeding import make_record

BASE = datetime(2026, 4, 1, tzinfo=UTC)

ROWS = [
    # (user, model, request name, feature property)
    ("ada", "gpt-4o", "Summarise Ticket", "Checkout-Flow"),
    ("Ada", "gpt-4o-mini", "summarise ticket", "checkout"),
    ("ADA.Lovelace", "claude-3-haiku", "Translate", "search"),
    ("a%b", "GPT-4O", None, None),
    ("axb", "claude-3-haiku", None, "50%_off"),
    ("a_c", "claude-3-haiku", None, "50x off"),
    ("abc", "claude-3-haiku", None, None),
]


def _records(org_id: str) -> list[LogRecord]:
    return [
        make_record(
            org_id,
            BASE + timedelta(minutes=n),
            user_id=user,
            request_model=model,
            request_name=name,
            properties={"feature": feature} if feature else {},
            cost_usd=0.001 * (n + 1),
        )
        for n, (user, model, name, feature) in enumerate(ROWS)
    ]


@pytest.fixture(scope="module")
def seeded(engine_gateway, engine) -> tuple[AsgiGateway, OrgKey, str]:
    org, other = engine_gateway.new_org(), engine_gateway.new_org()
    logs = engine_gateway.gateway.logs
    engine_gateway.run(logs.insert_requests(_records(org.org_id)))
    # The other org has every value too: none of its requests may match.
    engine_gateway.run(logs.insert_requests(_records(other.org_id)))
    return engine_gateway, org, engine


def _users(api: httpx.Client, **params: str) -> list[str]:
    response = api.get("/api/requests", params=params)
    assert response.status_code == 200, response.text
    return sorted(r["user_id"] for r in response.json()["data"])


def test_is_ignores_case_and_contains_finds_substrings(seeded):
    gateway, org, _kind = seeded
    with gateway.api(org) as api:
        assert _users(api, **{"user_id.is": "ADA"}) == ["Ada", "ada"]
        assert _users(api, **{"user_id.contains": "ada"}) == ["ADA.Lovelace", "Ada", "ada"]
        assert _users(api, **{"model.contains": "4o"}) == ["Ada", "a%b", "ada"]
        assert _users(api, **{"model.is": "gpt-4o"}) == ["a%b", "ada"]
        assert _users(api, **{"request_name.contains": "TICKET"}) == ["Ada", "ada"]
        assert _users(api, **{"property_contains.feature": "CHECKOUT"}) == ["Ada", "ada"]
        assert _users(api, **{"property_is.feature": "checkout"}) == ["Ada"]
        # A property's name is case-insensitive, as everywhere.
        assert _users(api, **{"property_is.Feature": "SEARCH"}) == ["ADA.Lovelace"]
        # Several conditions all hold.
        both = {"user_id.contains": "a", "model.contains": "mini"}
        assert _users(api, **both) == ["Ada"]


def test_like_wildcards_in_the_value_are_plain_characters(seeded):
    gateway, org, _kind = seeded
    with gateway.api(org) as api:
        assert _users(api, **{"user_id.contains": "%"}) == ["a%b"]
        assert _users(api, **{"user_id.contains": "_"}) == ["a_c"]
        assert _users(api, **{"user_id.is": "a_c"}) == ["a_c"]
        assert _users(api, **{"property_contains.feature": "%_"}) == ["axb"]


def test_the_exact_parameters_keep_their_meaning(seeded):
    gateway, org, _kind = seeded
    with gateway.api(org) as api:
        assert _users(api, user_id="ada") == ["ada"]
        assert _users(api, user_id="ADA") == []
        assert _users(api, model="gpt-4o") == ["ada"]
        assert _users(api, **{"property.feature": "checkout"}) == ["Ada"]


def test_bad_text_filters_are_400_naming_the_parameter(seeded):
    gateway, org, _kind = seeded
    with gateway.api(org) as api:
        for params, param in (
            ({"user_id.contains": ""}, "user_id.contains"),
            ({"property_contains.": "x"}, "property_contains."),
            ({"model.like": "x"}, "model.like"),
            ({"user_id.is": "x" * 300}, "user_id.is"),
        ):
            response = api.get("/api/requests", params=params)
            assert response.status_code == 400, (params, response.text)
            error = response.json()["error"]
            assert error["param"] == param and error["type"] == "invalid_request_error"


def test_range_is_relative_to_now_and_excludes_from_and_to(seeded):
    gateway, _org, _kind = seeded
    org = gateway.new_org()  # its own: the record it adds is seen by no other test
    recent = make_record(org.org_id, datetime.now(UTC) - timedelta(minutes=30), user_id="now")
    gateway.run(gateway.gateway.logs.insert_requests([*_records(org.org_id), recent]))
    with gateway.api(org) as api:
        assert _users(api, range="1h") == ["now"]
        assert len(_users(api, range="90d")) == 1  # the others are from April
        for params in ({"range": "2d"}, {"range": "1h", "from": BASE.isoformat()}):
            response = api.get("/api/requests", params=params)
            assert response.status_code == 400 and response.json()["error"]["param"] == "range"


def test_analytics_totals_honour_the_text_filters(seeded):
    gateway, org, kind = seeded
    if kind == "clickhouse":
        pytest.skip("analytics reads the SQL store's request log")
    window = {"from": BASE.isoformat(), "to": (BASE + timedelta(hours=1)).isoformat()}
    with gateway.api(org) as api:
        for condition in ({"model.contains": "4O"}, {"property_contains.feature": "checkout"}):
            listed = api.get("/api/requests", params=condition).json()["data"]
            reply = api.get("/api/analytics/summary", params={**window, **condition})
            summary = reply.json()["data"]
            assert summary["requests"] == len(listed) == 3 - ("feature" in str(condition))
            assert summary["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in listed))
