"""The request page renders each kind of logged exchange: Responses API items, tool
calls and results, thinking collapsed, images as thumbnails or links, audio as metadata."""

from __future__ import annotations

import re

from .test_robustness import record, signed_in, store  # noqa: F401  (fixture)

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def page_of(store, request_body, response_body) -> str:  # noqa: F811
    client, org_id = await signed_in(store)
    await store.insert_requests([record(org_id, "kinds", request_body, response_body)])
    try:
        page = await client.get("/dashboard/requests/kinds")
    finally:
        await client.aclose()
    assert page.status_code == 200
    return page.text


async def test_responses_items_render_by_kind(store):  # noqa: F811
    html = await page_of(
        store,
        {"input": [{"type": "function_call_output", "call_id": "c", "output": "sunny"}]},
        {
            "object": "response",
            "output": [
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Hmm."}]},
                {"type": "function_call", "name": "get_weather", "arguments": "{}"},
            ],
        },
    )
    assert re.search(r'<details class="msg assistant response thinking">', html)
    assert "assistant · tool call" in html and "tool · tool result" in html


async def test_images_are_thumbnails_and_links(store):  # noqa: F811
    html = await page_of(
        store,
        {"prompt": "a dot"},
        {
            "created": 1,
            "data": [{"b64_json": PNG}, {"url": "https://images.example/x.png"}],
        },
    )
    assert f'<img class="thumb" src="data:image/png;base64,{PNG}"' in html
    assert '<a href="https://images.example/x.png"' in html
