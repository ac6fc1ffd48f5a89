from __future__ import annotations

import asyncio
import logging

import pytest

from relayscope.auth.keys import KeyResolver, Principal, hash_key, new_key
from relayscope.errors import ServiceUnavailable, Unauthorized
from relayscope.throttled_log import ThrottledWarning


async def test_resolver_caches_lookups_for_the_ttl():
    key = new_key()
    calls = []

    async def lookup(key_hash: str):
        calls.append(key_hash)
        return Principal("org", "k") if key_hash == hash_key(key) else None

    resolver = KeyResolver(lookup, ttl=60)
    for _ in range(3):
        assert (await resolver.resolve(f"Bearer {key}", "H")).org_id == "org"
    assert calls == [hash_key(key)]
    with pytest.raises(Unauthorized, match="Unknown or revoked"):
        await resolver.resolve(f"Bearer {new_key()}", "H")


def test_keys_are_unique_and_hash_is_not_the_key():
    a, b = new_key(), new_key()
    assert a != b and a.startswith("sk-relayscope-")
    assert hash_key(a) != a and len(hash_key(a)) == 64


async def test_a_known_key_keeps_working_while_the_store_is_down():
    key, unknown = new_key(), new_key()
    down = False

    async def lookup(key_hash: str):
        if down:
            raise OSError("connection refused")
        return Principal("org", "k") if key_hash == hash_key(key) else None

    resolver = KeyResolver(lookup, ttl=0)
    assert (await resolver.resolve(f"Bearer {key}", "H")).org_id == "org"
    with pytest.raises(Unauthorized):
        await resolver.resolve(f"Bearer {unknown}", "H")
    down = True
    assert (await resolver.resolve(f"Bearer {key}", "H")).org_id == "org"
    with pytest.raises(Unauthorized):
        await resolver.resolve(f"Bearer {unknown}", "H")
    with pytest.raises(ServiceUnavailable):
        await resolver.resolve(f"Bearer {new_key()}", "H")


async def test_while_the_store_is_down_a_known_key_is_looked_up_once_per_ttl(caplog):
    key = new_key()
    calls, down = 0, False

    async def lookup(key_hash: str):
        nonlocal calls
        calls += 1
        if down:
            raise OSError("connection refused")
        return Principal("org", "k")

    resolver = KeyResolver(lookup, ttl=60)
    await resolver.resolve(f"Bearer {key}", "H")
    resolver._cache[key] = (0.0, resolver._cache[key][1])  # expired
    down = True
    with caplog.at_level(logging.WARNING, logger="relayscope.auth"):
        for _ in range(1000):
            assert (await resolver.resolve(f"Bearer {key}", "H")).org_id == "org"
    assert calls == 2, "the failed look-up is not retried on every request"
    assert len([r for r in caplog.records if "key lookup failed" in r.message]) == 1


def test_a_repeated_warning_is_logged_once_per_interval_with_a_count(caplog):
    now = 0.0
    throttled = ThrottledWarning(logging.getLogger("t"), interval=10, clock=lambda: now)
    with caplog.at_level(logging.WARNING, logger="t"):
        for step in range(2500):
            now = step * 0.01  # 25 s of warnings, 100 a second
            throttled.warning("store down (%s)", "refused")
    assert [r.getMessage() for r in caplog.records] == [
        "store down (refused)",
        "store down (refused) (and 999 more like it in the last 10 s)",
        "store down (refused) (and 999 more like it in the last 10 s)",
    ]


async def test_forget_drops_a_keys_answer_and_an_answer_that_raced_it():
    key, other = new_key(), new_key()
    principals = {hash_key(key): Principal("org", "k1"), hash_key(other): Principal("org", "k2")}
    revoked: set[str] = set()
    slow = asyncio.Event()

    async def lookup(key_hash: str):
        principal = principals[key_hash]
        if principal.key_id == "k2" and not slow.is_set():
            await slow.wait()  # a lookup that read the key before it was revoked
            return principal
        return None if principal.key_id in revoked else principal

    resolver = KeyResolver(lookup, ttl=60)
    await resolver.resolve(f"Bearer {key}", "H")
    assert resolver.cached_roles() == {"k1": "proxy"}
    racing = asyncio.create_task(resolver.resolve(f"Bearer {other}", "H"))
    await asyncio.sleep(0)
    revoked.add("k1")
    resolver.forget({"k1"})
    slow.set()
    assert (await racing).key_id == "k2", "answered, but not cached: it may predate a change"
    assert resolver.cached_roles() == {}
    with pytest.raises(Unauthorized, match="revoked"):
        await resolver.resolve(f"Bearer {key}", "H")


async def test_requests_arriving_together_share_one_lookup_of_their_key():
    key = new_key()
    calls = 0
    answer = asyncio.Event()

    async def lookup(key_hash: str):
        nonlocal calls
        calls += 1
        await answer.wait()  # the store is slow: every request arrives meanwhile
        return Principal("org", "k")

    resolver = KeyResolver(lookup, ttl=60)
    waiting = [asyncio.create_task(resolver.resolve(f"Bearer {key}", "H")) for _ in range(500)]
    await asyncio.sleep(0)
    waiting[0].cancel()  # one client gone: the others still get their answer
    answer.set()
    results = await asyncio.gather(*waiting[1:])
    assert {p.key_id for p in results} == {"k"}
    assert calls == 1
    assert waiting[0].cancelled()


async def test_requests_for_a_new_key_while_the_store_is_down_all_get_503_from_one_lookup():
    calls = 0

    async def lookup(key_hash: str):
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise OSError("connection refused")

    resolver = KeyResolver(lookup, ttl=60)
    key = new_key()
    outcomes = await asyncio.gather(
        *(resolver.resolve(f"Bearer {key}", "Helicone-Auth") for _ in range(50)),
        return_exceptions=True,
    )
    assert all(isinstance(o, ServiceUnavailable) for o in outcomes)
    assert "Helicone-Auth" in str(outcomes[0])
    assert calls == 1
