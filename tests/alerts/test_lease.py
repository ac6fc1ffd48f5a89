"""One evaluator across replicas: two evaluators on their own connections to one
store never both evaluate the same tick, and the second takes over when the first stops."""

from __future__ import annotations

import asyncio

from relayscope.alerts.rules import parse_rule
from relayscope.alerts.service import AlertsService
from relayscope.store.sql import SqlStore

from .conftest import make_settings, record


async def test_two_evaluators_never_share_a_tick(store, store_url, clock):
    replica = SqlStore(store_url)  # its own engine and connections, like another process
    settings = make_settings(interval=60.0, lease_ttl=150.0)
    first = AlertsService(settings, store.database, clock=clock)
    second = AlertsService(settings, replica.database, clock=clock)
    org_id = "org-lease"
    rule = await first.repository.create_rule(
        org_id,
        parse_rule({"name": "any", "metric": "request_count", "threshold": 0, "window": "1d"}),
    )
    try:
        await store.insert_requests([record(org_id, clock())])
        wins = []
        for _ in range(12):
            results = await asyncio.gather(first.evaluator.tick(), second.evaluator.tick())
            wins.append(results)
            clock.advance(seconds=60)
        assert all(sum(result) == 1 for result in wins), wins
        evaluated = first.evaluator.ticks_evaluated + second.evaluator.ticks_evaluated
        assert len(evaluated) == len(set(evaluated)) == 12
        events, _ = await first.repository.list_events(org_id, rule_id=None, limit=10, cursor=None)
        assert [e.kind for e in events] == ["firing"], "the rule fired exactly once"

        leader, follower = (first, second) if wins[-1][0] else (second, first)
        await leader.evaluator.stop()  # releases the lease
        assert await follower.evaluator.tick()
        clock.advance(seconds=60)
        assert not await leader.evaluator.tick(), "the new holder keeps the lease"
        assert (await first.repository.get_rule(org_id, rule.id)).state == "firing"
    finally:
        await first.stop()
        await second.stop()
        await replica.close()


async def test_a_dead_holders_lease_expires(store, store_url, clock):
    replica = SqlStore(store_url)
    settings = make_settings(interval=60.0, lease_ttl=150.0)
    first = AlertsService(settings, store.database, clock=clock)
    second = AlertsService(settings, replica.database, clock=clock)
    try:
        assert await first.evaluator.tick()
        clock.advance(seconds=60)
        assert not await second.evaluator.tick()
        clock.advance(seconds=60)
        assert not await second.evaluator.tick()  # 120 s since the claim: lease still held
        clock.advance(seconds=60)
        assert await second.evaluator.tick()  # 180 s > 150 s without renewal: taken over
        assert not await first.evaluator.tick(), "a tick already evaluated is not run again"
    finally:
        await first.stop()
        await second.stop()
        await replica.close()
