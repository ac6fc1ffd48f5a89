"""Issue #18 end to end, with the real SDKs: paraphrases hit at the default threshold,
near-misses are refused even when they look identical to the embedding, only the last
user turn is compared, and a gateway that cannot run semantic matching says so."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.process import fake_provider_env

from .conftest import CACHE, chat, openai_client

SEMANTIC = {"Helicone-Cache-Semantic": "true"}
"""No Helicone-Cache-Similarity: the default threshold applies."""


def pair(client, first: str, second: str, **kwargs):
    """Send ``first`` then ``second`` with semantic caching on; the second's response."""
    extra = {**SEMANTIC, **kwargs.pop("extra_headers", {})}
    original, headers = chat(client, first, extra_headers=extra, **kwargs)
    assert headers["helicone-cache"] == "MISS"
    answer, headers = chat(client, second, extra_headers=extra, **kwargs)
    return original, answer, headers


def test_a_paraphrase_hits_at_the_default_threshold(client, fake):
    original, answer, headers = pair(
        client, "How do I undo the last commit in git?", "How can I undo my last git commit?"
    )
    assert headers["helicone-cache"] == "HIT" and answer.id == original.id
    assert float(headers["helicone-cache-similarity"]) >= 0.85
    assert "helicone-cache-semantic" not in headers
    assert fake.calls == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Convert 5 km to miles.", "Convert 5 miles to km."),
        ("Is chocolate safe for dogs?", "Is chocolate not safe for dogs?"),
        ("Where is my order #4412?", "Where is my order #4413?"),
        ("What is 15% of 80?", "What is 15% of 90?"),
        ("Can I take ibuprofen with alcohol?", "Can I take ibuprofen with aspirin?"),
    ],
)
def test_near_misses_are_refused_even_at_similarity_0(client, fake, first, second):
    """Even with every candidate let through by the threshold, the check refuses."""
    lowest = {"Helicone-Cache-Similarity": "0"}
    _, answer, headers = pair(client, first, second, extra_headers=lowest)
    assert headers["helicone-cache"] == "MISS"
    assert second.rstrip("?.") in answer.choices[0].message.content
    assert fake.calls == 2


def test_a_shared_system_prompt_neither_helps_nor_hurts(client, fake):
    system = "You are a careful assistant for a pet shop. Answer in one sentence."

    def ask(text: str):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
            extra_headers={**CACHE, **SEMANTIC},
        )
        return raw.parse(), raw.headers

    ask("Is chocolate safe for dogs?")
    _, refused = ask("Is chocolate not safe for dogs?")
    assert refused["helicone-cache"] == "MISS"
    ask("How do I train my puppy to sit?")
    _, hit = ask("How can I train my puppy to sit?")
    assert hit["helicone-cache"] == "HIT"
    assert fake.calls == 3


def test_other_system_prompts_and_earlier_turns_are_other_partitions(client, fake):
    def ask(system: str, earlier: str, last: str):
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": earlier},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": last},
        ]
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=messages, extra_headers={**CACHE, **SEMANTIC}
        )
        return raw.headers

    ask("Be brief.", "I live in Canada.", "When is the tax filing deadline?")
    assert (
        ask("Be brief.", "I live in Australia.", "When is the tax filing deadline?")[
            "helicone-cache"
        ]
        == "MISS"
    )
    assert (
        ask("Be thorough.", "I live in Canada.", "When is the tax filing deadline?")[
            "helicone-cache"
        ]
        == "MISS"
    )
    assert (
        ask("Be brief.", "I live in Canada.", "When is the tax filing deadline?")["helicone-cache"]
        == "HIT"
    )  # the exact repeat
    assert fake.calls == 3


def claude_ask(claude: anthropic.Anthropic, text: str, system: str = "Be concise."):
    raw = claude.messages.with_raw_response.create(
        model="claude-3-5-haiku-latest",
        max_tokens=64,
        system=system,
        messages=[{"role": "user", "content": text}],
        extra_headers={**CACHE, **SEMANTIC},
    )
    return raw.parse(), raw.headers


def test_anthropic_paraphrase_hits_and_near_miss_is_refused(claude, fake):
    first, _ = claude_ask(claude, "What are the symptoms of the flu?")
    again, headers = claude_ask(claude, "What symptoms does the flu have?")
    assert headers["helicone-cache"] == "HIT" and again.id == first.id
    claude_ask(claude, "What is the acetaminophen dose for adults?")
    answer, headers = claude_ask(claude, "What is the acetaminophen dose for children?")
    assert headers["helicone-cache"] == "MISS"
    assert "children" in answer.content[0].text
    assert fake.calls == 3


@pytest.fixture(scope="module")
def without_semantic(tmp_path_factory, fake_server) -> Iterator[AsgiGateway]:
    """A gateway whose operator turned semantic matching off: it cannot run."""
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_CACHE_SEMANTIC": "false"}
    with AsgiGateway(tmp_path_factory.mktemp("no-semantic"), env) as gateway:
        yield gateway


def test_a_gateway_that_cannot_match_semantically_says_so(without_semantic, fake):
    org = without_semantic.new_org()
    http = without_semantic.sdk_http()
    with openai_client(without_semantic.url, org.auth, http_client=http) as client:
        _, headers = chat(client, "What is the capital of France?", extra_headers=SEMANTIC)
        assert headers["helicone-cache-semantic"] == "unavailable"
        assert "Helicone-Cache-Semantic" in headers["helicone-warning"]
        _, headers = chat(client, "Which city is the capital of France?", extra_headers=SEMANTIC)
        assert headers["helicone-cache"] == "MISS"
        assert headers["helicone-cache-semantic"] == "unavailable"
        _, exact = chat(client, "Which city is the capital of France?", extra_headers=SEMANTIC)
        assert exact["helicone-cache"] == "HIT"  # the exact cache still works
        _, plain = chat(client, "no semantic asked")
        assert "helicone-cache-semantic" not in plain
    record = without_semantic.record(org, headers["helicone-id"])
    assert any("Helicone-Cache-Semantic" in w and "unavailable" in w for w in record["warnings"])
    with anthropic.Anthropic(
        base_url=f"{without_semantic.url}/anthropic",
        api_key="sk-ant-provider-secret",
        default_headers=org.auth,
        max_retries=0,
        http_client=without_semantic.sdk_http(),
    ) as claude:
        _, headers = claude_ask(claude, "What is the capital of Peru?")
        assert headers["helicone-cache-semantic"] == "unavailable"
    assert fake.calls == 4
