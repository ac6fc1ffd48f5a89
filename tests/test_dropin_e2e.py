"""Following the README on a fresh install: what a user copies must work as written.

One gateway process whose provider overrides are written the way the README's providers
table shows upstreams (with the version path, ``http://host:11434/v1``), driven by the
real ``openai`` SDK and by raw HTTP where the wire itself is the point.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from relayscope.testing.orgs import OrgKey, create_org
from relayscope.testing.process import GatewayProcess, fake_provider_env

PROVIDER_KEY = "sk-provider-secret-0123456789"


@pytest.fixture(scope="module")
def versioned(e2e_process, tmp_path_factory, fake_server) -> Iterator[GatewayProcess]:
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_OPENAI_BASE_URL": f"{fake_server.url}/v1",
        "RELAYSCOPE_OLLAMA_BASE_URL": f"{fake_server.url}/v1/",
        "RELAYSCOPE_GROQ_BASE_URL": f"{fake_server.url}/openai/v1",
    }
    process = GatewayProcess(tmp_path_factory.mktemp("dropin"), env)
    try:
        yield process.start(timeout=120)  # generous: the test machine may be loaded
    finally:
        process.stop()


@pytest.fixture(scope="module")
def team(versioned) -> OrgKey:
    return create_org(versioned.database_url)


@pytest.mark.parametrize(
    ("route", "upstream_path"),
    [
        ("/openai/v1", "/v1/chat/completions"),
        ("/v1", "/v1/chat/completions"),
        ("/ollama/v1", "/v1/chat/completions"),
        ("/groq/v1", "/openai/v1/chat/completions"),
    ],
)
def test_base_url_override_with_the_version_path_is_not_doubled(
    versioned, team, fake, route, upstream_path
):
    with openai.OpenAI(
        base_url=f"{versioned.url}{route}",
        api_key=PROVIDER_KEY,
        default_headers=team.auth,
        max_retries=0,
    ) as client:
        completion = client.chat.completions.create(
            model="llama3", messages=[{"role": "user", "content": "over the override"}]
        )
    assert completion.choices[0].message.content == "Echo: over the override"
    assert [r.path for r in fake.requests] == [upstream_path]


def test_a_proxied_response_carries_exactly_one_date_header(versioned, team, fake):
    response = httpx.post(
        f"{versioned.url}/openai/v1/chat/completions",
        headers={**team.auth, "Authorization": f"Bearer {PROVIDER_KEY}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "when"}]},
        timeout=10,
    )
    assert response.status_code == 200
    assert len(response.headers.get_list("date")) == 1, response.headers.raw
