"""Exact keys and semantic partitions."""

from __future__ import annotations

import orjson
import pytest

from relayscope.cache.keys import exact_key, last_user_text, semantic_partition
from relayscope.cache.options import CacheOptions
from relayscope.context import Context, Tags, Target


def ctx(
    body: dict,
    *,
    org: str = "org-1",
    url: str = "https://api.openai.com/v1/chat",
    key_id: str = "k",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Context:
    raw = orjson.dumps(body)
    return Context(
        request_id="r",
        org_id=org,
        key_id=key_id,
        method="POST",
        path="/openai/v1/chat",
        query=b"",
        target=Target(provider=None, url=url, format="openai", provider_name="openai"),
        headers=headers if headers is not None else [(b"authorization", b"Bearer sk-one")],
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


@pytest.mark.parametrize("header", [b"authorization", b"x-api-key", b"api-key"])
def test_the_provider_credential_and_the_gateway_key_are_part_of_the_key(header):
    one = ctx(BODY, headers=[(header, b"sk-one")])
    for other in (
        ctx(BODY, headers=[(header, b"sk-two")]),
        ctx(BODY, headers=[(header, b"sk-one")], key_id="k2"),
        ctx(BODY, headers=[]),
    ):
        assert exact_key(one, options()) != exact_key(other, options())
        assert semantic_partition(one, options()) != semantic_partition(other, options())
    assert exact_key(one, options()) == exact_key(
        ctx(BODY, headers=[(header, b"sk-one")]), options()
    )
    assert b"sk-one" not in exact_key(one, options()).encode()


def test_other_headers_do_not_split_the_cache():
    plain = ctx(BODY)
    traced = ctx(BODY, headers=[(b"authorization", b"Bearer sk-one"), (b"x-trace", b"1")])
    assert exact_key(plain, options()) == exact_key(traced, options())


def test_ignored_keys_are_left_out():
    ignore = options(ignore=frozenset({"user"}))
    assert exact_key(ctx(BODY), ignore) == exact_key(ctx({**BODY, "user": "u2"}), ignore)


def test_partitions_leave_out_only_the_last_user_turn():
    other_text = {**BODY, "messages": [{"role": "user", "content": "hello"}]}
    assert semantic_partition(ctx(BODY), options()) == semantic_partition(
        ctx(other_text), options()
    )
    assert semantic_partition(ctx(BODY), options()) != semantic_partition(
        ctx({**BODY, "temperature": 0}), options()
    )


def turns(system: str | None, earlier: str, last: str, **extra) -> dict:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [
        {"role": "user", "content": earlier},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": last},
    ]
    return {"model": "m", "messages": messages, **extra}


def test_system_prompt_earlier_turns_tools_and_parameters_must_match_exactly():
    base = semantic_partition(
        ctx(turns("be brief", "I use Rust", "how do I read a file?")), options()
    )
    assert base == semantic_partition(
        ctx(turns("be brief", "I use Rust", "how can I read a file?")), options()
    )
    for other in (
        turns("be verbose", "I use Rust", "how do I read a file?"),
        turns(None, "I use Rust", "how do I read a file?"),
        turns("be brief", "I use Python", "how do I read a file?"),
        turns("be brief", "I use Rust", "how do I read a file?", max_tokens=5),
        turns("be brief", "I use Rust", "how do I read a file?", tools=[{"type": "function"}]),
    ):
        assert semantic_partition(ctx(other), options()) != base


def test_the_compared_text_is_the_last_user_turn_only():
    body = {
        "system": [{"type": "text", "text": "be brief"}],
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": [{"type": "text", "text": "second"}]},
            {"role": "user", "content": [{"type": "text", "text": "third"}]},
        ],
    }
    assert last_user_text(ctx(body)) == "third"


def test_a_last_user_turn_with_more_than_text_has_no_partition():
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "what?"}, image]}],
    }
    assert semantic_partition(ctx(body), options()) is None
    assert last_user_text(ctx(body)) == ""
    assert semantic_partition(ctx({"model": "m", "messages": []}), options()) is None
