"""The explorer's live tail endpoint (``/dashboard/requests/live``, Server-Sent
Events) against a gateway process: it streams the signed-in org's new requests and
no other org's, and refuses what it cannot follow."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import openai
import pytest

from relayscope.testing.orgs import OrgKey, wait_for_record


@pytest.fixture(scope="module")
def gateway(gateway_process):
    return gateway_process


def _session(gateway, org: OrgKey) -> dict[str, str]:
    """The Cookie header of a dashboard session of ``org`` (sent by hand: the cookie
    is Secure and the test talks plain http to 127.0.0.1)."""
    with httpx.Client(base_url=gateway.url) as client:
        form = client.get("/dashboard/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        signed = client.post(
            "/dashboard/signin",
            data={"csrf_token": token.group(1), "key": org.key},
            headers={"Cookie": f"relayscope_signin_csrf={form.cookies['relayscope_signin_csrf']}"},
        )
        assert signed.status_code == 303, signed.text
        return {"Cookie": f"relayscope_session={signed.cookies['relayscope_session']}"}


def _send(gateway, org: OrgKey, user: str) -> str:
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key="sk-provider-tail",
        default_headers=org.auth,
        max_retries=0,
    ) as sdk:
        sent = sdk.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"hello from {user}"}],
            extra_headers={"Helicone-User-Id": user},
        )
    request_id: str = sent.headers["helicone-id"]
    return request_id


def _events(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """(event, data) of each message; comments (heartbeats) come as ("", "")."""
    event, data = "", []
    for line in response.iter_lines():
        if line == "":
            yield event, "\n".join(data)
            event, data = "", []
        elif line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())


def test_a_stream_carries_the_orgs_new_requests_and_never_another_orgs(gateway):
    mine, theirs = gateway.new_org(), gateway.new_org()
    url = f"{gateway.url}/dashboard/requests/live?col=user"
    with httpx.stream("GET", url, headers=_session(gateway, mine), timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        other = _send(gateway, theirs, "mallory")
        wait_for_record(gateway, theirs, other)
        own = _send(gateway, mine, "alice")
        seen = []
        for event, data in _events(response):
            seen.append(data)
            if event == "rows" and own in data:
                break
        streamed = "\n".join(seen)
        assert f'data-id=\\"{own}\\"' in streamed or f'data-id="{own}"' in streamed
        assert other not in streamed and "mallory" not in streamed


@pytest.mark.parametrize(
    "query",
    ["sort=latency", "order=asc", "since=not-a-cursor", "col=nonsense", "cursor=abc"],
)
def test_what_the_tail_cannot_follow_is_a_400(gateway, query):
    org = gateway.new_org()
    response = httpx.get(
        f"{gateway.url}/dashboard/requests/live?{query}", headers=_session(gateway, org)
    )
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]


def test_signed_out_the_tail_sends_to_sign_in(gateway):
    response = httpx.get(f"{gateway.url}/dashboard/requests/live")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/dashboard/signin")
