from __future__ import annotations

import pytest

from relayscope.auth.keys import KeyResolver, Principal, hash_key, new_key
from relayscope.errors import Unauthorized


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
