"""The judge's calls, sent through this gateway's own proxy, in process.

Each call is an ordinary proxied request of the evaluator's org: it goes through
every stage (rate limits, retries, cache, logging), is priced and logged. It is
made as the org (``auth.keys.INTERNAL_PRINCIPAL``, with the evaluator's id as the
key id) with the org's stored provider key for the judge's provider
(``relayscope provider-keys set``), and carries the ``EVALUATOR_PROPERTY`` property.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from relayscope.auth.keys import INTERNAL_PRINCIPAL, Principal
from relayscope.evaluators.model import EVALUATOR_PROPERTY, JudgeError, Run
from relayscope.retry.provider_keys import ProviderKeys
from relayscope.types import ASGIApp, Receive, Scope, Send

_HOST = "http://relayscope-evaluator"


class GatewayJudge:
    def __init__(self, proxy: ASGIApp, provider_keys: ProviderKeys, *, timeout: float) -> None:
        self._proxy = proxy
        self._provider_keys = provider_keys
        self._timeout = timeout

    async def complete(
        self, run: Run, provider: str, body: dict[str, object], evaluated: str
    ) -> str:
        key = await self._provider_keys.get(run.org_id, provider)
        if key is None:
            raise JudgeError(
                f"the org has no {provider} provider key for the judge "
                f"(store one with `relayscope provider-keys set --provider {provider}`)"
            )
        principal = Principal(run.org_id, run.evaluator_id)

        async def as_org(scope: Scope, receive: Receive, send: Send) -> None:
            await self._proxy({**scope, INTERNAL_PRINCIPAL: principal}, receive, send)

        headers = {
            "Authorization": f"Bearer {key}",
            f"Helicone-Property-{EVALUATOR_PROPERTY}": run.evaluator_name,
            "Helicone-Property-Relayscope-Evaluated-Request": evaluated,
        }
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=as_org), base_url=_HOST, timeout=self._timeout
        ) as client:
            try:
                response = await client.post(
                    f"/{provider}/v1/chat/completions",
                    content=orjson.dumps(body),
                    headers={**headers, "Content-Type": "application/json"},
                )
            except httpx.TimeoutException:
                raise JudgeError(f"no answer within {self._timeout:g}s") from None
        return _answer(response)


def _answer(response: httpx.Response) -> str:
    try:
        parsed: Any = response.json()
    except ValueError:
        parsed = None
    if response.status_code >= 400:
        error = parsed.get("error") if isinstance(parsed, dict) else None
        message = error.get("message") if isinstance(error, dict) else response.text[:200]
        raise JudgeError(f"HTTP {response.status_code}: {message}")
    try:
        content = parsed["choices"][0]["message"]["content"]
    except (TypeError, KeyError, IndexError):
        raise JudgeError("the answer is not a chat completion") from None
    if not isinstance(content, str):
        raise JudgeError("the answer has no text")
    return content
