"""With ``RELAYSCOPE_STRICT_HEADERS=true``, a fallback entry that cannot express the
request is a 400 naming the field, before anything reaches a provider. (Compatible
mode skips the entry and says why: test_responses_translation_e2e.py.) In-process,
through the real openai SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import openai
import orjson
import pytest

from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.loop_gateway import running_gateway

from .conftest import CLAUDE


@asynccontextmanager
async def strict_sdk(tmp_path, fake: FakeProvider) -> AsyncIterator[openai.AsyncOpenAI]:
    async with running_gateway(tmp_path, fake.url, strict_headers=True) as gw:
        yield openai.AsyncOpenAI(
            base_url="http://gateway/openai/v1",
            api_key="sk-client",
            max_retries=0,
            http_client=httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gw.gateway), headers=gw.client.headers
            ),
        )


def fallback_to(provider: str, model: str) -> dict[str, str]:
    entry = {"provider": provider, "model": model, "api_key": "sk-ant-fallback"}
    return {"Helicone-Fallback": orjson.dumps([entry]).decode()}


@pytest.mark.parametrize(
    "field,extra",
    [
        ("previous_response_id", {"previous_response_id": "resp_earlier"}),
        ("tools[0].type", {"tools": [{"type": "web_search"}]}),
    ],
)
async def test_an_untranslatable_fallback_is_a_400_naming_the_field(
    tmp_path, fake: FakeProvider, field, extra
):
    async with strict_sdk(tmp_path, fake) as sdk:
        with pytest.raises(openai.BadRequestError) as refused:
            await sdk.responses.create(
                model="gpt-4o",
                input="hi",
                extra_headers=fallback_to("anthropic", CLAUDE),
                extra_body=extra,
            )
    error = refused.value.response.json()["error"]
    assert error["param"] == "Helicone-Fallback"
    assert field in error["message"] and "cannot be translated" in error["message"]
    assert fake.calls == 0, "refused before any provider"


async def test_a_translatable_fallback_still_serves_in_strict_mode(tmp_path, fake: FakeProvider):
    async with strict_sdk(tmp_path, fake) as sdk:
        response = await sdk.responses.create(
            model="gpt-4o",
            input="the capital of Norway",
            extra_headers=fallback_to("anthropic", CLAUDE),
        )
    assert response.output_text == "Echo: the capital of Norway"
    assert fake.calls == 1, "the primary answered; the fallback was only checked"
