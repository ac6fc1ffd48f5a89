"""Helicone's exact cache through a real gateway, with the real openai and anthropic SDKs."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from relayscope.testing.fake_provider import Behaviour
from relayscope.testing.waiting import wait_until

from .conftest import CACHE, PROVIDER_KEY, chat, openai_client

MODEL = "claude-3-5-sonnet-20241022"


def test_a_hit_is_served_without_the_provider_and_logged_as_its_own_record(
    gateway, org, client, fake
):
    first, first_headers = chat(client)
    assert first_headers["helicone-cache"] == "MISS"
    assert first_headers["helicone-cache-hit"] == "false"
    assert fake.calls == 1

    second, headers = chat(client)
    assert fake.calls == 1
    assert headers["helicone-cache"] == "HIT"
    assert headers["helicone-cache-hit"] == "true"
    assert headers["helicone-cache-bucket-idx"] == "0"
    assert second.id == first.id
    assert second.choices[0].message.content == first.choices[0].message.content
    assert headers["helicone-id"] != first_headers["helicone-id"]

    original = gateway.record(org, first_headers["helicone-id"])
    hit = gateway.record(org, headers["helicone-id"])
    assert original["cache_hit"] is False and original["cost_usd"] > 0
    assert hit["cache_hit"] is True
    assert hit["cost_usd"] == 0
    assert hit["cost_saved_usd"] == pytest.approx(original["cost_usd"])
    assert hit["cache_source_id"] == first_headers["helicone-id"]
    assert hit["completion_tokens"] == original["completion_tokens"]
    assert hit["response_body"] == original["response_body"]
    assert hit["latency_ms"] > 0


def test_without_the_header_nothing_is_cached(gateway, org, client, fake):
    for _ in range(2):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "no cache"}]
        )
        assert "helicone-cache" not in raw.headers
    _, headers = chat(client, "no cache", extra_headers={"Helicone-Cache-Enabled": "false"})
    assert "helicone-cache" not in headers
    assert fake.calls == 3


def test_the_provider_key_and_the_org_are_part_of_the_key(gateway, org, fake):
    other_org = gateway.new_org()
    with (
        openai_client(gateway.url, org.auth, http_client=gateway.sdk_http()) as mine,
        openai.OpenAI(
            base_url=f"{gateway.url}/openai/v1",
            http_client=gateway.sdk_http(),
            api_key="sk-a-different-provider-key",
            default_headers=org.auth,
            max_retries=0,
        ) as mine_other_key,
        openai_client(gateway.url, other_org.auth, http_client=gateway.sdk_http()) as theirs,
    ):
        first, _ = chat(mine, "shared question")
        again, headers = chat(mine, "shared question")
        assert headers["helicone-cache"] == "HIT" and again.id == first.id
        other_key, headers = chat(mine_other_key, "shared question")
        assert headers["helicone-cache"] == "MISS" and other_key.id != first.id
        other, headers = chat(theirs, "shared question")
        assert headers["helicone-cache"] == "MISS"
        assert other.id != first.id
    assert fake.calls == 3


def test_seeds_are_separate_namespaces(client, fake):
    alice, headers = chat(client, extra_headers={"Helicone-Cache-Seed": "alice"})
    assert headers["helicone-cache"] == "MISS"
    bob, headers = chat(client, extra_headers={"Helicone-Cache-Seed": "bob"})
    assert headers["helicone-cache"] == "MISS"
    unseeded, headers = chat(client)
    assert headers["helicone-cache"] == "MISS"
    assert len({alice.id, bob.id, unseeded.id}) == 3
    again, headers = chat(client, extra_headers={"Helicone-Cache-Seed": "alice"})
    assert headers["helicone-cache"] == "HIT" and again.id == alice.id
    assert fake.calls == 3


def test_a_bucket_fills_from_the_provider_then_answers_at_random(client, fake):
    bucket = {"Helicone-Cache-Bucket-Max-Size": "3"}
    filled = []
    for _ in range(3):
        completion, headers = chat(client, "bucket", extra_headers=bucket)
        assert headers["helicone-cache"] == "MISS"
        filled.append(completion.id)
    assert fake.calls == 3 and len(set(filled)) == 3

    served: dict[str, str] = {}
    for _ in range(15):
        completion, headers = chat(client, "bucket", extra_headers=bucket)
        assert headers["helicone-cache"] == "HIT"
        idx = headers["helicone-cache-bucket-idx"]
        assert idx in {"0", "1", "2"}
        assert completion.id in filled
        # One slot always holds the same response.
        assert served.setdefault(idx, completion.id) == completion.id
    assert fake.calls == 3
    assert len(served) > 1, "15 random picks among 3 slots all landed on one"


def test_ignored_keys_do_not_split_the_cache(client, fake):
    ignore = {"Helicone-Cache-Ignore-Keys": "user, metadata"}
    first, _ = chat(client, "ignore", user="u1", extra_headers=ignore)
    _, headers = chat(
        client, "ignore", user="u2", metadata={"trace": "x"}, store=True, extra_headers=ignore
    )
    # store=True is not ignored, so this one differs.
    assert headers["helicone-cache"] == "MISS"
    third, headers = chat(client, "ignore", user="u3", metadata={"t": "y"}, extra_headers=ignore)
    assert headers["helicone-cache"] == "HIT" and third.id == first.id
    _, headers = chat(client, "ignore", user="u4")
    assert headers["helicone-cache"] == "MISS"
    assert fake.calls == 3


def test_max_age_sets_the_ttl(client, fake):
    short = {"Cache-Control": "max-age=1"}
    chat(client, "short-lived", extra_headers=short)
    stored_at = time.monotonic()
    _, headers = chat(client, "short-lived", extra_headers=short)
    assert headers["helicone-cache"] == "HIT"

    def expired() -> bool:
        return chat(client, "short-lived", extra_headers=short)[1]["helicone-cache"] == "MISS"

    wait_until(expired, timeout=5, interval=0.1)
    assert time.monotonic() - stored_at >= 0.9
    assert fake.calls == 2


def test_max_age_zero_stores_nothing(client, fake):
    for _ in range(2):
        _, headers = chat(client, "uncacheable", extra_headers={"Cache-Control": "max-age=0"})
        assert headers["helicone-cache"] == "MISS"
    assert fake.calls == 2


def test_errors_are_not_stored(client, fake):
    fake.enqueue(Behaviour(status=500))
    with pytest.raises(openai.InternalServerError):
        chat(client, "flaky")
    ok, headers = chat(client, "flaky")
    assert headers["helicone-cache"] == "MISS"
    again, headers = chat(client, "flaky")
    assert headers["helicone-cache"] == "HIT" and again.id == ok.id
    assert fake.calls == 2


def test_streams_replay_to_the_same_text_and_usage_stays_hidden(gateway, org, client, fake):
    def stream(**kwargs):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "stream me a story"}],
            stream=True,
            extra_headers=CACHE,
            **kwargs,
        )
        return list(raw.parse()), raw.headers

    chunks, headers = stream()
    assert headers["helicone-cache"] == "MISS"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "stream me a story" in text

    replay, headers = stream()
    assert headers["helicone-cache"] == "HIT"
    assert headers["content-type"].startswith("text/event-stream")
    assert "".join(c.choices[0].delta.content or "" for c in replay if c.choices) == text
    assert all(c.usage is None for c in replay)
    assert fake.calls == 1

    # The stored stream holds the usage chunk: a client that asks for it gets it.
    with_usage, headers = stream(stream_options={"include_usage": True})
    assert headers["helicone-cache"] == "HIT"
    assert next(c.usage.total_tokens for c in with_usage if c.usage) > 0
    assert fake.calls == 1

    record = gateway.record(org, headers["helicone-id"])
    assert record["cache_hit"] is True and record["stream"] is True
    assert record["completion_tokens"] > 0 and record["cost_saved_usd"] > 0
    assert record["response_body"]["choices"][0]["message"]["content"] == text


def test_anthropic_streams_replay_to_the_same_final_text(claude, fake):
    def final_text() -> tuple[str, str]:
        with claude.messages.stream(
            model=MODEL,
            max_tokens=200,
            messages=[{"role": "user", "content": "tell me about caches"}],
            extra_headers=CACHE,
        ) as stream:
            text = stream.get_final_text()
            return text, stream.response.headers["helicone-cache"]

    text, state = final_text()
    assert state == "MISS" and "tell me about caches" in text
    replayed, state = final_text()
    assert state == "HIT" and replayed == text
    assert fake.calls == 1


def test_anthropic_messages_are_cached(claude, fake):
    def ask():
        raw = claude.messages.with_raw_response.create(
            model=MODEL,
            max_tokens=100,
            messages=[{"role": "user", "content": "hello claude cache"}],
            extra_headers=CACHE,
        )
        return raw.parse(), raw.headers["helicone-cache"]

    first, state = ask()
    assert state == "MISS"
    second, state = ask()
    assert state == "HIT" and second.id == first.id and second.content == first.content
    assert fake.calls == 1


def test_a_cut_stream_is_never_stored(gateway_process, fake):
    # The client sees the cut as a connection shows it: a gateway process.
    org = gateway_process.new_org()
    with openai_client(gateway_process.url, org.auth) as client:
        fake.enqueue(Behaviour(cut_after_chunks=2))
        with pytest.raises(openai.APIError):
            list(
                client.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": "cut me off please now"}],
                    stream=True,
                    extra_headers=CACHE,
                )
            )
        chunks = list(
            client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "cut me off please now"}],
                stream=True,
                extra_headers=CACHE,
            ).parse()
        )
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert fake.calls == 2


def test_a_stream_the_client_abandons_is_not_stored(gateway_process, fake):
    # Abandoning a stream closes a real connection: a gateway process.
    gateway = gateway_process
    org = gateway.new_org()
    url = f"{gateway.url}/openai/v1/chat/completions"
    headers = {**org.auth, **CACHE, "Authorization": f"Bearer {PROVIDER_KEY}"}
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "a long story " * 30}],
        "stream": True,
    }
    fake.set_default(Behaviour(chunk_delay_s=0.05))
    with httpx.Client(timeout=10) as http:
        with http.stream("POST", url, headers=headers, json=body) as response:
            assert response.headers["helicone-cache"] == "MISS"
            next(response.iter_bytes())
        # The gateway sees the disconnect and cancels; wait for its log record.
        record = gateway.record(org, response.headers["helicone-id"])
        assert record["cancelled"] is True
        with http.stream("POST", url, headers=headers, json=body) as again:
            assert again.headers["helicone-cache"] == "MISS"
    assert fake.calls == 2


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Helicone-Cache-Bucket-Max-Size", "1001"),
        ("Helicone-Cache-Bucket-Max-Size", "99999999999999999999999"),
    ],
)
def test_a_bucket_above_the_maximum_is_400_naming_the_header(gateway, org, fake, header, value):
    response = gateway.post(
        "/openai/v1/chat/completions",
        headers={**org.auth, **CACHE, "Authorization": f"Bearer {PROVIDER_KEY}", header: value},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == header
    assert header in error["message"]
    assert fake.calls == 0


def test_a_hit_is_logged_with_the_callers_own_tags(gateway, org, client):
    _, first = chat(client, "tagged", extra_headers={"Helicone-User-Id": "alice"})
    _, headers = chat(client, "tagged", extra_headers={"Helicone-User-Id": "bob"})
    assert headers["helicone-cache"] == "HIT"
    hit = gateway.record(org, headers["helicone-id"])
    assert hit["user_id"] == "bob"
    assert hit["cache_source_id"] == first["helicone-id"]
