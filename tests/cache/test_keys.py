"""Exact keys and semantic partitions."""

from __future__ import annotations

import orjson

from relayscope.cache.keys import exact_key, message_text, semantic_partition
from relayscope.cache.options import CacheOptions
from relayscope.context import Context, Tags, Target


def ctx(body: dict, *, org: str = "org-1", url: str = "https://api.openai.com/v1/chat") -> Context:
    raw = orjson.dumps(body)
    return Context(
        request_id="r",
        org_id=org,
        key_id="k",
        method="POST",
        path="/openai/v1/chat",
        query=b"",
        target=Target(provider=None, url=url, format="openai", provider_name="openai"),
        headers=[],
        helicone={},
        client_body=raw,
        body=raw,
        tags=Tags(),
    )


def options(seed: str = "", ignore: frozenset[str] = frozenset()) -> CacheOptions:
    return CacheOptions(
        seed=seed, bucket_size=1, ignore_keys=ignore, ttl=60, semantic=False, similarity=0.9
    )


BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "user": "u1"}


def test_key_order_does_not_matter_but_values_do():
    reordered = dict(reversed(list(BODY.items())))
    assert exact_key(ctx(BODY), options()) == exact_key(ctx(reordered), options())
    assert exact_key(ctx(BODY), options()) != exact_key(ctx({**BODY, "model": "n"}), options())


def test_org_seed_and_url_are_part_of_the_key():
    key = exact_key(ctx(BODY), options())
    assert key.startswith("org-1:")
    assert key != exact_key(ctx(BODY, org="org-2"), options())
    assert key != exact_key(ctx(BODY), options(seed="s"))
    assert key != exact_key(ctx(BODY, url="https://api.openai.com/v1/other"), options())


def test_ignored_keys_are_left_out():
    ignore = options(ignore=frozenset({"user"}))
    assert exact_key(ctx(BODY), ignore) == exact_key(ctx({**BODY, "user": "u2"}), ignore)


def test_partitions_ignore_the_messages_only():
    other_text = {**BODY, "messages": [{"role": "user", "content": "hello"}]}
    assert semantic_partition(ctx(BODY), options()) == semantic_partition(
        ctx(other_text), options()
    )
    assert semantic_partition(ctx(BODY), options()) != semantic_partition(
        ctx({**BODY, "temperature": 0}), options()
    )


def test_message_text_joins_system_and_every_message():
    body = {
        "system": [{"type": "text", "text": "be brief"}],
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [{"type": "text", "text": "second"}]},
        ],
    }
    assert message_text(ctx(body)) == "be brief\nfirst\nsecond"
