"""A replayed record is applied once: after records already stored come back through
the spool (a write that timed out yet committed, then spooled and replayed on the
next start), no rollup, cost or count moves, and no read API lists a request twice.

Records are keyed by id, so "nothing duplicated" in the requests table cannot fail;
what can is everything computed from the inserts: the rollups behind the summary,
users, properties and sessions, and the explorer's paging. Each is read through the
API before and after the replay, in-process.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from relayscope.logs.spool import Spool
from relayscope.record import LogRecord
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.loop_gateway import LoopGateway, running_gateway
from relayscope.testing.waiting import async_wait_until

CHAT = "/openai/v1/chat/completions"
USERS = ["alice", "bob", "carol"]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def read(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def every_listed_id(client: httpx.AsyncClient) -> list[str]:
    """The explorer's ids, page by page (small pages: a duplicate would show)."""
    ids: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = await read(client, "/api/requests", **params)
        ids += [r["id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            return ids


async def snapshot(gw: LoopGateway, hours: tuple[datetime, datetime]) -> dict[str, Any]:
    auth = {"Authorization": gw.client.headers["helicone-auth"]}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gw.gateway), base_url="http://gateway", headers=auth
    ) as api:
        whole_hours = {"from": iso(hours[0]), "to": iso(hours[1])}  # answered from rollups
        return {
            "summary": (await read(api, "/api/analytics/summary"))["data"],
            "summary_hours": (await read(api, "/api/analytics/summary", **whole_hours))["data"],
            "by_user": (await read(api, "/api/analytics/summary", user_id="alice"))["data"],
            "users": (await read(api, "/api/users", limit=100))["data"],
            "feature": (await read(api, "/api/properties/feature"))["data"],
            "session": (await read(api, "/api/sessions/trip"))["data"],
            "listed": await every_listed_id(api),
        }


async def test_records_replayed_from_the_spool_change_no_total_and_list_once(
    tmp_path, fake: FakeProvider
):
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    hours = (hour - timedelta(hours=1), hour + timedelta(hours=2))
    async with running_gateway(tmp_path, fake.url) as gw:
        ids = []
        for i in range(9):
            headers = {
                "Helicone-User-Id": USERS[i % 3],
                "Helicone-Property-Feature": "chat" if i % 2 else "search",
                "Helicone-Session-Id": "trip",
                "Helicone-Session-Path": f"/step{i}",
            }
            question = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"q{i}"}]}
            response = await gw.client.post(CHAT, json=question, headers=headers)
            assert response.status_code == 200
            ids.append(response.headers["helicone-id"])
        stored: list[LogRecord] = [await gw.record(i) for i in ids]
        before = await snapshot(gw, hours)
    assert before["summary"]["requests"] == 9 and before["summary"]["cost_usd"] > 0
    assert sorted(before["listed"]) == sorted(ids)

    # The whole batch comes back from the spool on the next start, as after a write
    # that committed but timed out; the writer replays it before anything else.
    spool = Spool(tmp_path / "spool")
    spool.write(stored[:5])
    spool.write(stored)
    async with running_gateway(tmp_path, fake.url) as gw:
        writer = gw.gateway.writer

        async def replayed() -> bool:
            return not spool.pending() and writer.stats.replayed == 14

        await async_wait_until(replayed, timeout=30)
        after = await snapshot(gw, hours)
    assert after == before
