"""``/api/requests/suggestions``: an org's known users, models, property names and
values and prompt ids, most used first, narrowed by what was typed (any case,
wildcards literal); another org's values never appear. With the request log in the
SQL store (read from its rollups) and in ClickHouse (chDB, read from the log)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from relayscope.store import clickhouse
from relayscope.store.clickhouse import ClickHouseLogStore
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.seeding import make_record


@pytest.fixture(params=["sql", "clickhouse"])
def orgs(request, tmp_path, store_url) -> Iterator[tuple[AsgiGateway, OrgKey, OrgKey]]:
    env = {"RELAYSCOPE_DATABASE_URL": store_url}
    if request.param == "clickhouse":
        env["RELAYSCOPE_LOGS_URL"] = f"chdb://{tmp_path}/chdb"
    with AsgiGateway(tmp_path / "gw", env) as gateway:
        mine, theirs = gateway.new_org(), gateway.new_org()
        recent = datetime.now(UTC) - timedelta(hours=2)
        records = [
            make_record(
                mine.org_id,
                recent + timedelta(seconds=n),
                user_id=user,
                request_model=model,
                properties={"feature": feature},
            )
            for n, (user, model, feature) in enumerate(
                [("ada", "gpt-4o", "checkout")] * 3
                + [("Adam", "gpt-4o-mini", "search")] * 2
                + [("bob_1", "claude-3-haiku", "checkout")]
            )
        ]
        # Past the span: never suggested.
        records.append(make_record(mine.org_id, recent - timedelta(days=40), user_id="ada-old"))
        records.append(
            make_record(
                theirs.org_id,
                recent,
                user_id="ada-secret",
                request_model="gpt-4o-secret",
                properties={"feature": "secret-checkout", "tenant": "x"},
            )
        )
        gateway.run(gateway.gateway.logs.insert_requests(records))
        with gateway.api(mine) as api:
            prompt = {"id": "support-Reply", "messages": [{"role": "user", "content": "hi"}]}
            assert api.post("/api/prompts", json=prompt).status_code == 201
        with gateway.api(theirs) as api:
            prompt = {"id": "support-secret", "messages": [{"role": "user", "content": "hi"}]}
            assert api.post("/api/prompts", json=prompt).status_code == 201
        yield gateway, mine, theirs


def _values(api: httpx.Client, **params: str) -> list[str]:
    response = api.get("/api/requests/suggestions", params=params)
    assert response.status_code == 200, response.text
    return [item["value"] for item in response.json()["data"]]


def test_known_values_most_used_first_and_only_the_orgs_own(orgs):
    gateway, mine, _theirs = orgs
    with gateway.api(mine) as api:
        assert _values(api, field="user") == ["ada", "Adam", "bob_1"]
        assert _values(api, field="model", q="4O") == ["gpt-4o", "gpt-4o-mini"]
        assert _values(api, field="property") == ["feature"]
        assert _values(api, field="property_value", name="FEATURE") == ["checkout", "search"]
        assert _values(api, field="prompt", q="SUPPORT") == ["support-Reply"]
        assert _values(api, field="user", q="ADA") == ["ada", "Adam"]
        assert _values(api, field="user", q="_") == ["bob_1"]
        assert _values(api, field="user", q="%") == []
        assert _values(api, field="user", limit="1") == _values(api, limit="1") == ["ada"]
        counted = api.get("/api/requests/suggestions", params={"field": "user"}).json()
        assert counted["data"][0] == {"value": "ada", "requests": 3}


@pytest.mark.parametrize("orgs", ["clickhouse"], indirect=True)
def test_clickhouse_counts_over_the_newest_records_only(orgs, monkeypatch):
    gateway, mine, _theirs = orgs
    assert isinstance(gateway.gateway.logs, ClickHouseLogStore)
    monkeypatch.setattr(clickhouse, "SUGGESTION_SCAN", 2)
    with gateway.api(mine) as api:
        # The two newest records are Adam's second and bob_1's.
        counted = api.get("/api/requests/suggestions", params={"field": "user"}).json()
        assert counted["data"] == [
            {"value": "Adam", "requests": 1},
            {"value": "bob_1", "requests": 1},
        ]


def test_another_orgs_values_never_appear(orgs):
    gateway, mine, theirs = orgs
    with gateway.api(mine) as api:
        seen = [
            value
            for params in (
                {"field": "user"},
                {"field": "model"},
                {"field": "property"},
                {"field": "property_value", "name": "feature"},
                {"field": "property_value", "name": "tenant"},
                {"field": "prompt"},
            )
            for value in _values(api, **params, q="")
        ]
        assert seen and not [value for value in seen if "secret" in value or value == "tenant"]
    with gateway.api(theirs) as api:
        assert _values(api, field="user") == ["ada-secret"]


def test_bad_parameters_are_400(orgs):
    gateway, mine, _theirs = orgs
    with gateway.api(mine) as api:
        for params, param in (
            ({"field": "colour"}, "field"),
            ({"field": "property_value"}, "name"),
            ({"field": "user", "name": "x"}, "name"),
            ({"field": "user", "limit": "0"}, "limit"),
            ({"field": "user", "other": "1"}, "other"),
        ):
            response = api.get("/api/requests/suggestions", params=params)
            assert response.status_code == 400, (params, response.text)
            assert response.json()["error"]["param"] == param
