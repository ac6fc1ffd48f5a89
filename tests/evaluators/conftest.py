"""An in-process gateway (ASGI, the test's own loop) for the evaluator tests: the real
openai SDK proxies through it to the fake provider, and raw HTTP reaches its API with
an admin key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai

from relayscope.auth.keys import ADMIN
from relayscope.store.scores import of_request
from relayscope.testing.fake_provider import Behaviour
from relayscope.testing.loop_gateway import LoopGateway, running_gateway
from relayscope.testing.waiting import async_wait_until


@dataclass
class App:
    gw: LoopGateway
    sdk: openai.AsyncOpenAI
    api: httpx.AsyncClient
    """Raw HTTP to the gateway with an admin key of the org as ``Authorization``."""

    @property
    def org_id(self) -> str:
        return self.gw.org_id

    async def ask(self, text: str, **headers: str) -> str:
        """Proxy a chat completion; the request id the gateway answered with."""
        raw = await self.sdk.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": text}],
            extra_headers=headers,
        )
        return raw.headers["helicone-id"]

    async def create(self, **body: Any) -> dict[str, Any]:
        created = await self.api.post("/api/evaluators", json=body)
        assert created.status_code == 201, created.text
        evaluator: dict[str, Any] = created.json()["data"]
        return evaluator

    async def scores(self, request_id: str) -> dict[str, Any]:
        rows = await of_request(self.gw.gateway.store.database, self.org_id, request_id)
        return {row["name"]: row["value"] for row in rows}

    async def score_of(self, request_id: str, name: str, timeout: float = 10.0) -> Any:
        """The score ``name`` once it is on the request."""

        async def held() -> tuple[Any] | None:
            found = await self.scores(request_id)
            return (found[name],) if name in found else None

        return (await async_wait_until(held, timeout=timeout))[0]


@asynccontextmanager
async def evaluator_app(
    tmp_path: Path, provider_url: str, store_url: str, **settings: Any
) -> AsyncIterator[App]:
    async with running_gateway(tmp_path, provider_url, database_url=store_url, **settings) as gw:
        _info, admin_key = await gw.gateway.store.create_key(gw.org_id, role=ADMIN)
        transport = httpx.ASGITransport(app=gw.gateway)
        async with (
            httpx.AsyncClient(transport=transport, headers=gw.client.headers) as http,
            httpx.AsyncClient(
                transport=transport,
                base_url="http://gateway",
                headers={"Authorization": f"Bearer {admin_key}"},
                timeout=60,
            ) as api,
        ):
            sdk = openai.AsyncOpenAI(
                base_url="http://gateway/openai/v1",
                api_key="sk-client",
                max_retries=0,
                http_client=http,
            )
            yield App(gw, sdk, api)


def judge_says(text: str, *, delay_s: float = 0.0) -> Behaviour:
    """The fake provider's answer to one judge call: a chat completion saying ``text``."""
    return Behaviour(
        delay_s=delay_s,
        body={
            "id": "chatcmpl-judge",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 60, "completion_tokens": 4, "total_tokens": 64},
        },
    )


JUDGE_PROMPT = (
    "Question: {{input}}\nAnswer: {{output}}\n"
    "Does the answer address the question? End with 'Verdict: PASS' or 'Verdict: FAIL'."
)
