"""Property names are case-insensitive, and the user id falls back to the body.

The openai SDK lower-cases header names on the wire; the anthropic SDK and raw HTTP
keep ``Helicone-Property-Feature`` as written. All of them must land under one
property, ``feature``, everywhere a property is read: the record, the explorer
filter, the properties API, analytics, ``s=feature`` rate limits and webhook filters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import anthropic
import httpx
import openai
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.process import fake_provider_env
from relayscope.testing.receiver import WebhookReceiver
from relayscope.testing.stores import StoreUrls
from relayscope.testing.waiting import wait_until

OPENAI_KEY = "sk-provider-secret-0123456789"
ANTHROPIC_KEY = "sk-ant-provider-secret-987"
CLAUDE = "claude-3-5-sonnet-20241022"
SECRET = "whsec-property-case-0123"

Send = Callable[..., httpx.Response]
"""Sends one chat request with extra headers (and body fields); the raw response."""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_server, store_urls: StoreUrls) -> Iterator[AsgiGateway]:
    data_dir = tmp_path_factory.mktemp("property-case")
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": store_urls.new(data_dir),
        "RELAYSCOPE_ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "RELAYSCOPE_ALERTS_ENABLED": "false",
        "RELAYSCOPE_RATELIMIT_POLICY_TTL": "0",
    }
    with AsgiGateway(data_dir, env) as gateway:
        yield gateway


@pytest.fixture
def org(gateway) -> OrgKey:
    return gateway.new_org()


@pytest.fixture
def api(gateway, org) -> Iterator[httpx.Client]:
    with gateway.api(org) as client:
        yield client


@pytest.fixture
def via_openai(gateway, org) -> Iterator[Send]:
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key=OPENAI_KEY,
        default_headers=org.auth,
        max_retries=0,
        http_client=gateway.sdk_http(),
    ) as sdk:

        def send(headers: dict[str, str], **body: object) -> httpx.Response:
            try:
                raw = sdk.chat.completions.with_raw_response.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": "hi"}],
                    extra_headers=headers,
                    **body,  # type: ignore[arg-type]
                )
            except openai.APIStatusError as exc:
                return exc.response
            return raw.http_response

        yield send


@pytest.fixture
def via_anthropic(gateway, org) -> Iterator[Send]:
    with anthropic.Anthropic(
        base_url=f"{gateway.url}/anthropic",
        api_key=ANTHROPIC_KEY,
        default_headers=org.auth,
        max_retries=0,
        http_client=gateway.sdk_http(),
    ) as sdk:

        def send(headers: dict[str, str], **body: object) -> httpx.Response:
            try:
                raw = sdk.messages.with_raw_response.create(
                    model=CLAUDE,
                    max_tokens=50,
                    messages=[{"role": "user", "content": "hi"}],
                    extra_headers=headers,
                    **body,  # type: ignore[arg-type]
                )
            except anthropic.APIStatusError as exc:
                return exc.response
            return raw.http_response

        yield send


@pytest.fixture
def via_httpx(gateway, org) -> Iterator[Send]:
    with gateway.http() as client:

        def send(headers: dict[str, str], **body: object) -> httpx.Response:
            return client.post(
                "/openai/v1/chat/completions",
                headers={**org.auth, "Authorization": f"Bearer {OPENAI_KEY}", **headers},
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
                | body,
            )

        yield send


@pytest.fixture
def senders(via_openai, via_anthropic, via_httpx) -> list[Send]:
    return [via_openai, via_anthropic, via_httpx]


def ids_of(api: httpx.Client, **query: str) -> set[str]:
    response = api.get("/api/requests", params=query)
    assert response.status_code == 200, response.text
    return {r["id"] for r in response.json()["data"]}


def test_three_clients_land_under_one_lower_case_property(gateway, org, api, senders, fake):
    ids = []
    for send in senders:
        response = send({"Helicone-Property-Feature": "chat"})
        assert response.status_code == 200, response.text
        ids.append(response.headers["helicone-id"])
    records = [gateway.record(org, request_id) for request_id in ids]
    assert [r["properties"] for r in records] == [{"feature": "chat"}] * 3

    # The explorer's filter, whatever case the name is given in.
    assert ids_of(api, **{"property.feature": "chat"}) == set(ids)
    assert ids_of(api, **{"property.Feature": "chat"}) == set(ids)
    assert ids_of(api, **{"property.FEATURE": "chat"}) == set(ids)

    # The Properties page's API: one name, counting all three.
    names = api.get("/api/properties").json()["data"]
    assert names == [{"name": "feature", "requests": 3, "values": 1}]
    for name in ("feature", "Feature"):
        values = api.get(f"/api/properties/{name}").json()["data"]
        assert [(v["value"], v["requests"]) for v in values] == [("chat", 3)]

    # An analytics breakdown by property.
    series = api.get(
        "/api/analytics/timeseries", params={"group_by": "property:Feature", "metric": "requests"}
    )
    assert series.status_code == 200, series.text
    assert series.json()["data"]["group_by"] == "property:feature"
    [chat] = series.json()["data"]["series"]
    assert chat["group"] == "chat" and sum(chat["values"]) == 3
    summary = api.get("/api/analytics/summary", params={"property.Feature": "chat"}).json()
    assert summary["data"]["requests"] == 3


def test_a_property_rate_limit_is_shared_by_all_three_clients(org, senders, fake):
    policy = {"Helicone-RateLimit-Policy": "3;w=600;s=Feature"}
    for send in senders:
        response = send({**policy, "Helicone-Property-Feature": "bulk"})
        assert response.status_code == 200, response.text
    for send in senders:
        response = send({**policy, "Helicone-Property-FEATURE": "bulk"})
        assert response.status_code == 429, response.text


def test_a_standing_property_rate_limit_saved_in_mixed_case(api, senders, fake):
    created = api.post("/api/rate-limits", json={"policy": "3;w=600;s=FeAture"})
    assert created.status_code in (200, 201), created.text
    probes = iter(range(1000))
    # Gateways read standing policies in the background: wait until it is in force,
    # probing with values of their own so that the counter under test stays untouched.
    wait_until(
        lambda: (
            "helicone-ratelimit-policy"
            in senders[2]({"Helicone-Property-Feature": f"probe-{next(probes)}"}).headers
        )
    )
    for send in senders:
        assert send({"Helicone-Property-Feature": "bulk"}).status_code == 200
    for send in senders:
        assert send({"Helicone-Property-Feature": "bulk"}).status_code == 429
    # Another value of the property has its own counter.
    assert senders[0]({"Helicone-Property-Feature": "other"}).status_code == 200


def test_a_webhook_property_filter_fires_for_all_three_clients(gateway, org, api, senders, fake):
    with WebhookReceiver() as receiver:
        hook = api.post(
            "/api/webhooks",
            json={
                "secret": SECRET,
                "url": f"{receiver.url}/hook",
                "properties": {"Feature": "chat"},
            },
        )
        assert hook.status_code == 201, hook.text
        assert hook.json()["data"]["properties"] == {"feature": "chat"}
        skipped = senders[2]({"Helicone-Property-Feature": "search"}).headers["helicone-id"]
        gateway.record(org, skipped)
        sent = [send({"Helicone-Property-Feature": "chat"}) for send in senders]
        hits = receiver.wait_for("/hook", 3)
    assert sorted(h.json()["data"]["id"] for h in hits) == sorted(
        r.headers["helicone-id"] for r in sent
    )
    assert all(h.json()["data"]["properties"] == {"feature": "chat"} for h in hits)


# -- the user id from the body ---------------------------------------------------------


def test_the_user_id_falls_back_to_the_body(gateway, org, api, via_openai, via_anthropic, fake):
    from_openai = via_openai({}, user="u1")
    from_anthropic = via_anthropic({}, metadata={"user_id": "u2"})
    assert from_openai.status_code == from_anthropic.status_code == 200
    first = gateway.record(org, from_openai.headers["helicone-id"])
    second = gateway.record(org, from_anthropic.headers["helicone-id"])
    assert (first["user_id"], second["user_id"]) == ("u1", "u2")

    users = api.get("/api/users").json()["data"]
    assert sorted((u["user_id"], u["requests"]) for u in users) == [("u1", 1), ("u2", 1)]
    assert ids_of(api, user_id="u2") == {second["id"]}


def test_a_user_rate_limit_counts_body_user_ids(via_openai, via_anthropic, fake):
    policy = {"Helicone-RateLimit-Policy": "1;w=600;s=user"}
    assert via_openai(policy, user="u1").status_code == 200
    assert via_anthropic(policy, metadata={"user_id": "u2"}).status_code == 200
    assert via_openai(policy, user="u1").status_code == 429
    assert via_anthropic(policy, metadata={"user_id": "u2"}).status_code == 429
    assert via_anthropic(policy, metadata={"user_id": "u3"}).status_code == 200


def test_the_header_wins_over_the_body(gateway, org, via_openai, via_anthropic, fake):
    header = {"Helicone-User-Id": "from-header"}
    responses = [
        via_openai(header, user="from-body"),
        via_anthropic(header, metadata={"user_id": "from-body"}),
    ]
    for response in responses:
        record = gateway.record(org, response.headers["helicone-id"])
        assert record["user_id"] == "from-header"


@pytest.mark.parametrize(
    "body",
    [
        {"user": 42},
        {"user": ["u1"]},
        {"user": ""},
        {"user": "x" * 257},
        {"user": "bad\nid"},
        {"metadata": {"user_id": {"id": "u1"}}},
        {"metadata": "u1"},
    ],
    ids=["number", "list", "empty", "too-long", "control", "object", "metadata-string"],
)
def test_a_body_user_that_is_not_a_valid_string_is_ignored(gateway, org, via_httpx, body, fake):
    response = via_httpx({}, **body)
    # Whatever the upstream makes of it, the gateway neither fails nor records it.
    assert response.status_code < 500, response.text
    record = gateway.record(org, response.headers["helicone-id"])
    assert record["user_id"] is None
