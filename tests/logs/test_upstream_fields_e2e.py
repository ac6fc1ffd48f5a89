"""A provider that misreports usage or model never stops logging, for anyone.

The fake provider answers, through a whole gateway (in this process, reached through
the ASGI transport) and the real SDKs, with token
counts that are huge, strings, negative, floats or null, and with a model that is
not a string. The gateway must still log that request (the bad fields dropped or
parsed, and a warning on the record), and keep logging every later request, of
every org, on each store backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import orjson
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.orgs import OrgKey
from relayscope.testing.process import fake_provider_env
from relayscope.testing.stores import StoreUrls

WARNING_PROPERTY = "relayscope-upstream-warning"
"""The record property that says which fields of the provider's reply were refused."""
HUGE = 18446744073709551615
MESSAGES = [{"role": "user", "content": "hello there"}]


class Case:
    """One misreport: what the provider answers, and what the record must hold."""

    def __init__(
        self,
        name: str,
        usage: dict[str, Any],
        fields: dict[str, Any],
        expected: dict[str, Any],
        warned: tuple[str, ...],
    ) -> None:
        self.name = name
        self.usage = usage
        self.fields = fields
        self.expected = expected
        self.warned = warned
        """Fields the warning must name: "input", "output" (usage counts) or "model"."""

    def headers(self, input_key: str, output_key: str) -> dict[str, str]:
        usage = {{"input": input_key, "output": output_key}[k]: v for k, v in self.usage.items()}
        return {
            "x-fake-usage": orjson.dumps(usage).decode(),
            "x-fake-fields": orjson.dumps(self.fields).decode(),
        }


CASES = [
    Case("huge", {"input": HUGE}, {}, {"prompt_tokens": None}, ("input",)),
    Case("numeric string", {"input": "5"}, {}, {"prompt_tokens": 5}, ("input",)),
    Case("negative", {"output": -3}, {}, {"completion_tokens": None}, ("output",)),
    Case(
        "float and null",
        {"input": None, "output": 1.5},
        {},
        {"prompt_tokens": None, "completion_tokens": None, "total_tokens": None},
        ("output",),
    ),
    Case("model not a string", {}, {"model": 42}, {"response_model": None}, ("model",)),
    Case(
        "model an object, counts booleans",
        {"input": True, "output": {"n": 1}},
        {"model": {"name": "x"}},
        {"response_model": None, "prompt_tokens": None, "completion_tokens": None},
        ("input", "output", "model"),
    ),
]


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
    fake_server: FakeProvider,
    store_urls: StoreUrls,
) -> Iterator[AsgiGateway]:
    data_dir = tmp_path_factory.mktemp("upstream-fields")
    url = store_urls.new(data_dir)
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_DATABASE_URL": url}
    with AsgiGateway(data_dir, env) as gateway:
        yield gateway
    store_urls.discard(url)


def openai_call(gateway: AsgiGateway, org: OrgKey, headers: dict[str, str], stream: bool) -> str:
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key="sk-provider",
        default_headers=org.auth,
        max_retries=0,
        http_client=gateway.sdk_http(),
    ) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=stream, extra_headers=headers
        )
        answer = raw.parse()
        if stream:
            text = "".join(c.choices[0].delta.content or "" for c in answer if c.choices)
        else:
            text = answer.choices[0].message.content or ""
        assert text
        return raw.headers["helicone-id"]


def anthropic_call(gateway: AsgiGateway, org: OrgKey, headers: dict[str, str], stream: bool) -> str:
    with anthropic.Anthropic(
        base_url=f"{gateway.url}/anthropic",
        api_key="sk-ant-provider",
        default_headers=org.auth,
        max_retries=0,
        http_client=gateway.sdk_http(),
    ) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-3-5-haiku-latest",
            max_tokens=50,
            messages=MESSAGES,
            stream=stream,
            extra_headers=headers,
        )
        answer = raw.parse()
        if stream:
            text = "".join(
                e.delta.text for e in answer if e.type == "content_block_delta" and e.delta.text
            )
        else:
            text = answer.content[0].text
        assert text
        return raw.headers["helicone-id"]


SDKS = {
    "openai": (openai_call, "prompt_tokens", "completion_tokens"),
    "anthropic": (anthropic_call, "input_tokens", "output_tokens"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("sdk", list(SDKS))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_misreported_reply_is_logged_sanitised_and_logging_goes_on(
    gateway: AsgiGateway, case: Case, sdk: str, stream: bool
) -> None:
    call, input_key, output_key = SDKS[sdk]
    misreported_org = gateway.new_org()
    other_org = gateway.new_org()

    bad_id = call(gateway, misreported_org, case.headers(input_key, output_key), stream)
    good_id = call(gateway, other_org, {}, stream)

    good = gateway.record(other_org, good_id)
    assert good["prompt_tokens"] > 0 and good["completion_tokens"] > 0
    assert good["response_model"] and WARNING_PROPERTY not in good["properties"]

    bad = gateway.record(misreported_org, bad_id)
    for name, value in case.expected.items():
        assert bad[name] == value, f"{name}: {bad[name]!r}"
    warning = bad["properties"][WARNING_PROPERTY]
    wire_names = {"input": f"usage.{input_key}", "output": f"usage.{output_key}", "model": "model"}
    for name in case.warned:
        assert wire_names[name] in warning, warning
    assert bad["status"] == 200 and bad["response_body"]
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert bad[name] is None or 0 <= bad[name] < 2**31
