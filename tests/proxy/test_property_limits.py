"""Custom properties: up to 64 per request; a 65th, or an empty name, is a 400 naming
the header, sent before anything reaches the provider. In-process, raw headers."""

from __future__ import annotations

import pytest

from relayscope.proxy.tags import MAX_PROPERTIES
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.loop_gateway import running_gateway

CHAT = "/openai/v1/chat/completions"
QUESTION = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def properties(count: int) -> list[tuple[str, str]]:
    return [(f"Helicone-Property-P{i:02d}", f"v{i}") for i in range(count)]


async def test_64_properties_are_stored_and_a_65th_is_refused(tmp_path, fake: FakeProvider):
    assert MAX_PROPERTIES == 64
    async with running_gateway(tmp_path, fake.url) as gw:
        ok = await gw.client.post(CHAT, json=QUESTION, headers=properties(64))
        assert ok.status_code == 200, ok.text
        record = await gw.record(ok.headers["helicone-id"])
        assert record.properties == {f"p{i:02d}": f"v{i}" for i in range(64)}
        assert fake.calls == 1

        refused = await gw.client.post(CHAT, json=QUESTION, headers=properties(65))
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert "Helicone-Property-*" in error["message"] and "64" in error["message"]
        assert fake.calls == 1, "refused before the provider"

        # One property sent in two spellings is one property: 64 names, 65 headers.
        spelled_twice = [*properties(64), ("helicone-property-p00", "v0")]
        again = await gw.client.post(CHAT, json=QUESTION, headers=spelled_twice)
        assert again.status_code == 200, again.text


@pytest.mark.parametrize("name", ["Helicone-Property-", "helicone-property-"])
async def test_an_empty_property_name_is_refused(tmp_path, fake: FakeProvider, name):
    async with running_gateway(tmp_path, fake.url) as gw:
        refused = await gw.client.post(CHAT, json=QUESTION, headers=[(name, "x")])
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert set(error) >= {"message", "type", "code"}
        assert "Helicone-Property-" in error["message"] and "empty" in error["message"]
        assert fake.calls == 0
