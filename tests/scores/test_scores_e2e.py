"""Scores and feedback end to end: the real openai SDK proxies through the gateway,
then the app scores the response by raw HTTP at Helicone's path and under ``/api``,
on SQLite and Postgres. In-process (ASGI), with a proxy key, as an app holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import openai
import pytest

from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.loop_gateway import LoopGateway, running_gateway


@dataclass
class App:
    gw: LoopGateway
    sdk: openai.AsyncOpenAI
    api: httpx.AsyncClient
    """Raw HTTP to the gateway with the org's proxy key as ``Authorization``."""

    async def ask(self, text: str, **headers: str) -> str:
        """Proxy a chat completion; the request id the gateway answered with."""
        raw = await self.sdk.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": text}],
            extra_headers=headers,
        )
        return raw.headers["helicone-id"]


@asynccontextmanager
async def app(
    tmp_path, fake: FakeProvider, store_url: str, flush: float = 5.0
) -> AsyncIterator[App]:
    """By default with a slow flush: a record is still in the writer when the app
    scores it. (A 404 waits for the record as long as another replica could take to
    write it: two flush intervals and a second.)"""
    async with running_gateway(
        tmp_path, fake.url, database_url=store_url, log_flush_interval=flush
    ) as gw:
        key = gw.client.headers["Helicone-Auth"]
        transport = httpx.ASGITransport(app=gw.gateway)
        async with (
            httpx.AsyncClient(transport=transport, headers=gw.client.headers) as http,
            httpx.AsyncClient(
                transport=transport, base_url="http://gateway", headers={"Authorization": key}
            ) as api,
        ):
            sdk = openai.AsyncOpenAI(
                base_url="http://gateway/openai/v1",
                api_key="sk-client",
                max_retries=0,
                http_client=http,
            )
            yield App(gw, sdk, api)


async def test_an_app_scores_its_response_at_both_paths_right_after_it(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with app(tmp_path, fake, store_url) as a:
        request_id = await a.ask("grade me")
        assert await a.gw.gateway.store.get_request(a.gw.org_id, request_id) is None
        # Helicone's path and shape, the moment the response is back (record unwritten).
        helicone = await a.api.post(
            f"/v1/request/{request_id}/score", json={"scores": {"accuracy": 0.75, "ok": True}}
        )
        assert helicone.status_code == 200, helicone.text
        assert helicone.json() == {"data": None, "error": None}
        feedback = await a.api.post(f"/v1/request/{request_id}/feedback", json={"rating": False})
        assert feedback.json() == {"data": None, "error": None}

        # RelayScope's path answers with what the request now holds; a name posted
        # again is updated, and feedback is changed the same way.
        again = await a.api.post(
            f"/api/requests/{request_id}/score", json={"scores": {"accuracy": 90}}
        )
        assert again.status_code == 200, again.text
        assert again.json()["data"]["scores"] == {"accuracy": 90.0, "ok": True}
        flipped = await a.api.post(f"/api/requests/{request_id}/feedback", json={"rating": True})
        assert flipped.json()["data"]["feedback"]["rating"] is True

        detail = (await a.api.get(f"/api/requests/{request_id}")).json()["data"]
        assert detail["scores"] == {"accuracy": 90.0, "ok": True}
        assert detail["feedback"]["rating"] is True
        assert detail["response_body"]["choices"][0]["message"]["content"] == "Echo: grade me"


async def test_another_orgs_request_and_an_unknown_id_are_the_same_404(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with app(tmp_path, fake, store_url, flush=0.05) as a:
        request_id = await a.ask("mine")
        other = await a.gw.gateway.store.ensure_org("other")
        _info, other_key = await a.gw.gateway.store.create_key(other.id)
        headers = {"Authorization": f"Bearer {other_key}"}
        answers = [
            await a.api.post(path, json=body, headers=headers)
            for path, body in (
                (f"/v1/request/{request_id}/score", {"scores": {"x": 1}}),
                (f"/api/requests/{request_id}/feedback", {"rating": True}),
                ("/v1/request/00000000-0000-4000-8000-000000000000/score", {"scores": {"x": 1}}),
            )
        ]
        assert [r.status_code for r in answers] == [404, 404, 404]
        assert {r.json()["error"]["type"] for r in answers} == {"not_found_error"}
        read = await a.api.get(f"/api/requests/{request_id}", headers=headers)
        assert read.status_code == 404
        mine = (await a.api.get(f"/api/requests/{request_id}")).json()["data"]
        assert mine["scores"] == {} and mine["feedback"] is None


@pytest.mark.parametrize(
    "body,param",
    [
        ({"scores": {"accuracy": "high"}}, "scores.accuracy"),
        ({"scores": {"": 1}}, "scores."),
        ({"scores": {"x" * 65: 1}}, "scores." + "x" * 65),
        ({"scores": {"helicone-feedback": True}}, "scores.helicone-feedback"),
        ({"scores": {"big": 10**400}}, None),  # not JSON orjson reads: a plain 400
        ({"scores": {}}, "scores"),
        ({"scores": [1]}, "scores"),
        ({"score": {"a": 1}}, "score"),
        ({"scores": {"a": 1}, "extra": 1}, "extra"),
        ({"scores": {f"s{i}": i for i in range(51)}}, "scores"),
    ],
)
async def test_bad_scores_are_400s_naming_the_field(
    tmp_path, fake: FakeProvider, store_url: str, body, param
):
    async with app(tmp_path, fake, store_url) as a:
        request_id = await a.ask("bad scores")
        refused = await a.api.post(f"/api/requests/{request_id}/score", json=body)
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert error.get("param") == param


async def test_bad_feedback_and_non_finite_scores_are_400s(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with app(tmp_path, fake, store_url) as a:
        request_id = await a.ask("bad feedback")
        for body in (b'{"rating": "yes"}', b'{"rating": 1}', b"{}", b"not json"):
            refused = await a.api.post(f"/v1/request/{request_id}/feedback", content=body)
            assert refused.status_code == 400, body
        for raw in (b"NaN", b"Infinity", b"1e999"):
            refused = await a.api.post(
                f"/v1/request/{request_id}/score", content=b'{"scores": {"a": ' + raw + b"}}"
            )
            assert refused.status_code == 400, raw


async def test_a_request_holds_a_bounded_number_of_scores(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with app(tmp_path, fake, store_url) as a:
        request_id = await a.ask("many scores")
        path = f"/v1/request/{request_id}/score"
        first = {f"a{i}": i for i in range(30)}
        assert (await a.api.post(path, json={"scores": first})).is_success
        more = {f"b{i}": i for i in range(30)}
        refused = await a.api.post(path, json={"scores": more})
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "too_many_scores"
        # Updating names it already holds is always allowed.
        assert (await a.api.post(path, json={"scores": first})).is_success


async def test_a_proxy_key_without_authorization_is_a_401(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with app(tmp_path, fake, store_url) as a:
        request_id = await a.ask("who")
        anonymous = await a.api.post(
            f"/v1/request/{request_id}/score",
            json={"scores": {"a": 1}},
            headers={"Authorization": ""},
        )
        assert anonymous.status_code == 401


async def test_a_score_sent_to_another_replica_waits_for_the_record(
    tmp_path, fake: FakeProvider, store_url: str
):
    """Replica A proxied the request and has not written its record; replica B, on the
    same store, takes the score and answers once A's record is there."""
    async with (
        app(tmp_path / "a", fake, store_url) as a,
        running_gateway(
            tmp_path / "b", fake.url, database_url=store_url, log_flush_interval=5.0
        ) as b,
    ):
        request_id = await a.ask("scored elsewhere")
        assert await b.gateway.store.get_request(a.gw.org_id, request_id) is None
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=b.gateway),
            base_url="http://gateway",
            headers={"Authorization": b.client.headers["Helicone-Auth"]},
        ) as on_b:
            scoring = asyncio.create_task(
                on_b.post(f"/v1/request/{request_id}/score", json={"scores": {"ok": True}})
            )
            await a.gw.gateway.writer.drain()
            scored = await scoring
        assert scored.status_code == 200, scored.text
        detail = (await a.api.get(f"/api/requests/{request_id}")).json()["data"]
        assert detail["scores"] == {"ok": True}
