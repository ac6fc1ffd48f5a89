"""``RELAYSCOPE_CACHE_MAX_ENTRY_BYTES``: a larger answer is served whole but not
cached; a smaller one is (the control). In-process, against the fake provider."""

from __future__ import annotations

import pytest

from relayscope.cache.settings import CacheSettings
from relayscope.testing.bodies import completion_body
from relayscope.testing.fake_provider import Behaviour, FakeProvider
from relayscope.testing.loop_gateway import running_gateway

CHAT = "/openai/v1/chat/completions"
CACHE = {"Helicone-Cache-Enabled": "true"}
LIMIT = 4096


@pytest.mark.parametrize(("size", "cached"), [(LIMIT * 4, False), (LIMIT // 4, True)])
async def test_an_answer_over_the_entry_limit_is_served_but_not_cached(
    tmp_path, fake: FakeProvider, size, cached
):
    body = completion_body(size)
    assert (len(body) > LIMIT) is not cached
    fake.set_default(Behaviour(body=body))
    question = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"{size}"}]}
    cache = CacheSettings(max_entry_bytes=LIMIT)
    async with running_gateway(tmp_path, fake.url, cache=cache) as gw:
        first = await gw.client.post(CHAT, json=question, headers=CACHE)
        assert first.status_code == 200 and first.content == body
        assert first.headers["helicone-cache"] == "MISS"
        await gw.record(first.headers["helicone-id"])  # the entry is stored by then
        second = await gw.client.post(CHAT, json=question, headers=CACHE)
        assert second.status_code == 200 and second.content == body
        assert second.headers["helicone-cache"] == ("HIT" if cached else "MISS")
        assert fake.calls == (1 if cached else 2)
