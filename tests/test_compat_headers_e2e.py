"""Compatible by default: a header Helicone tolerates never fails a request.

Through the real openai and anthropic SDKs: the default gateway (in this process)
proxies each case, says what it did in a ``Helicone-Warning`` that names the header,
and keeps the warning on the log record; a gateway started with
``RELAYSCOPE_STRICT_HEADERS=true`` (in this process) refuses the same requests, before
the provider.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import anthropic
import openai
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.process import fake_provider_env

POLICY = "Helicone-RateLimit-Policy"
MESSAGES = [{"role": "user", "content": "Summarise the meeting notes"}]


@pytest.fixture(scope="module")
def strict(tmp_path_factory, fake_server) -> Iterator[AsgiGateway]:
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_STRICT_HEADERS": "true"}
    with AsgiGateway(tmp_path_factory.mktemp("strict"), env) as gateway:
        yield gateway


def oai(gateway: AsgiGateway, org: OrgKey, **options) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        http_client=gateway.sdk_http(),
        api_key="sk-provider",
        default_headers=org.auth,
        max_retries=0,
        **options,
    )


def claude(gateway: AsgiGateway, org: OrgKey, **options) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{gateway.url}/anthropic",
        http_client=gateway.sdk_http(),
        api_key="sk-ant",
        default_headers=org.auth,
        max_retries=0,
        **options,
    )


def chat(gateway: AsgiGateway, org: OrgKey, headers: dict[str, str]):
    with oai(gateway, org) as client:
        return client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers=headers
        )


def message(gateway: AsgiGateway, org: OrgKey, headers: dict[str, str]):
    with claude(gateway, org) as client:
        return client.messages.with_raw_response.create(
            model="claude-3-5-haiku-latest", max_tokens=64, messages=MESSAGES, extra_headers=headers
        )


def warned(raw, gateway, org: OrgKey, header: str) -> tuple[str, dict]:
    """The one warning ``raw`` carries (it names ``header``) and the request's record,
    which keeps the same warning."""
    warnings = raw.headers.get_list("helicone-warning")
    assert len(warnings) == 1 and warnings[0].startswith(f"{header}: "), warnings
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["warnings"] == warnings
    return warnings[0], record


def test_a_request_id_that_is_no_uuid_gets_a_fresh_one(gateway, org, fake):
    raw = chat(gateway, org, {"Helicone-Request-Id": "req-2024-0001"})
    assert raw.status_code == 200 and raw.parse().choices[0].message.content
    fresh = raw.headers["helicone-id"]
    assert str(uuid.UUID(fresh)) == fresh
    warning, record = warned(raw, gateway, org, "Helicone-Request-Id")
    assert "must be a UUID" in warning and fresh in warning
    assert record["id"] == fresh and fake.calls == 1


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ("100 per minute", "is not a number"),
        ("100;window=60", "unknown parameter"),
        ("10;w=60;s=user", "no Helicone-User-Id header"),
    ],
)
def test_a_policy_helicone_would_skip_is_skipped(gateway, org, fake, policy, reason):
    raw = message(gateway, org, {POLICY: policy})
    assert raw.status_code == 200 and raw.parse().content[0].text
    assert "helicone-ratelimit-limit" not in raw.headers
    warning, record = warned(raw, gateway, org, POLICY)
    assert reason in warning and warning.endswith("proxied without this policy")
    assert record["status"] == 200 and fake.calls == 1


def test_s_user_with_the_user_in_the_body_still_limits(gateway, org, fake):
    """The body's ``user`` is the user (point 4), so the policy applies, unwarned."""
    with oai(gateway, org) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            user="u-77",
            extra_headers={POLICY: "5;w=60;s=user"},
        )
    assert raw.headers["helicone-ratelimit-remaining"] == "4"
    assert "helicone-warning" not in raw.headers


@pytest.mark.parametrize("prompt_id", ["onboarding-email", "Onboarding Email v2"])
def test_an_unknown_prompt_id_without_a_template_is_forwarded_and_tagged(
    gateway, org, fake, prompt_id
):
    raw = chat(
        gateway,
        org,
        {"Helicone-Prompt-Id": prompt_id, "Helicone-Prompt-Variables": '{"name": "Ada"}'},
    )
    assert raw.status_code == 200
    assert fake.requests[-1].json["messages"] == MESSAGES, "forwarded unchanged"
    assert "helicone-prompt-version" not in raw.headers
    warning, record = warned(raw, gateway, org, "Helicone-Prompt-Id")
    assert "no prompt with this id" in warning and "forwarded unchanged" in warning
    assert (record["prompt_id"], record["prompt_version"]) == (prompt_id, None)
    with gateway.api(org) as api:
        tagged = api.get("/api/requests", params={"prompt_id": prompt_id}).json()["data"]
    assert [r["id"] for r in tagged] == [record["id"]]


def test_an_unknown_prompt_id_with_an_inline_template_registers_it_unwarned(gateway, org, fake):
    templated = [{"role": "user", "content": "Welcome {{name}}"}]
    with oai(gateway, org) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=templated,
            extra_headers={
                "Helicone-Prompt-Id": "welcome",
                "Helicone-Prompt-Variables": '{"name": "Ada"}',
            },
        )
    assert raw.headers["helicone-prompt-version"] == "1"
    assert "helicone-warning" not in raw.headers
    assert fake.requests[-1].json["messages"][0]["content"] == "Welcome Ada"


@pytest.mark.parametrize(
    ("headers", "status", "param"),
    [
        ({"Helicone-Request-Id": "req-2024-0001"}, 400, "Helicone-Request-Id"),
        ({POLICY: "100 per minute"}, 400, POLICY),
        ({POLICY: "10;w=60;s=user"}, 400, POLICY),
        ({"Helicone-Prompt-Id": "onboarding-email"}, 404, "Helicone-Prompt-Id"),
        ({"Helicone-Prompt-Id": "Onboarding Email v2"}, 400, "Helicone-Prompt-Id"),
    ],
)
def test_strict_headers_keep_the_refusals(strict, fake, headers, status, param):
    org = strict.new_org()
    with (
        oai(strict, org) as client,
        pytest.raises(openai.APIStatusError) as refused,
    ):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers=headers
        )
    assert refused.value.status_code == status
    error = refused.value.response.json()["error"]
    assert error["param"] == param
    assert "helicone-warning" not in refused.value.response.headers
    assert fake.calls == 0


def test_strict_headers_refuse_a_bad_policy_to_the_anthropic_sdk(strict, fake):
    org = strict.new_org()
    with (
        claude(strict, org) as client,
        pytest.raises(anthropic.BadRequestError) as refused,
    ):
        client.messages.create(
            model="claude-3-5-haiku-latest",
            max_tokens=64,
            messages=MESSAGES,
            extra_headers={POLICY: "10;w=0"},
        )
    assert "Helicone-RateLimit-Policy" in refused.value.message
    assert "between 1 and 31536000" in refused.value.message
    assert fake.calls == 0
