"""A ``Helicone-Request-Id`` sent again: every proxied request keeps its own record.

Through the real openai SDK and a gateway in this process (SQLite and Postgres): a
repeated id in the same org is replaced by a fresh one and the client is told in a
``Helicone-Warning`` header (or, with ``RELAYSCOPE_STRICT_HEADERS=true``, refused
with a 409 before anything is proxied); the same id in two orgs is two records,
each readable by its own org only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import openai
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.process import fake_provider_env
from relayscope.testing.waiting import wait_until

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


def sdk(gateway: AsgiGateway, org: OrgKey, request_id: str, **options: object) -> openai.OpenAI:
    headers = {**org.auth, "Helicone-Request-Id": request_id}
    return openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key="sk-provider",
        default_headers=headers,
        http_client=gateway.sdk_http(),
        **options,
    )


def records_of_user(gateway: AsgiGateway, org: OrgKey, user_id: str, count: int) -> list[dict]:
    with gateway.api(org) as api:

        def listed() -> list[dict] | None:
            data = api.get("/api/requests", params={"user_id": user_id}).json()["data"]
            return data if len(data) >= count else None

        return wait_until(listed, timeout=10)


def test_five_requests_sharing_an_id_leave_five_records_and_four_warnings(gateway, org, fake):
    shared = str(uuid.uuid4())
    user = f"user-{uuid.uuid4().hex[:8]}"
    answers = []
    with sdk(gateway, org, shared, max_retries=0) as client:
        for _ in range(5):
            answers.append(
                client.chat.completions.with_raw_response.create(
                    **CHAT, extra_headers={"Helicone-User-Id": user}
                )
            )
    assert fake.calls == 5, "every request went upstream"

    ids = [answer.headers["helicone-id"] for answer in answers]
    assert ids[0] == shared
    assert len(set(ids)) == 5, "each repeat was given an id of its own"
    assert "helicone-warning" not in answers[0].headers
    for answer, given in zip(answers[1:], ids[1:], strict=True):
        warning = answer.headers["helicone-warning"]
        assert warning.startswith("Helicone-Request-Id:")
        assert shared in warning and given in warning and "already used" in warning

    records = records_of_user(gateway, org, user, 5)
    assert sorted(r["id"] for r in records) == sorted(ids)
    assert gateway.record(org, shared)["warnings"] == []
    for given, answer in zip(ids[1:], answers[1:], strict=True):
        assert gateway.record(org, given)["warnings"] == [answer.headers["helicone-warning"]]


def test_the_same_id_in_two_orgs_is_two_records_each_read_by_its_own_org(gateway, fake):
    first, second = gateway.new_org(), gateway.new_org()
    shared = str(uuid.uuid4())
    for org in (second, first):  # the other org uses the id first
        with sdk(gateway, org, shared, max_retries=0) as client:
            raw = client.chat.completions.with_raw_response.create(
                **CHAT, extra_headers={"Helicone-User-Id": org.name}
            )
        assert raw.headers["helicone-id"] == shared
        assert "helicone-warning" not in raw.headers, "ids are per org"

    for org in (first, second):
        record = gateway.record(org, shared)
        assert record["org_id"] == org.org_id
        assert record["user_id"] == org.name, "each org reads its own record, not the other's"
        with gateway.api(org) as api:
            listed = api.get("/api/requests", params={"user_id": other(org, first, second).name})
        assert listed.json()["data"] == []


def other(org: OrgKey, first: OrgKey, second: OrgKey) -> OrgKey:
    return second if org is first else first


@pytest.fixture(scope="module")
def strict_gateway(tmp_path_factory, fake_server, store_urls) -> Iterator[AsgiGateway]:
    data_dir = tmp_path_factory.mktemp("strict-headers")
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": store_urls.new(data_dir),
        "RELAYSCOPE_STRICT_HEADERS": "true",
    }
    with AsgiGateway(data_dir, env) as gateway:
        yield gateway


def test_strict_headers_refuse_a_repeated_id_with_409_before_proxying(strict_gateway, fake):
    org = strict_gateway.new_org()
    shared = str(uuid.uuid4())
    # The SDK's own retries are on: the 409 tells it not to retry.
    with sdk(strict_gateway, org, shared) as client:
        first = client.chat.completions.with_raw_response.create(**CHAT)
        assert first.headers["helicone-id"] == shared
        for _ in range(4):
            with pytest.raises(openai.ConflictError) as refused:
                client.chat.completions.create(**CHAT)
            error = refused.value.body
            assert error["code"] == "duplicate_request_id"
            assert error["type"] == "invalid_request_error"
            assert error["param"] == "Helicone-Request-Id"
            assert shared in error["message"]
    assert fake.calls == 1, "nothing repeated was proxied"
    assert strict_gateway.record(org, shared)["warnings"] == []
