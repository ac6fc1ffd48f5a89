from __future__ import annotations

import pytest

from relayscope.auth.keys import KeyResolver, Principal, hash_key, new_key
from relayscope.errors import ServiceUnavailable, Unauthorized


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
