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


class StoreDown(Exception):
    pass


async def test_resolver_keeps_known_keys_while_the_store_is_down():
    key, revoked = new_key(), new_key()
    answers = {hash_key(key): Principal("org", "k"), hash_key(revoked): None}
    calls = []
    down = False

    async def lookup(key_hash: str):
        calls.append(key_hash)
        if down:
            raise StoreDown
        return answers[key_hash]

    resolver = KeyResolver(lookup, ttl=0, unavailable=(StoreDown,))
    assert (await resolver.resolve(f"Bearer {key}", "H")).org_id == "org"
    with pytest.raises(Unauthorized):
        await resolver.resolve(f"Bearer {revoked}", "H")
    down = True
    assert (await resolver.resolve(f"Bearer {key}", "H")).org_id == "org"
    with pytest.raises(Unauthorized):
        await resolver.resolve(f"Bearer {revoked}", "H")
    with pytest.raises(ServiceUnavailable, match="store is unavailable") as refused:
        await resolver.resolve(f"Bearer {new_key()}", "Helicone-Auth")
    assert refused.value.code == "store_unavailable"
    assert len(calls) == 5, "every expired entry is asked again"


async def test_resolver_lets_other_lookup_errors_through():
    async def lookup(key_hash: str):
        raise RuntimeError("bug")

    resolver = KeyResolver(lookup, unavailable=(StoreDown,))
    with pytest.raises(RuntimeError):
        await resolver.resolve(f"Bearer {new_key()}", "H")
