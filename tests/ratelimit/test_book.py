"""PolicyBook: one store read per refresh interval, served from memory in between."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from relayscope.ratelimit.book import PolicyBook
from relayscope.ratelimit.policy import parse_policy
from relayscope.ratelimit.repository import StandingPolicy
from relayscope.testing.waiting import async_wait_until

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def standing(policy_id: str, org_id: str, key_id: str | None = None) -> StandingPolicy:
    return StandingPolicy(policy_id, org_id, key_id, parse_policy("5;w=60"), NOW, NOW)


class Store:
    """What the book reads: a list of policies, and a count of reads."""

    def __init__(self, policies: list[StandingPolicy]) -> None:
        self.policies = policies
        self.reads = 0
        self.down = False

    async def load(self) -> list[StandingPolicy]:
        self.reads += 1
        await asyncio.sleep(0)
        if self.down:
            raise OSError("store unreachable")
        return list(self.policies)


async def test_concurrent_first_requests_share_one_read_and_policies_filter_by_key():
    store = Store([standing("p1", "org"), standing("p2", "org", "k1"), standing("p3", "other")])
    book = PolicyBook(store.load, ttl=60)
    results = await asyncio.gather(*(book.policies("org", "k1") for _ in range(20)))
    assert store.reads == 1
    assert all([p.id for p in r] == ["p1", "p2"] for r in results)
    assert [p.id for p in await book.policies("org", "k2")] == ["p1"]
    assert await book.policies("nobody", "k1") == ()
    assert store.reads == 1


async def test_stale_policies_are_refreshed_in_the_background_and_kept_if_the_store_fails():
    store = Store([standing("p1", "org")])
    book = PolicyBook(store.load, ttl=0)
    assert [p.id for p in await book.policies("org", "k")] == ["p1"]
    store.policies.append(standing("p2", "org"))

    async def sees_p2() -> bool:
        return [p.id for p in await book.policies("org", "k")] == ["p1", "p2"]

    await async_wait_until(sees_p2, timeout=5)
    store.down = True
    reads = store.reads
    await async_wait_until(lambda: _after(store, reads, book), timeout=5)
    assert [p.id for p in await book.policies("org", "k")] == ["p1", "p2"]


async def _after(store: Store, reads: int, book: PolicyBook) -> bool:
    await book.policies("org", "k")
    return store.reads > reads + 1


async def test_only_a_fresh_snapshot_lets_an_org_without_policies_skip_the_stage():
    store = Store([standing("p1", "org")])
    book = PolicyBook(store.load, ttl=60)
    assert book.may_have("nobody"), "nothing read yet: the stage must run and read"
    await book.policies("nobody", "k")
    assert not book.may_have("nobody")
    assert book.may_have("org")
    stale = PolicyBook(store.load, ttl=0)
    await stale.policies("nobody", "k")
    assert stale.may_have("nobody"), "a stale snapshot must let the stage refresh it"
