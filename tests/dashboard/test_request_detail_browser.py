"""The request page for daily work: a prompt request's variables and filled prompt,
the request name once, the key by name, honest stream labels, and copy buttons whose
curl command really sends the request again."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import openai
import pytest
from playwright.sync_api import Page, expect

from relayscope.store.sql import SqlStore
from relayscope.testing.orgs import OrgKey, wait_for_record

from .browsing import Pages, shot, sign_in

# What the browser shows here does not depend on the store (its reads run on every
# backend in the API and in-process dashboard tests): one backend is enough.
pytestmark = [pytest.mark.browser, pytest.mark.any_store]


@pytest.fixture(scope="module")
def gateway(gateway_process):
    """A gateway process: Chromium reaches the dashboard by its URL."""
    return gateway_process


PROVIDER_KEY = "sk-provider-secret-detail"
TEMPLATE = [
    {"role": "system", "content": "You write greetings in {{lang}}."},
    {"role": "user", "content": "Greet {{name}}."},
]


def _named_key(database_url: str, org: OrgKey, name: str) -> OrgKey:
    async def create() -> OrgKey:
        store = SqlStore(database_url)
        try:
            info, key = await store.create_key(org.org_id, name, role="admin")
        finally:
            await store.close()
        return OrgKey(name=org.name, org_id=org.org_id, key_id=info.id, key=key)

    return asyncio.run(create())


@pytest.fixture(scope="module")
def traffic(gateway) -> tuple[OrgKey, str, str]:
    """A prompt request and a stream request answered with a JSON error, sent with
    the openai SDK by a key named ``checkout-service``."""
    org = _named_key(gateway.database_url, gateway.new_org(), "checkout-service")
    with gateway.api(org) as api:
        created = api.post("/api/prompts", json={"id": "greeting", "messages": TEMPLATE})
        assert created.status_code == 201, created.text
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key=PROVIDER_KEY,
        default_headers=org.auth,
        max_retries=0,
    ) as sdk:
        prompted = sdk.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[],
            extra_headers={
                "Helicone-Prompt-Id": "greeting",
                "Helicone-Prompt-Variables": json.dumps({"name": "Ada", "lang": "French"}),
                "Helicone-Request-Name": "welcome",
                "Helicone-User-Id": "ada",
                "Helicone-Property-Feature": "onboarding",
            },
        )
        with pytest.raises(openai.BadRequestError) as refused:
            sdk.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                extra_headers={"x-fake-status": "400", "Helicone-Request-Name": "broken-stream"},
            )
    prompt_id = prompted.headers["helicone-id"]
    failed_id = refused.value.response.headers["helicone-id"]
    wait_for_record(gateway, org, prompt_id)
    failed = wait_for_record(gateway, org, failed_id)
    assert failed["request_name"] == "broken-stream"
    return org, prompt_id, failed_id


@pytest.fixture
def page(pages: Pages, gateway, traffic) -> Page:
    page = pages.new()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=gateway.url)
    sign_in(page, gateway, traffic[0].key)
    return page


def clipboard(page: Page) -> str:
    text = page.evaluate("navigator.clipboard.readText()")
    assert isinstance(text, str)
    return text


def test_a_prompt_request_shows_its_variables_and_filled_prompt(page, gateway, traffic):
    _org, prompt_id, _failed = traffic
    page.goto(f"{gateway.url}/dashboard/requests/{prompt_id}")
    variables = page.locator("#prompt-variables tbody tr").all_inner_texts()
    pairs = dict(re.split(r"\s+", row.strip(), maxsplit=1) for row in variables)
    assert pairs == {"name": "Ada", "lang": "French"}
    filled = page.locator("#prompt-filled .msg")
    expect(filled.nth(0)).to_contain_text("You write greetings in French.")
    expect(filled.nth(1)).to_contain_text("Greet Ada.")
    # The log keeps the client's own (empty) messages; the filled prompt is the page's.
    expect(page.locator("#request-body")).not_to_contain_text("Greet Ada")
    shot(page, "request-prompt")


def test_the_request_name_shows_once_and_the_key_by_its_name(page, gateway, traffic):
    _org, prompt_id, _failed = traffic
    page.goto(f"{gateway.url}/dashboard/requests/{prompt_id}")
    assert page.locator("main").inner_text().count("welcome") == 1
    expect(page.locator("main")).not_to_contain_text("helicone-request-name")
    expect(page.locator("main")).to_contain_text("onboarding")
    expect(page.locator("#key")).to_contain_text("checkout-service")
    expect(page.locator("#key")).not_to_contain_text(traffic[0].key_id)


def test_a_stream_answered_with_json_is_not_labelled_a_stream(page, gateway, traffic):
    _org, prompt_id, failed = traffic
    page.goto(f"{gateway.url}/dashboard/requests/{failed}")
    expect(page.locator("#stream")).to_have_text("no: asked for a stream, answered with JSON")
    page.goto(f"{gateway.url}/dashboard/requests/{prompt_id}")
    expect(page.locator("#stream")).to_have_text("no")


def test_copy_buttons_copy_the_bodies(page, gateway, traffic):
    _org, prompt_id, _failed = traffic
    page.goto(f"{gateway.url}/dashboard/requests/{prompt_id}")
    page.click("button[data-copy=response-body]")
    expect(page.locator("button[data-copy=response-body]")).to_have_text("Copied")
    copied = json.loads(clipboard(page))
    assert copied["choices"][0]["message"]["content"] == "Echo: Greet Ada."
    page.click("button[data-copy=request-body]")
    assert json.loads(clipboard(page)) == {"model": "gpt-4o-mini", "messages": []}


def test_copy_as_curl_sends_the_same_request_again(page, gateway, traffic, fake):
    org, prompt_id, _failed = traffic
    page.goto(f"{gateway.url}/dashboard/requests/{prompt_id}")
    page.click("button[data-copy=curl]")
    expect(page.locator("button[data-copy=curl]")).to_have_text("Copied")
    command = clipboard(page)
    env = {**os.environ, "RELAYSCOPE_KEY": org.key, "OPENAI_API_KEY": PROVIDER_KEY}
    ran = subprocess.run(
        ["bash", "-c", command + " --silent --include"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    head, _, body = ran.stdout.partition("\n\n")  # text mode: CRLF read as LF
    assert head.startswith("HTTP/1.1 200"), ran.stdout
    assert json.loads(body)["choices"][0]["message"]["content"] == "Echo: Greet Ada."
    sent = fake.requests[-1]
    assert sent.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert sent.json["messages"][0] == {
        "role": "system",
        "content": "You write greetings in French.",
    }
    again = re.search(r"^helicone-id: (\S+)", head, re.IGNORECASE | re.MULTILINE)
    assert again is not None
    replayed = wait_for_record(gateway, org, again.group(1))
    original = wait_for_record(gateway, org, prompt_id)
    for field in ("user_id", "request_name", "prompt_id", "prompt_version", "prompt_variables"):
        assert replayed[field] == original[field], field
    assert replayed["properties"] == original["properties"]
    assert replayed["key_id"] == org.key_id


def test_the_curl_command_is_literal_shell(page, gateway, traffic):
    """Values are single-quoted: a tag holding shell syntax is sent, never run."""
    org, _prompt_id, _failed = traffic
    hostile = "$(touch /tmp/relayscope-pwned)'; echo x"
    response = httpx.post(
        f"{gateway.url}/openai/v1/chat/completions",
        headers={
            **org.auth,
            "Authorization": f"Bearer {PROVIDER_KEY}",
            "Helicone-Property-Note": hostile,
        },
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "it's $HOME"}]},
        timeout=10,
    )
    wait_for_record(gateway, org, response.headers["helicone-id"])
    page.goto(f"{gateway.url}/dashboard/requests/{response.headers['helicone-id']}")
    command = page.locator("#curl").text_content()
    assert command is not None and command.startswith("curl ")
    # The same words, printed instead of sent: what the shell makes of each one.
    echoed = subprocess.run(
        ["bash", "-c", "printf '%s\\n' " + command.removeprefix("curl ")],
        capture_output=True,
        text=True,
        env={**os.environ, "RELAYSCOPE_KEY": "gateway-key", "OPENAI_API_KEY": "provider-key"},
        timeout=10,
        check=True,
    )
    words = echoed.stdout.splitlines()
    assert f"Helicone-Property-note: {hostile}" in words
    assert "Authorization: Bearer provider-key" in words
    assert "Helicone-Auth: Bearer gateway-key" in words
    assert json.loads(words[-1])["messages"][0]["content"] == "it's $HOME"
    assert not Path("/tmp/relayscope-pwned").exists()
